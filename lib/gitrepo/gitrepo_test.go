package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// testRepo is a real repository made with go-git: main with two commits,
// a branch "feature" from the first with one more.
type testRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
	wt   *git.Worktree
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, dir: dir, repo: r, wt: wt}
}

func (r *testRepo) commit(msg string, files map[string]string) plumbing.Hash {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	if err := r.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.invalid", When: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	h, err := r.wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *testRepo) checkout(branch string, create bool) {
	r.t.Helper()
	if err := r.wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: create}); err != nil {
		r.t.Fatal(err)
	}
}

func TestDefaultBaseIsTheMergeBase(t *testing.T) {
	tr := newRepo(t)
	first := tr.commit("first", map[string]string{"environments/prod/env.cue": "package plinth\n"})
	tr.checkout("feature", true)
	tr.commit("feature", map[string]string{"environments/prod/env.cue": "package plinth\n// feature\n"})
	tr.checkout("main", false)
	tr.commit("main moves on", map[string]string{"README.md": "x\n"})
	tr.checkout("feature", false)

	r, err := Open(filepath.Join(tr.dir, "environments"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir != tr.dir {
		t.Errorf("Dir = %s, want %s", r.Dir, tr.dir)
	}
	if got := r.DefaultBranch(); got != "main" {
		t.Errorf("DefaultBranch = %q", got)
	}
	base, how, err := r.DefaultBase()
	if err != nil || base != first || how != "merge base with main" {
		t.Errorf("DefaultBase = %s %q %v, want %s", base, how, err, first)
	}
}

func TestExport(t *testing.T) {
	tr := newRepo(t)
	h := tr.commit("c", map[string]string{"environments/prod/env.cue": "package plinth\n", "plinth.lock": "{}\n"})
	tr.commit("later", map[string]string{"environments/prod/env.cue": "package plinth\n// later\n"})
	r, err := Open(tr.dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "base")
	if err := r.Export(context.Background(), h, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "environments", "prod", "env.cue"))
	if err != nil || string(got) != "package plinth\n" {
		t.Errorf("exported file: %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dst, ".git")); !os.IsNotExist(err) {
		t.Error("exported .git")
	}
	if h2, err := r.Resolve(Short(h)); err != nil || h2 != h {
		t.Errorf("Resolve(short) = %s %v", h2, err)
	}
	if _, err := r.Resolve("no-such-branch"); err == nil || !strings.Contains(err.Error(), `revision "no-such-branch"`) {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestExportRefusesSymlinks(t *testing.T) {
	tr := newRepo(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(tr.dir, "passwd")); err != nil {
		t.Fatal(err)
	}
	h := tr.commit("link", nil)
	r, err := Open(tr.dir)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Export(context.Background(), h, filepath.Join(t.TempDir(), "x"))
	if err == nil || !strings.Contains(err.Error(), "passwd is a symlink") {
		t.Fatalf("got %v", err)
	}
}
