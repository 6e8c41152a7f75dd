package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiskTree: a vendored tree is checked as memTree checks one (no
// symlinks), builds the same, and a file that changes after the walk
// fails the build instead of being read.
func TestDiskTree(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base/kustomization.yaml", "resources: [cm.yaml]\nnamespace: x\n")
	write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")

	tree, err := diskTree(dir, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	objs, _, err := buildKustomize(tree, "test-tree", "c", []string{"base"})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetNamespace() != "x" || objs[0].GetName() != "a" {
		t.Fatalf("objects %v", objs)
	}

	write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n")
	if _, _, err := buildKustomize(tree, "test-tree", "d", []string{"base"}); err == nil || !strings.Contains(err.Error(), "changed during the render") {
		t.Errorf("a file changed after the walk: error %v", err)
	}

	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "base", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := diskTree(dir, "test-tree"); err == nil || !strings.Contains(err.Error(), "passwd is a symlink") {
		t.Errorf("a symlink in the tree: error %v", err)
	}
}
