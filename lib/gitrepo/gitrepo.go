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
// regular and executable files only, as WalkTree allows them.
func (r *Repo) Export(ctx context.Context, h plumbing.Hash, dst string) error {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	return WalkTree(ctx, c, func(name string, f *object.File) error {
		target := filepath.Join(dst, filepath.FromSlash(name))
		if f == nil {
			return os.MkdirAll(target, 0o755)
		}
		return writeBlob(&f.Blob, target, f.Mode == filemode.Executable)
	})
}

// WalkTree calls visit for every directory (f nil) and file of commit c's
// tree, refusing what plinth never reads from a repository: a symlink, a
// submodule, a path leaving the tree or entering .git, more than
// MaxExportFiles files or MaxExportBytes bytes. Export writes the tree
// with it; gitfetch checks a fetched tree with it before checking it out.
func WalkTree(ctx context.Context, c *object.Commit, visit func(name string, f *object.File) error) error {
	short := Short(c.Hash)
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("commit %s: %w", short, err)
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	var files, size int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("commit %s: %w", short, err)
		}
		clean := filepath.Clean(filepath.FromSlash(name))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			return fmt.Errorf("commit %s: path %q leaves the tree", short, name)
		}
		for part := range strings.SplitSeq(name, "/") {
			if strings.EqualFold(part, ".git") {
				return fmt.Errorf("commit %s: path %q enters .git", short, name)
			}
		}
		var f *object.File
		switch entry.Mode {
		case filemode.Dir:
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if files++; files > MaxExportFiles {
				return fmt.Errorf("commit %s: more than %d files", short, MaxExportFiles)
			}
			if f, err = tree.TreeEntryFile(&entry); err != nil {
				return fmt.Errorf("commit %s: %s: %w", short, name, err)
			}
			if size += f.Size; size > MaxExportBytes {
				return fmt.Errorf("commit %s: tree exceeds %d MiB", short, MaxExportBytes>>20)
			}
		case filemode.Symlink:
			return fmt.Errorf("commit %s: %s is a symlink; plinth reads no symlinks from a repository", short, name)
		case filemode.Submodule:
			return fmt.Errorf("commit %s: %s is a submodule; plinth reads no submodules", short, name)
		default:
			return fmt.Errorf("commit %s: %s is a %s, not a file", short, name, entry.Mode)
		}
		if err := visit(name, f); err != nil {
			return fmt.Errorf("commit %s: %s: %w", short, name, err)
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
