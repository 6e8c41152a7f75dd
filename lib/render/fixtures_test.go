package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

// sharedFixtures is ../shared/fixtures beside the repository: real
// upstream charts and kubeflow/manifests 26.03 (see its README).
var sharedFixtures = filepath.Join("..", "..", "..", "shared", "fixtures")

// vendored is the fixture sources of prod and okd, vendored once per test
// binary: the charts directory as the chart mirror and a git repository
// made with go-git from the kubeflow-manifests tree, tagged 26.03, as the
// git mirror; exactly what `plinth vendor` does with those flags.
var vendored struct {
	once sync.Once
	dir  string
	lock *source.Lock
	err  error
}

func vendorFixtures(t testing.TB) (string, *source.Lock) {
	t.Helper()
	if _, err := os.Stat(sharedFixtures); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fixtures missing: %v", err)
		}
		t.Skipf("fixtures missing: %v", err)
	}
	vendored.once.Do(func() {
		vendored.err = func() error {
			tmp, err := os.MkdirTemp("", "plinth-render-")
			if err != nil {
				return err
			}
			vendored.dir = tmp
			mirror := filepath.Join(tmp, "git", "github.com", "kubeflow", "manifests")
			if err := gitMirror(mirror, filepath.Join(sharedFixtures, "kubeflow-manifests"), "26.03"); err != nil {
				return err
			}
			lock := &source.Lock{Version: 1}
			for _, name := range []string{"prod", "okd"} {
				p := evaluateExample(name)
				comps, err := Catalog(p)
				if err != nil {
					return err
				}
				lock, err = source.Vendor(context.Background(), Sources(comps), lock, source.VendorOptions{
					Dir:          filepath.Join(tmp, "vendor"),
					ChartsMirror: filepath.Join(sharedFixtures, "charts"),
					GitMirror:    filepath.Join(tmp, "git"),
				})
				if err != nil {
					return err
				}
			}
			vendored.lock = lock
			return nil
		}()
	})
	if vendored.err != nil {
		t.Fatal(vendored.err)
	}
	return filepath.Join(vendored.dir, "vendor"), vendored.lock
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vendored.dir != "" {
		os.RemoveAll(vendored.dir)
	}
	os.Exit(code)
}

// gitMirror commits the tree src into a new repository at dir and tags it.
func gitMirror(dir, src, tag string) error {
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		return err
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return err
	}
	when := time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC)
	sig := &object.Signature{Name: "plinth", Email: "plinth@example.invalid", When: when}
	commit, err := wt.Commit("kubeflow/manifests "+tag+" (fixture)", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return err
	}
	_, err = repo.CreateTag(tag, commit, nil)
	return err
}

// evaluateExample evaluates one of the repository's example environments.
func evaluateExample(name string) *platform.Platform {
	env, err := platform.Resolve(filepath.Join("..", ".."), name)
	if err != nil {
		panic(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		panic(err)
	}
	if !p.Valid() {
		panic(fmt.Sprint(p.Findings))
	}
	return p
}
