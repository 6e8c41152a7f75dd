package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Repo is a git repository on disk.
type Repo struct {
	repo *git.Repository
	// Dir is the repository's top-level directory (its working tree).
	Dir string
}

// Open opens the repository that contains dir.
func Open(dir string) (*Repo, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s is not in a git repository", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: opening the git repository: %w", dir, err)
	}
	wt, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Repo{repo: r, Dir: wt.Filesystem.Root()}, nil
}

// Resolve turns a revision (a branch, tag, remote branch such as
// origin/main, a commit hash or HEAD, with ancestry suffixes such as
// HEAD~2 or main^2) into a commit hash. A revision that names no commit is
// an error wrapping ErrRevisionNotFound that says why, e.g.
//
//	revision "nope" not found (no such branch, tag or commit)
//	revision "HEAD~5" not found: the repository has 1 commit
//	revision "HEAD^2" not found: HEAD has 1 parent
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, r.notFound(rev, err)
	}
	return *h, nil
}

// DefaultBranch names the branch pull requests go to: origin's HEAD when
// the clone knows it, else origin/main, origin/master, main or master,
// whichever exists first; "" when none does.
func (r *Repo) DefaultBranch() string {
	if ref, err := r.repo.Reference(plumbing.NewRemoteHEADReferenceName("origin"), false); err == nil && ref.Type() == plumbing.SymbolicReference {
		return strings.TrimPrefix(ref.Target().String(), "refs/remotes/")
	}
	for _, name := range []string{"origin/main", "origin/master", "main", "master"} {
		if _, err := r.repo.ResolveRevision(plumbing.Revision(name)); err == nil {
			return name
		}
	}
	return ""
}

// DefaultBase is what a change is compared with when no base is given:
// the merge base of HEAD and the default branch, or HEAD itself when
// there is no default branch or HEAD is on it.
func (r *Repo) DefaultBase() (plumbing.Hash, string, error) {
	head, err := r.Resolve("HEAD")
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	branch := r.DefaultBranch()
	if branch == "" {
		return head, "HEAD", nil
	}
	tip, err := r.Resolve(branch)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	base, err := r.MergeBase(head, tip)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	return base, "merge base with " + branch, nil
}

// MergeBase returns the best common ancestor of two commits.
func (r *Repo) MergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	ca, err := r.repo.CommitObject(a)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", a, err)
	}
	cb, err := r.repo.CommitObject(b)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", b, err)
	}
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("merge base of %s and %s: %w", a.String()[:7], b.String()[:7], err)
	}
	if len(bases) == 0 {
		return plumbing.ZeroHash, fmt.Errorf("%s and %s have no common history", a.String()[:7], b.String()[:7])
	}
	return bases[0].Hash, nil
}

// Export writes the tree of commit h into dst, which must not exist:
// regular and executable files only, as WalkTree allows them.
func (r *Repo) Export(ctx context.Context, h plumbing.Hash, dst string) error {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	return Options{}.Export(ctx, c, dst)
}
