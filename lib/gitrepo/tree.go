package gitrepo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// WalkTree calls visit for every directory (f nil) and file of commit c's
// tree, parents before their contents, refusing what plinth never reads
// from a repository: a symlink, a submodule, a path leaving the tree or
// entering .git (in any spelling a case-insensitive, NTFS or HFS+ file
// system takes for .git), a name that is empty, "." or holds a separator
// or a control character, a name or path too long to write, a name twice
// in one directory, directories nested deeper than maxDepth, more than
// MaxFiles files (or directories) or more than MaxBytes bytes. Export
// writes the tree with it; Fetch checks a fetched tree with it before
// checking it out.
//
// A refusal is a *RefusedError; any other error (an object missing or
// corrupt, ctx done, visit failing) is not.
func WalkTree(ctx context.Context, c *object.Commit, visit func(name string, f *object.File) error) error {
	return Options{}.WalkTree(ctx, c, visit)
}

// WalkTree is the package's WalkTree under o's limits and symlink rule.
// Under FollowLinks a symlink is visited as its target, under the link's
// path: f is the target's file, or nil for a directory, whose entries
// follow under that path.
func (o Options) WalkTree(ctx context.Context, c *object.Commit, visit func(name string, f *object.File) error) error {
	root, err := c.Tree()
	if err != nil {
		return fmt.Errorf("commit %s: %w", Short(c.Hash), err)
	}
	w := &walker{ctx: ctx, commit: c.Hash, root: root, links: o.Links, lim: o.Limits.withDefaults()}
	return w.walk(visit)
}

// Export writes commit c's tree into dst, which must not exist: the
// directories and files o's walk visits, the files 0644 or 0755 whatever
// the umask (a followed link is written as a copy of its target).
func (o Options) Export(ctx context.Context, c *object.Commit, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	return o.WalkTree(ctx, c, func(name string, f *object.File) error {
		target := filepath.Join(dst, filepath.FromSlash(name))
		if f == nil {
			return os.MkdirAll(target, 0o755)
		}
		return writeBlob(&f.Blob, target, f.Mode == filemode.Executable)
	})
}

// Bounds on the shape of a tree WalkTree accepts: how deep directories
// nest, how long a name (as Linux file systems) and a path (well within
// PATH_MAX once under a checkout directory) may be; and, under
// FollowLinks, how many links resolving one may follow (as the kernel's
// ELOOP) and how long a link's target may be (as PATH_MAX).
const (
	maxDepth      = 256
	maxName       = 255
	maxPath       = 2048
	maxLinkHops   = 40
	maxLinkTarget = 4096
)

// walker is one walk of a commit's tree.
type walker struct {
	ctx    context.Context
	commit plumbing.Hash
	root   *object.Tree
	links  Links
	lim    Limits
}

// frame is a directory being walked: its path in the walk (out) and in
// the repository (real), which differ below a followed link.
type frame struct {
	tree      *object.Tree
	out, real string
	next      int
}

func (w *walker) refuse(rule Rule, path, format string, args ...any) error {
	return &RefusedError{Commit: w.commit, Path: path, Rule: rule, Reason: fmt.Sprintf(format, args...)}
}

