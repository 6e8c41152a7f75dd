package gitrepo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestResolveNotFound: a revision that names no commit says which
// revision and why, on real repositories made with go-git.
func TestResolveNotFound(t *testing.T) {
	// One commit.
	one := newRepo(t)
	one.commit("first", map[string]string{"a": "1\n"})
	// main: first, second, merge (of feature); feature: first, third.
	merged := newRepo(t)
	first := merged.commit("first", map[string]string{"a": "1\n"})
	merged.checkout("feature", true)
	third := merged.commit("third", map[string]string{"b": "3\n"})
	merged.checkout("main", false)
	second := merged.commit("second", map[string]string{"a": "2\n"})
	sig := &object.Signature{Name: "t", Email: "t@example.invalid", When: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	merge, err := merged.wt.Commit("merge", &git.CommitOptions{Author: sig, Committer: sig, Parents: []plumbing.Hash{second, third}, AllowEmptyCommits: true})
	if err != nil {
		t.Fatal(err)
	}
	// No commit at all.
	empty := newRepo(t)

	for _, tc := range []struct {
		repo *testRepo
		rev  string
		want string // the error; "" for a revision that resolves
		hash plumbing.Hash
	}{
		{one, "HEAD~5", `revision "HEAD~5" not found: the repository has 1 commit`, plumbing.ZeroHash},
		{one, "HEAD^", `revision "HEAD^" not found: the repository has 1 commit`, plumbing.ZeroHash},
		{one, "main~1", `revision "main~1" not found: the repository has 1 commit`, plumbing.ZeroHash},
		{one, "HEAD^2", `revision "HEAD^2" not found: HEAD has no parents`, plumbing.ZeroHash},
		{one, "nope", `revision "nope" not found (no such branch, tag or commit)`, plumbing.ZeroHash},
		{one, "nope~2", `revision "nope~2" not found: "nope" is no branch, tag or commit`, plumbing.ZeroHash},
		{one, "0123456789abcdef0123456789abcdef01234567", `revision "0123456789abcdef0123456789abcdef01234567" not found (no such branch, tag or commit)`, plumbing.ZeroHash},
		{empty, "HEAD", `revision "HEAD" not found: the repository has no commits`, plumbing.ZeroHash},
		{empty, "main~1", `revision "main~1" not found: the repository has no commits`, plumbing.ZeroHash},
		{merged, "HEAD~3", `revision "HEAD~3" not found: HEAD has 3 commits of first-parent history`, plumbing.ZeroHash},
		{merged, "feature~2", `revision "feature~2" not found: feature has 2 commits of first-parent history`, plumbing.ZeroHash},
		{merged, "HEAD~1^2", `revision "HEAD~1^2" not found: HEAD~1 has 1 parent`, plumbing.ZeroHash},
		{merged, "HEAD^2~2", `revision "HEAD^2~2" not found: HEAD^2 has 2 commits of first-parent history`, plumbing.ZeroHash},
		{merged, "HEAD~2", "", first},
		{merged, "HEAD^2", "", third},
		{merged, "HEAD^2~1", "", first},
		{merged, "main", "", merge},
	} {
		r, err := Open(tc.repo.dir)
		if err != nil {
			t.Fatal(err)
		}
		h, err := r.Resolve(tc.rev)
		if tc.want == "" {
			if err != nil || h != tc.hash {
				t.Errorf("Resolve(%q) = %s, %v; want %s", tc.rev, h, err, tc.hash)
			}
			continue
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("Resolve(%q) = %s, %v\nwant error %s", tc.rev, h, err, tc.want)
			continue
		}
		if !errors.Is(err, ErrRevisionNotFound) {
			t.Errorf("Resolve(%q): %v is not ErrRevisionNotFound", tc.rev, err)
		}
	}
}

// TestResolveInvalid: a revision that is not valid syntax is an error
// naming it, and not ErrRevisionNotFound.
func TestResolveInvalid(t *testing.T) {
	tr := newRepo(t)
	tr.commit("first", map[string]string{"a": "1\n"})
	r, err := Open(tr.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range []string{"main..HEAD", "HEAD^3"} { // go-git follows ^0, ^1 and ^2
		_, err = r.Resolve(rev)
		if err == nil || !strings.HasPrefix(err.Error(), `revision "`+rev+`" is not valid: `) || errors.Is(err, ErrRevisionNotFound) {
			t.Errorf("Resolve(%s): %v", rev, err)
		}
	}
}
