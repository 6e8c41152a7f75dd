package gitfetch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/gitrepo"
)

// A commit whose tree plinth refuses fails Fetch with a
// *gitrepo.RefusedError in the chain, over HTTP and file://, with the
// message it always had; a failure that is not the tree's is not one.
func TestFetchRefusedIsTyped(t *testing.T) {
	srv := newServer(t)
	src := newSource(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(src.dir, "leak")); err != nil {
		t.Fatal(err)
	}
	commit := src.commit(map[string]string{"env.cue": "package plinth\n"})
	url := srv.httpURL("env.git")
	src.push(url)
	auth := Auth{Username: user, Password: password}

	for _, u := range []string{url, "file://" + filepath.ToSlash(src.dir)} {
		dir := filepath.Join(t.TempDir(), "checkout")
		_, err := Fetch(ctx(t), u, Ref{}, auth, "", dir)
		var refused *gitrepo.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("%s: err = %v, want a *gitrepo.RefusedError", u, err)
		}
		if refused.Commit.String() != commit || refused.Path != "leak" {
			t.Errorf("%s: refused %s %q, want %s %q", u, refused.Commit, refused.Path, commit, "leak")
		}
		want := ": branch main: commit " + commit[:7] + ": leak is a symlink; plinth reads no symlinks from a repository"
		if !strings.HasSuffix(err.Error(), want) || !strings.HasPrefix(err.Error(), u) {
			t.Errorf("%s: err = %v", u, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused Fetch left %s behind", u, dir)
		}
	}

	_, err := Fetch(ctx(t), url, Ref{}, Auth{Username: user, Password: "wrong-" + password}, "", t.TempDir())
	var refused *gitrepo.RefusedError
	if err == nil || errors.As(err, &refused) {
		t.Errorf("wrong credentials: err = %v, want an error that is no refusal", err)
	}
}