func (w *walker) walk(visit func(name string, f *object.File) error) error {
	short := Short(w.commit)
	stack := []*frame{{tree: w.root}}
	var files, dirs, size int64
	for len(stack) > 0 {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		d := stack[len(stack)-1]
		if d.next == 0 {
			if dup := duplicate(d.tree); dup != "" {
				where := "the top directory"
				if d.out != "" {
					where = fmt.Sprintf("directory %q", d.out)
				}
				return w.refuse(RuleTwice, d.out, "%s holds %q twice", where, dup)
			}
		}
		if d.next == len(d.tree.Entries) {
			stack = stack[:len(stack)-1]
			continue
		}
		entry := d.tree.Entries[d.next]
		d.next++
		name := join(d.out, entry.Name)
		if err := w.checkName(entry.Name, name); err != nil {
			return err
		}
		parent, real := d.tree, join(d.real, entry.Name)
		if entry.Mode == filemode.Symlink {
			if w.links == RefuseLinks {
				return w.refuse(RuleSymlink, name, "%s is a symlink; plinth reads no symlinks from a repository", name)
			}
			hops := 0
			var err error
			if parent, entry, real, err = w.follow(parent, entry, real, &hops); err != nil {
				return err
			}
		}
		var f *object.File
		switch entry.Mode {
		case filemode.Dir:
			if dirs++; dirs > w.lim.Files {
				return w.refuse(RuleTooMany, "", "tree has more than %d directories", w.lim.Files)
			}
			if len(stack) > maxDepth {
				return w.refuse(RuleTooDeep, name, "%s is nested more than %d directories deep", name, maxDepth)
			}
			sub, err := w.subtree(parent, entry)
			if err != nil {
				return fmt.Errorf("commit %s: %s: %w", short, name, err)
			}
			// Only a followed link can lead back into a directory being
			// walked: a tree cannot hold itself.
			for _, up := range stack {
				if up.tree.Hash == sub.Hash {
					return w.refuse(RuleSymlink, name, "%s: symlinks form a loop", name)
				}
			}
			stack = append(stack, &frame{tree: sub, out: name, real: real})
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			if files++; files > w.lim.Files {
				return w.refuse(RuleTooMany, "", "tree has more than %d files", w.lim.Files)
			}
			var err error
			if f, err = parent.TreeEntryFile(&entry); err != nil {
				return fmt.Errorf("commit %s: %s: %w", short, name, err)
			}
			if size += f.Size; size > w.lim.Bytes {
				return w.refuse(RuleTooLarge, "", "tree exceeds %s", Size(w.lim.Bytes))
			}
		case filemode.Submodule:
			return w.refuse(RuleSubmodule, real, "%s is a submodule; plinth reads no submodules", real)
		default:
			return w.refuse(RuleNotAFile, real, "%s is a %s, not a file", real, entry.Mode)
		}
		if err := visit(name, f); err != nil {
			return fmt.Errorf("commit %s: %s: %w", short, name, err)
		}
	}
	return nil
}

// checkName refuses a tree entry's name (at path p) that plinth never
// writes.
func (w *walker) checkName(name, p string) error {
	switch {
	case name == "..", !filepath.IsLocal(filepath.FromSlash(p)):
		return w.refuse(RuleLeavesTree, p, "path %q leaves the tree", p)
	case isDotGit(name):
		return w.refuse(RuleEntersGit, p, "path %q enters .git", p)
	case !plainName(name):
		return w.refuse(RuleNotPlain, p, "path %q is not a plain file name", p)
	case len(name) > maxName, len(p) > maxPath:
		return w.refuse(RuleTooLong, p, "path %q is longer than file systems take (%d bytes a name, %d a path)", clip(p), maxName, maxPath)
	}
	return nil
}

// subtree returns the directory e of parent (nil: e is the root).
func (w *walker) subtree(parent *object.Tree, e object.TreeEntry) (*object.Tree, error) {
	if parent == nil {
		return w.root, nil
	}
	sub, err := parent.Tree(e.Name)
	if err == nil && sub.Hash != e.Hash {
		err = fmt.Errorf("tree %s, not %s", sub.Hash, e.Hash)
	}
	return sub, err
}

// follow resolves the symlink e of parent, at real in the repository, to
// the entry it names (following links on the way) and returns that
// entry, its directory (nil for the root) and its path. go-git reads
// trees, not file systems, so this is the walk's own resolution: lexical,
// like path.Join, and confined to the tree.
func (w *walker) follow(parent *object.Tree, e object.TreeEntry, real string, hops *int) (*object.Tree, object.TreeEntry, string, error) {
	fail := func(err error) (*object.Tree, object.TreeEntry, string, error) {
		return nil, object.TreeEntry{}, "", err
	}
	if *hops++; *hops > maxLinkHops {
		return fail(w.refuse(RuleSymlink, real, "symlink %s: more than %d levels of symlinks", real, maxLinkHops))
	}
	f, err := parent.TreeEntryFile(&e)
	if err != nil {
		return fail(fmt.Errorf("symlink %s: %w", real, err))
	}
	if f.Size > maxLinkTarget {
		return fail(w.refuse(RuleSymlink, real, "symlink %s: target is longer than %d bytes", real, maxLinkTarget))
	}
	target, err := f.Contents()
	if err != nil {
		return fail(fmt.Errorf("symlink %s: %w", real, err))
	}
	p := path.Join(path.Dir(real), target)
	if target == "" || path.IsAbs(target) || strings.ContainsAny(target, "\\\x00") || isDrive(target) || p == ".." || strings.HasPrefix(p, "../") {
		return fail(w.refuse(RuleSymlink, real, "symlink %s points outside the repository (to %q)", real, target))
	}
	return w.lookup(p, real, hops)
}

