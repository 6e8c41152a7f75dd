package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// memTree builds commits in go-git memory storage from a spec that may
// name what git itself never writes: one entry a line, "<octal mode>
// <name>|<name>|...". The names before the last are directories (made
// once, reused by later lines); the last is a new entry of that mode,
// even when its directory already holds that name. Tree objects are
// written byte by byte in line order, unsorted if the lines are, so that
// names with "/", "\", NUL or ".." reach the reader as given. A file's
// content is its line; a submodule points at a commit not in the store.
type memTree struct {
	sto *memory.Storage
}

type specNode struct {
	name string
	mode filemode.FileMode
	data string
	kids []*specNode
}

func newMemTree() *memTree { return &memTree{sto: memory.NewStorage()} }

func (m *memTree) commit(spec string) (*object.Commit, error) {
	root := &specNode{mode: filemode.Dir}
	for line := range strings.SplitSeq(spec, "\n") {
		if line == "" {
			continue
		}
		modeText, path, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		mode, err := strconv.ParseUint(modeText, 8, 32)
		if err != nil {
			continue
		}
		names := strings.Split(path, "|")
		dir := root
		for _, name := range names[:len(names)-1] {
			var next *specNode
			for _, k := range dir.kids {
				if k.name == name && k.mode == filemode.Dir {
					next = k
				}
			}
			if next == nil {
				next = &specNode{name: name, mode: filemode.Dir}
				dir.kids = append(dir.kids, next)
			}
			dir = next
		}
		dir.kids = append(dir.kids, &specNode{name: names[len(names)-1], mode: filemode.FileMode(mode), data: line})
	}
	tree, err := m.store(root)
	if err != nil {
		return nil, err
	}
	return m.commitTree(tree)
}

func (m *memTree) commitTree(tree plumbing.Hash) (*object.Commit, error) {
	sig := object.Signature{Name: "t", Email: "t@example.invalid", When: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	c := &object.Commit{Author: sig, Committer: sig, Message: "spec\n", TreeHash: tree}
	obj := m.sto.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return nil, err
	}
	h, err := m.sto.SetEncodedObject(obj)
	if err != nil {
		return nil, err
	}
	return object.GetCommit(m.sto, h)
}

func (m *memTree) store(n *specNode) (plumbing.Hash, error) {
	switch n.mode {
	case filemode.Dir:
		var raw bytes.Buffer
		for _, k := range n.kids {
			h, err := m.store(k)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			fmt.Fprintf(&raw, "%o %s\x00", uint32(k.mode), k.name)
			raw.Write(h[:])
		}
		return m.put(plumbing.TreeObject, raw.Bytes())
	case filemode.Submodule:
		return plumbing.ComputeHash(plumbing.CommitObject, []byte(n.data)), nil
	}
	return m.put(plumbing.BlobObject, []byte(n.data))
}

func (m *memTree) put(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	obj := m.sto.NewEncodedObject()
	obj.SetType(t)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(data); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return m.sto.SetEncodedObject(obj)
}

func (m *memTree) repo(t testing.TB) *Repo {
	if err := m.sto.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName("main"))); err != nil {
		t.Fatal(err)
	}
	r, err := git.Open(m.sto, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Repo{repo: r}
}

// Every refusal is a *RefusedError naming the commit and the entry, with
// the message it always had; Export returns it too and writes nothing for
// the refused entry.
func TestWalkTreeRefusedError(t *testing.T) {
	for _, tc := range []struct {
		name, spec, path, msg string
	}{
		{"symlink", "100644 a.yaml\n120000 values.yaml", "values.yaml", "values.yaml is a symlink; plinth reads no symlinks from a repository"},
		{"symlink in a directory", "120000 cue.mod|pkg|x", "cue.mod/pkg/x", "cue.mod/pkg/x is a symlink; plinth reads no symlinks from a repository"},
		{"submodule", "160000 third_party|argo", "third_party/argo", "third_party/argo is a submodule; plinth reads no submodules"},
		{"dot dot", "100644 a|..|..|etc|passwd", "a/..", `path "a/.." leaves the tree`},
		{"slashes in a name", "100644 a/../../b", "a/../../b", `path "a/../../b" leaves the tree`},
		{"slash in a name", "100644 a/b", "a/b", `path "a/b" is not a plain file name`},
		{"absolute name", "100644 /etc/passwd", "/etc/passwd", `path "/etc/passwd" leaves the tree`},
		{"backslashes", `100644 a\..\..\b`, `a\..\..\b`, `path "a\\..\\..\\b" is not a plain file name`},
		{".git", "100644 .git|config", ".git", `path ".git" enters .git`},
		{".GIT deeper", "100755 x|.GIT|hooks|post-checkout", "x/.GIT", `path "x/.GIT" enters .git`},
		{"NTFS .git", "100644 .git. .|config", ".git. .", `path ".git. ." enters .git`},
		{"NTFS stream", "100644 .Git::$INDEX_ALLOCATION|config", ".Git::$INDEX_ALLOCATION", `path ".Git::$INDEX_ALLOCATION" enters .git`},
		{"NTFS short name", "100644 GIT~1|config", "GIT~1", `path "GIT~1" enters .git`},
		{"HFS+ .git", "100644 .g\u200cit|config", ".g\u200cit", `path ".g\u200cit" enters .git`},
		{"control character", "100644 a\x01b", "a\x01b", `path "a\x01b" is not a plain file name`},
		{"too deep", "100644 " + strings.Repeat("d|", maxDepth+1) + "x", strings.TrimSuffix(strings.Repeat("d/", maxDepth+1), "/"),
			strings.TrimSuffix(strings.Repeat("d/", maxDepth+1), "/") + " is nested more than 256 directories deep"},
		{"long name", "100644 " + strings.Repeat("n", 256), strings.Repeat("n", 256),
			`path "` + strings.Repeat("n", 32) + "..." + strings.Repeat("n", 29) + `" is longer than file systems take (255 bytes a name, 2048 a path)`},
		{"long path", "100644 " + strings.Repeat(strings.Repeat("p", 200)+"|", 11) + "x", strings.Repeat(strings.Repeat("p", 200)+"/", 10) + strings.Repeat("p", 200),
			`path "` + strings.Repeat("p", 32) + "..." + strings.Repeat("p", 29) + `" is longer than file systems take (255 bytes a name, 2048 a path)`},
		{"twice", "100644 a\n40000 a", "", `the top directory holds "a" twice`},
		{"twice deeper", "100644 d|a\n100644 d|a", "d", `directory "d" holds "a" twice`},
		// go-git reads a mode it does not know as a submodule's.
		{"unknown mode", "100664 x\n170000 y", "y", "y is a submodule; plinth reads no submodules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemTree()
			c, err := m.commit(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			err = WalkTree(t.Context(), c, func(string, *object.File) error { return nil })
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("err = %v (%T), want a *RefusedError", err, err)
			}
			if refused.Commit != c.Hash || refused.Path != tc.path {
				t.Errorf("refused %s %q, want %s %q", refused.Commit, refused.Path, c.Hash, tc.path)
			}
			if want := "commit " + Short(c.Hash) + ": " + tc.msg; err.Error() != want {
				t.Errorf("err = %q\nwant  %q", err, want)
			}

			parent := t.TempDir()
			err = m.repo(t).Export(t.Context(), c.Hash, filepath.Join(parent, "out"))
			if !errors.As(err, &refused) || err.Error() != "commit "+Short(c.Hash)+": "+tc.msg {
				t.Errorf("Export: %v", err)
			}
			onlyInside(t, parent, "out")
		})
	}
}

