package gitrepo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// linkTree commits files (slash path: mode and content, a symlink's
// content its target) to m, with sorted trees as git writes them.
func linkTree(t *testing.T, m *memTree, files map[string]string) *object.Commit {
	t.Helper()
	var store func(files map[string]string) plumbing.Hash
	store = func(files map[string]string) plumbing.Hash {
		dirs := map[string]map[string]string{}
		var entries []object.TreeEntry
		for p, spec := range files {
			if dir, rest, ok := strings.Cut(p, "/"); ok {
				if dirs[dir] == nil {
					dirs[dir] = map[string]string{}
				}
				dirs[dir][rest] = spec
				continue
			}
			mode, data, _ := strings.Cut(spec, " ")
			fm, err := filemode.New(mode)
			if err != nil {
				t.Fatal(err)
			}
			h, err := m.put(plumbing.BlobObject, []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, object.TreeEntry{Name: p, Mode: fm, Hash: h})
		}
		for dir, sub := range dirs {
			entries = append(entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: store(sub)})
		}
		slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(a.Name, b.Name) })
		obj := m.sto.NewEncodedObject()
		if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := m.sto.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	c, err := m.commitTree(store(files))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The one symlink rule, both ways: RefuseLinks refuses any link;
// FollowLinks visits a link inside the tree as its target, under the
// link's path, and Export writes copies, never a link.
func TestLinks(t *testing.T) {
	m := newMemTree()
	c := linkTree(t, m, map[string]string{
		"base/kustomization.yaml": "100644 resources: []\n",
		"base/run.sh":             "100755 #!/bin/sh\n",
		"app/base":                "120000 ../base",
		"app/kustomization.yaml":  "120000 ../base/kustomization.yaml",
		"app/run":                 "120000 base/run.sh",
	})

	err := WalkTree(t.Context(), c, func(string, *object.File) error { return nil })
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Rule != RuleSymlink || refused.Path != "app/base" {
		t.Fatalf("RefuseLinks: %v", err)
	}

	dst := filepath.Join(t.TempDir(), "out")
	if err := (Options{Links: FollowLinks}).Export(t.Context(), c, dst); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"app/base/kustomization.yaml": "resources: []\n",
		"app/base/run.sh":             "#!/bin/sh\n",
		"app/kustomization.yaml":      "resources: []\n",
		"app/run":                     "#!/bin/sh\n",
	} {
		p := filepath.Join(dst, filepath.FromSlash(name))
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v %v, want a regular file", name, fi, err)
			continue
		}
		if got, _ := os.ReadFile(p); string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
		if exec := fi.Mode().Perm()&0o111 != 0; exec != strings.HasSuffix(want, "sh\n") {
			t.Errorf("%s: mode %s", name, fi.Mode())
		}
	}

	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"out of the tree", map[string]string{"a/x": "120000 ../../etc/passwd"}, `symlink a/x points outside the repository (to "../../etc/passwd")`},
		{"absolute", map[string]string{"x": "120000 /etc/passwd"}, `symlink x points outside the repository`},
		{"drive", map[string]string{"x": "120000 C:/Windows"}, `symlink x points outside the repository`},
		{"loop", map[string]string{"a/up": "120000 .."}, "a/up: symlinks form a loop"},
		{"cycle", map[string]string{"x": "120000 y", "y": "120000 x"}, "more than 40 levels of symlinks"},
		{"dangling", map[string]string{"x": "120000 nope"}, "symlink x points to nope, which does not exist"},
		{"into .git", map[string]string{".git/config": "100644 x", "x": "120000 .git/config"}, `enters .git`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemTree()
			c := linkTree(t, m, tc.files)
			parent := t.TempDir()
			err := Options{Links: FollowLinks}.Export(t.Context(), c, filepath.Join(parent, "out"))
			var refused *RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refusal %q", err, tc.want)
			}
			onlyInside(t, parent, "out")
		})
	}
}
