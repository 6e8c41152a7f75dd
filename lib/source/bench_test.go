package source

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-platform/plinth/lib/needs"
)

// BenchmarkDigestTree digests the Kubeflow manifests fixture (1,030 files,
// 24 MB), what Resolve does for a vendored git source on every render.
func BenchmarkDigestTree(b *testing.B) {
	dir := filepath.Join(needs.FixturesDir(filepath.Join("..", "..")), "kubeflow-manifests")
	if _, err := os.Stat(dir); err != nil {
		b.Skip("fixture missing:", err)
	}
	for b.Loop() {
		if _, err := digestTree(dir); err != nil {
			b.Fatal(err)
		}
	}
}
