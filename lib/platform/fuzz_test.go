package platform

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzEvaluate loads and evaluates an environment file of any content
// beside the repository's common.cue. Whatever the file holds, Evaluate
// returns findings or an error, never panics, and every finding names
// the environment and, when it has a position, a file inside the
// repository (never an absolute path, never a file outside it).
//
// The seed corpus is testdata/fuzz/FuzzEvaluate: the example and case
// study environments and hostile ones (a cycle, a tool task, an embed, a
// module import, a list comprehension, disjunctions).
//
// Time and memory are not bounded here: in vet and the controller each
// environment is evaluated in a sandboxed child with a budget (see
// lib/sandbox and TestRunStopsAtBudget).
func FuzzEvaluate(f *testing.F) {
	common, err := os.ReadFile("../../environments/common.cue")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4<<10 {
			return // large inputs only slow the fuzzer down; sizes are the sandbox's concern
		}
		root := t.TempDir()
		dir := filepath.Join(root, EnvironmentsDir, "fuzz")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, EnvironmentsDir, "common.cue"), common, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "env.cue"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		env, err := Resolve(root, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		p, err := Evaluate(context.Background(), env)
		if err != nil {
			if !strings.Contains(err.Error(), "environment fuzz") {
				t.Fatalf("error does not name the environment: %v", err)
			}
			if strings.Contains(err.Error(), "reading its settings") {
				t.Fatalf("a valid environment's settings do not decode: %v", err)
			}
			return
		}
		for _, fd := range p.Findings {
			if fd.Environment != "fuzz" || fd.Message == "" || fd.Rule == "" {
				t.Fatalf("finding without environment, rule or message: %+v", fd)
			}
			if file := fd.Position.File; file != "" && !filepath.IsLocal(file) {
				t.Fatalf("finding names a file outside the repository: %+v", fd)
			}
		}
		if p.Valid() {
			// What vet accepts is concrete enough to render.
			if _, err := p.KubernetesVersion(); err != nil {
				t.Fatalf("a valid environment has no Kubernetes version: %v", err)
			}
		}
	})
}
