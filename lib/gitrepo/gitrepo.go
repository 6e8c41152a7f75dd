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

// Limits on a tree exported for one diff (and checked by WalkTree):
// variables, for a program (or a test) to tune before it starts work.
var (
	// MaxExportFiles bounds the files, and separately the directories, of
	// a tree.
	MaxExportFiles int64 = 100_000
	// MaxExportBytes bounds the total size of a tree's files.
	MaxExportBytes int64 = 1 << 30
)

// Limits bound the tree Limits.WalkTree accepts.
type Limits struct {
	Files int64 // files, and separately directories
	Bytes int64 // the files' total size
}

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
// tree, parents before their contents, refusing what plinth never reads
// from a repository: a symlink, a submodule, a path leaving the tree or
// entering .git (in any spelling a case-insensitive, NTFS or HFS+ file
// system takes for .git), a name that is empty, "." or holds a separator
// or a control character, a name or path too long to write, a name twice
// in one directory, directories nested deeper than maxDepth, more than
// MaxExportFiles files (or directories) or more than MaxExportBytes bytes.
// Export writes the tree with it; Fetch checks a fetched tree with it
// before checking it out.
//
// A refusal is a *RefusedError; any other error (an object missing or
// corrupt, ctx done, visit failing) is not.
func WalkTree(ctx context.Context, c *object.Commit, visit func(name string, f *object.File) error) error {
	return Limits{Files: MaxExportFiles, Bytes: MaxExportBytes}.WalkTree(ctx, c, visit)
}

// WalkTree is the package's WalkTree with the limits l instead of
// MaxExportFiles and MaxExportBytes.
func (l Limits) WalkTree(ctx context.Context, c *object.Commit, visit func(name string, f *object.File) error) error {
	short := Short(c.Hash)
	refuse := func(path, format string, args ...any) error {
		return &RefusedError{Commit: c.Hash, Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("commit %s: %w", short, err)
	}
	type dir struct {
		tree *object.Tree
		name string
		next int
	}
	stack := []*dir{{tree: tree}}
	var files, dirs, size int64
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := stack[len(stack)-1]
		if d.next == 0 {
			if dup := duplicate(d.tree); dup != "" {
				where := "the top directory"
				if d.name != "" {
					where = fmt.Sprintf("directory %q", d.name)
				}
				return refuse(d.name, "%s holds %q twice", where, dup)
			}
		}
		if d.next == len(d.tree.Entries) {
			stack = stack[:len(stack)-1]
			continue
		}
		entry := &d.tree.Entries[d.next]
		d.next++
		name := entry.Name
		if d.name != "" {
			name = d.name + "/" + entry.Name
		}
		switch {
		case entry.Name == "..", !filepath.IsLocal(filepath.FromSlash(name)):
			return refuse(name, "path %q leaves the tree", name)
		case isDotGit(entry.Name):
			return refuse(name, "path %q enters .git", name)
		case !plainName(entry.Name):
			return refuse(name, "path %q is not a plain file name", name)
		case len(entry.Name) > maxName, len(name) > maxPath:
			return refuse(name, "path %q is longer than file systems take (%d bytes a name, %d a path)", clip(name), maxName, maxPath)
		}
		var f *object.File
		switch entry.Mode {
		case filemode.Dir:
			if dirs++; dirs > l.Files {
				return refuse("", "more than %d directories", l.Files)
			}
			if len(stack) > maxDepth {
				return refuse(name, "%s is nested more than %d directories deep", name, maxDepth)
			}
			sub, err := d.tree.Tree(entry.Name)
			if err == nil && sub.Hash != entry.Hash {
				err = fmt.Errorf("tree %s, not %s", sub.Hash, entry.Hash)
			}
			if err != nil {
				return fmt.Errorf("commit %s: %s: %w", short, name, err)
			}
			stack = append(stack, &dir{tree: sub, name: name})
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if files++; files > l.Files {
				return refuse("", "more than %d files", l.Files)
			}
			if f, err = d.tree.TreeEntryFile(entry); err != nil {
				return fmt.Errorf("commit %s: %s: %w", short, name, err)
			}
			if size += f.Size; size > l.Bytes {
				return refuse("", "tree exceeds %s", Size(l.Bytes))
			}
		case filemode.Symlink:
			return refuse(name, "%s is a symlink; plinth reads no symlinks from a repository", name)
		case filemode.Submodule:
			return refuse(name, "%s is a submodule; plinth reads no submodules", name)
		default:
			return refuse(name, "%s is a %s, not a file", name, entry.Mode)
		}
		if err := visit(name, f); err != nil {
			return fmt.Errorf("commit %s: %s: %w", short, name, err)
		}
	}
	return nil
}

// Bounds on the shape of a tree WalkTree accepts: how deep directories
// nest, how long a name (as Linux file systems) and a path (well within
// PATH_MAX once under a checkout directory) may be.
const (
	maxDepth = 256
	maxName  = 255
	maxPath  = 2048
)

// Size prints a limit in bytes for people: in MiB when it is a whole
// number of them.
func Size(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// clip shortens a long path for a message.
func clip(p string) string {
	if len(p) <= 64 {
		return p
	}
	return p[:32] + "..." + p[len(p)-29:]
}

// duplicate returns a name that two of t's entries have, or "".
func duplicate(t *object.Tree) string {
	seen := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		if seen[e.Name] {
			return e.Name
		}
		seen[e.Name] = true
	}
	return ""
}

// plainName reports whether a tree entry's name names one file on every
// system plinth runs on: not empty or ".", no separator, no control
// character.
func plainName(name string) bool {
	if name == "" || name == "." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b < 0x20 || b == 0x7f || b == '/' || b == '\\' {
			return false
		}
	}
	return true
}

// isDotGit reports whether a file system could take name for .git: in
// any case, with trailing dots or spaces, a ":stream" suffix or as the
// short name GIT~1 (NTFS), or with code points HFS+ ignores (as git's
// verify_path).
func isDotGit(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch {
		case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
			return -1
		}
		return r
	}, name)
	n, _, _ = strings.Cut(n, ":")
	n = strings.TrimRight(n, ". ")
	return strings.EqualFold(n, ".git") || strings.EqualFold(n, "git~1")
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

// RefusedError is a commit whose tree plinth will not read: WalkTree
// returns it (and Export and Fetch return it wrapped) for a
// symlink, a submodule, a path leaving the tree or entering .git, a name
// no file system should see, or a tree over the limits. The commit itself
// is bad, not the connection to it: reading it again gives the same answer,
// so it is worth no retry. Detect it with errors.As:
//
//	var refused *gitrepo.RefusedError
//	if errors.As(err, &refused) { ... }
type RefusedError struct {
	// Commit is the commit refused.
	Commit plumbing.Hash
	// Path is the tree entry refused, slash-separated; "" when the tree as
	// a whole is over a limit.
	Path string
	// Reason says what is wrong, for people; Error prefixes the commit.
	Reason string
}

func (e *RefusedError) Error() string { return "commit " + Short(e.Commit) + ": " + e.Reason }

// Short names a commit for people: its first 7 hex digits.
func Short(h plumbing.Hash) string { return h.String()[:7] }