// lookup returns the entry at p (clean, relative to the root), its
// directory and its path, following symlinks; link names the symlink
// being resolved, for messages.
func (w *walker) lookup(p, link string, hops *int) (*object.Tree, object.TreeEntry, string, error) {
	fail := func(err error) (*object.Tree, object.TreeEntry, string, error) {
		return nil, object.TreeEntry{}, "", err
	}
	if p == "." {
		return nil, object.TreeEntry{Mode: filemode.Dir, Hash: w.root.Hash}, ".", nil
	}
	parts := strings.Split(p, "/")
	cur, dir := w.root, ""
	for i, name := range parts {
		here := join(dir, name)
		var e *object.TreeEntry
		for j := range cur.Entries {
			if cur.Entries[j].Name == name {
				e = &cur.Entries[j]
				break
			}
		}
		if e == nil {
			return fail(w.refuse(RuleSymlink, link, "symlink %s points to %s, which does not exist", link, p))
		}
		if err := w.checkName(name, here); err != nil {
			return fail(err)
		}
		rest := parts[i+1:]
		if e.Mode == filemode.Symlink {
			tp, te, treal, err := w.follow(cur, *e, here, hops)
			if err != nil || len(rest) == 0 {
				return tp, te, treal, err
			}
			if te.Mode != filemode.Dir {
				return fail(w.refuse(RuleSymlink, link, "symlink %s points to %s, which is not a directory", link, p))
			}
			return w.lookup(path.Join(append([]string{treal}, rest...)...), link, hops)
		}
		if len(rest) == 0 {
			return cur, *e, here, nil
		}
		if e.Mode != filemode.Dir {
			return fail(w.refuse(RuleSymlink, link, "symlink %s points to %s, which is not a directory", link, p))
		}
		sub, err := w.subtree(cur, *e)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", here, err))
		}
		cur, dir = sub, here
	}
	panic("unreachable")
}

// join appends a name to a slash path that may be "" (the root).
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// isDrive reports whether a link target starts with a Windows drive
// ("C:"), which path.IsAbs does not see.
func isDrive(target string) bool {
	return len(target) >= 2 && target[1] == ':' && ('a' <= target[0]|0x20 && target[0]|0x20 <= 'z')
}

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

// writeBlob writes b to target, a new file, with its size checked (a
// corrupt store cannot write more than the tree's limits counted) and
// its mode set after the umask.
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
	n, err := io.Copy(f, io.LimitReader(rd, b.Size+1))
	if err == nil && n != b.Size {
		err = fmt.Errorf("read %d bytes, the object has %d", n, b.Size)
	}
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Rule names the check that refused a tree, for a caller that acts on it
// or words it its own way.
type Rule int

const (
	RuleLeavesTree Rule = iota + 1 // "..", or a path that is not local
	RuleEntersGit                  // .git, in a spelling some file system takes for it
	RuleNotPlain                   // a name that is empty, "." or holds a separator or control character
	RuleTooLong                    // a name over 255 bytes or a path over 2048
	RuleTwice                      // a name twice in one directory
	RuleTooDeep                    // directories nested more than 256 deep
	RuleTooMany                    // more files, or directories, than the limit
	RuleTooLarge                   // more bytes than the limit
	RuleSymlink                    // a symlink (RefuseLinks), or one FollowLinks cannot follow
	RuleSubmodule                  // a submodule (go-git reads a mode it does not know as one)
	RuleNotAFile                   // any other mode
)

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
	// Rule is the check that refused it.
	Rule Rule
	// Reason says what is wrong, for people; Error prefixes the commit.
	Reason string
}

func (e *RefusedError) Error() string { return "commit " + Short(e.Commit) + ": " + e.Reason }

// Short names a commit for people: its first 7 hex digits.
func Short(h plumbing.Hash) string { return h.String()[:7] }
