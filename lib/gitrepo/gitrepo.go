package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Limits on a tree exported for one diff.
const (
	MaxExportFiles = 100_000
	MaxExportBytes = 1 << 30
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
// origin/main, a commit hash or HEAD) into a commit hash.
func (r *Repo) Resolve(rev string) (plumbing.Hash, error) {
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
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
// regular and executable files only. A symlink, a submodule or a path
// leaving dst is an error, as is a tree beyond MaxExportFiles or
// MaxExportBytes.
func (r *Repo) Export(ctx context.Context, h plumbing.Hash, dst string) error {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	var files, size int64
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("commit %s: %w", h.String()[:7], err)
		}
		clean := filepath.Clean(filepath.FromSlash(name))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return fmt.Errorf("commit %s: path %q leaves the tree", h.String()[:7], name)
		}
		target := filepath.Join(dst, clean)
		switch entry.Mode {
		case filemode.Dir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
		case filemode.Symlink:
			return fmt.Errorf("commit %s: %s is a symlink; plinth reads no symlinks from a repository", h.String()[:7], name)
		default:
			return fmt.Errorf("commit %s: %s is a %s, not a file", h.String()[:7], name, entry.Mode)
		}
		if files++; files > MaxExportFiles {
			return fmt.Errorf("commit %s: more than %d files", h.String()[:7], MaxExportFiles)
		}
		blob, err := r.repo.BlobObject(entry.Hash)
		if err != nil {
			return fmt.Errorf("commit %s: %s: %w", h.String()[:7], name, err)
		}
		if size += blob.Size; size > MaxExportBytes {
			return fmt.Errorf("commit %s: tree exceeds %d MiB", h.String()[:7], MaxExportBytes>>20)
		}
		if err := writeBlob(blob, target, entry.Mode == filemode.Executable); err != nil {
			return fmt.Errorf("commit %s: %s: %w", h.String()[:7], name, err)
		}
	}
}

func writeBlob(b *object.Blob, target string, exec bool) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rd, err := b.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	mode := os.FileMode(0o644)
	if exec {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rd); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Short names a commit for people: its first 7 hex digits.
func Short(h plumbing.Hash) string { return h.String()[:7] }