// Errors that are not the tree's fault are not refusals.
func TestWalkTreeOtherErrorsAreNotRefusals(t *testing.T) {
	m := newMemTree()
	c, err := m.commit("100644 a|b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var refused *RefusedError
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WalkTree(ctx, c, func(string, *object.File) error { return nil }); !errors.Is(err, context.Canceled) || errors.As(err, &refused) {
		t.Errorf("cancelled: %v", err)
	}
	failed := errors.New("disk full")
	err = WalkTree(t.Context(), c, func(string, *object.File) error { return failed })
	if !errors.Is(err, failed) || errors.As(err, &refused) {
		t.Errorf("visit failing: %v", err)
	}
	// A subtree missing from the store: an error, not a silent end of the
	// walk (go-git's TreeWalker ends there), and not a refusal.
	missing := plumbing.ComputeHash(plumbing.TreeObject, []byte("not stored"))
	raw := append([]byte("40000 a\x00"), missing[:]...)
	raw = append(raw, "120000 z\x00"...)
	raw = append(raw, missing[:]...)
	tree, err := m.put(plumbing.TreeObject, raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err = m.commitTree(tree)
	if err != nil {
		t.Fatal(err)
	}
	err = WalkTree(t.Context(), c, func(string, *object.File) error { return nil })
	if err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), "commit "+Short(c.Hash)+": a: ") {
		t.Errorf("missing subtree: %v", err)
	}
}

// onlyInside fails unless dir holds nothing but the entry inside (or
// nothing at all), and nothing under it is a symlink or other than a
// directory or regular file.
func onlyInside(t testing.TB, dir, inside string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != inside {
			t.Errorf("%s was written outside %s", filepath.Join(dir, e.Name()), inside)
		}
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsDir() && !d.Type().IsRegular() {
			t.Errorf("%s is a %s", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzWalkTree builds a commit from the input (see memTree) and checks
// that WalkTree either refuses it or visits only local paths with no .git
// element, and that Export writes only regular files and directories,
// only inside its directory: exactly the files WalkTree visited.
func FuzzWalkTree(f *testing.F) {
	for _, seed := range []string{
		"100644 env.cue\n100755 bin|run\n40000 empty",
		"100644 a|..|..|x",
		"100644 a/../../b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m := newMemTree()
		c, err := m.commit(spec)
		if err != nil {
			t.Skip(err)
		}
		var visited []string
		var files []string
		walkErr := WalkTree(t.Context(), c, func(name string, f *object.File) error {
			if !filepath.IsLocal(filepath.FromSlash(name)) {
				t.Errorf("visited %q, not a local path", name)
			}
			for part := range strings.SplitSeq(name, "/") {
				if strings.EqualFold(part, ".git") {
					t.Errorf("visited %q, in .git", name)
				}
			}
			visited = append(visited, name)
			if f != nil {
				files = append(files, name)
			}
			return nil
		})

		parent := t.TempDir()
		dst := filepath.Join(parent, "out")
		exportErr := m.repo(t).Export(t.Context(), c.Hash, dst)
		onlyInside(t, parent, "out")
		if (walkErr == nil) != (exportErr == nil) {
			t.Fatalf("WalkTree: %v, but Export: %v", walkErr, exportErr)
		}
		if walkErr != nil {
			return
		}
		var written []string
		err = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(dst, p)
				written = append(written, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(files)
		slices.Sort(written)
		if !slices.Equal(files, written) {
			t.Errorf("visited files %q, Export wrote %q", files, written)
		}
	})
}
