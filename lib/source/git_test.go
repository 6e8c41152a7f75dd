package source

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/plinth-platform/plinth/lib/needs"
)

var manifests = Source{URL: "https://github.com/kubeflow/manifests", Ref: "26.03"}

// makeWorktreeRepo makes a normal (non-bare) repository at dir with go-git's
// worktree: a first commit tagged 26.03 and a second commit after it on
// master. It returns both commits.
func makeWorktreeRepo(t *testing.T, dir string) (tagged, head plumbing.Hash) {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string, perm os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(msg string) plumbing.Hash {
		if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit(msg, &git.CommitOptions{Author: &testSig})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write("README.md", "Kubeflow manifests 26.03\n", 0o644)
	write("example/kustomization.yaml", "resources:\n- ../common\n", 0o644)
	write("common/namespace.yaml", "kind: Namespace\n", 0o644)
	write("hack/run.sh", "#!/bin/sh\n", 0o755)
	// In-tree symlinks: to a file and to a directory.
	if err := os.Symlink("../example/kustomization.yaml", filepath.Join(dir, "common", "kustomization.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "applications"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../common", filepath.Join(dir, "applications", "common")); err != nil {
		t.Fatal(err)
	}
	tagged = commit("26.03")
	if _, err := repo.CreateTag("26.03", tagged, &git.CreateTagOptions{Tagger: &testSig, Message: "26.03"}); err != nil {
		t.Fatal(err)
	}
	write("README.md", "Kubeflow manifests, after 26.03\n", 0o644)
	write("NEW.md", "new\n", 0o644)
	head = commit("after the tag")
	return tagged, head
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range filesUnder(t, dir) {
		p := filepath.Join(dir, filepath.FromSlash(f))
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() {
			t.Errorf("%s is not a regular file: %s", f, fi.Mode())
			continue
		}
		data, _ := os.ReadFile(p)
		out[f] = string(data)
		if fi.Mode().Perm()&0o111 != 0 {
			out[f] += " (executable)"
		}
	}
	return out
}

var taggedTree = map[string]string{
	"README.md":                              "Kubeflow manifests 26.03\n",
	"example/kustomization.yaml":             "resources:\n- ../common\n",
	"common/namespace.yaml":                  "kind: Namespace\n",
	"common/kustomization.yaml":              "resources:\n- ../common\n",
	"applications/common/namespace.yaml":     "kind: Namespace\n",
	"applications/common/kustomization.yaml": "resources:\n- ../common\n",
	"hack/run.sh":                            "#!/bin/sh\n (executable)",
}

func equalTrees(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected file %s", k)
		}
	}
}

func TestVendorGitLocalMirror(t *testing.T) {
	ctx := context.Background()
	mirror := t.TempDir()
	repoDir := filepath.Join(mirror, "github.com", "kubeflow", "manifests")
	tagged, head := makeWorktreeRepo(t, repoDir)

	root := t.TempDir()
	vendorDir := filepath.Join(root, "vendor")
	opts := VendorOptions{Dir: vendorDir, GitMirror: mirror}
	lock, err := Vendor(ctx, []Source{manifests}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	entry := lock.Sources[0]
	want := Locked{
		Key: manifests.Key(), Kind: "git", URL: manifests.URL, Ref: "26.03",
		Commit: tagged.String(), Path: "git/github.com/kubeflow/manifests@26.03", Digest: entry.Digest,
	}
	if entry != want {
		t.Errorf("lock entry %+v\nwant %+v", entry, want)
	}
	treeDir := filepath.Join(vendorDir, "git", "github.com", "kubeflow", "manifests@26.03")
	equalTrees(t, readTree(t, treeDir), taggedTree)
	if files := filesUnder(t, vendorDir); len(files) != len(taggedTree) {
		t.Errorf("vendor dir holds %q (temporary files left?)", files)
	}

	// The same tree by commit, through a bare copy with a .git suffix.
	bareMirror := t.TempDir()
	bare := filepath.Join(bareMirror, "github.com", "kubeflow", "manifests.git")
	if err := os.CopyFS(bare, os.DirFS(filepath.Join(repoDir, ".git"))); err != nil {
		t.Fatal(err)
	}
	byCommit := Source{URL: manifests.URL, Ref: tagged.String()}
	lock2, err := Vendor(ctx, []Source{byCommit}, nil, VendorOptions{Dir: vendorDir, GitMirror: "file://" + filepath.ToSlash(bareMirror)})
	if err != nil {
		t.Fatal(err)
	}
	if e := lock2.Sources[0]; e.Digest != entry.Digest || e.Commit != tagged.String() || e.Path != "git/github.com/kubeflow/manifests@"+tagged.String() {
		t.Errorf("by commit: %+v, want digest %s", e, entry.Digest)
	}

	// The branch has the second commit.
	branch := Source{URL: manifests.URL + ".git", Ref: "master"}
	lock3, err := Vendor(ctx, []Source{branch}, nil, VendorOptions{Dir: vendorDir, GitMirror: mirror})
	if err != nil {
		t.Fatal(err)
	}
	if e := lock3.Sources[0]; e.Commit != head.String() || e.Digest == entry.Digest {
		t.Errorf("branch: %+v", e)
	}
	headTree := readTree(t, filepath.Join(vendorDir, "git", "github.com", "kubeflow", "manifests@master"))
	if headTree["README.md"] != "Kubeflow manifests, after 26.03\n" || headTree["NEW.md"] != "new\n" {
		t.Errorf("branch tree: %v", headTree)
	}

	// Resolve, then the second Vendor needs no mirror at all.
	path, err := Resolve(vendorDir, lock, manifests)
	if err != nil {
		t.Fatal(err)
	}
	if path != treeDir {
		t.Errorf("Resolve = %s, want %s", path, treeDir)
	}
	if err := os.RemoveAll(mirror); err != nil {
		t.Fatal(err)
	}
	again, err := Vendor(ctx, []Source{manifests}, lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.Sources[0] != entry {
		t.Errorf("second Vendor: %+v", again.Sources[0])
	}

	// Tampering is found: a changed file, an added file, a symlink.
	tamper := []struct {
		name string
		do   func(t *testing.T)
		want []string
	}{
		{"changed file", func(t *testing.T) {
			os.WriteFile(filepath.Join(treeDir, "README.md"), []byte("changed"), 0o644)
		}, []string{"git https://github.com/kubeflow/manifests@26.03 digest mismatch: plinth.lock has " + entry.Digest + ", vendor/git/github.com/kubeflow/manifests@26.03 has sha256:"}},
		{"mode change", func(t *testing.T) {
			os.Chmod(filepath.Join(treeDir, "README.md"), 0o755)
		}, []string{"digest mismatch"}},
		{"added file", func(t *testing.T) {
			os.WriteFile(filepath.Join(treeDir, "extra.yaml"), nil, 0o644)
		}, []string{"digest mismatch"}},
		{"symlink", func(t *testing.T) {
			os.Symlink("/etc/passwd", filepath.Join(treeDir, "common", "passwd.yaml"))
		}, []string{"common/passwd.yaml in ", "is a symlink, not a regular file"}},
		{"missing", func(t *testing.T) {
			os.RemoveAll(treeDir)
		}, []string{"git https://github.com/kubeflow/manifests@26.03 is missing from vendor/git/github.com/kubeflow/manifests@26.03: run plinth vendor"}},
	}
	repoDir2 := filepath.Join(t.TempDir(), "github.com", "kubeflow", "manifests")
	makeWorktreeRepo(t, repoDir2)
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			// Start from a good copy each time.
			if _, err := Vendor(ctx, []Source{manifests}, lock, VendorOptions{Dir: vendorDir, GitMirror: filepath.Dir(filepath.Dir(filepath.Dir(repoDir2)))}); err != nil {
				t.Fatal(err)
			}
			if _, err := Resolve(vendorDir, lock, manifests); err != nil {
				t.Fatal(err)
			}
			tt.do(t)
			_, err := Resolve(vendorDir, lock, manifests)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestVendorGitMissingRef(t *testing.T) {
	mirror := t.TempDir()
	makeWorktreeRepo(t, filepath.Join(mirror, "github.com", "kubeflow", "manifests"))
	dir := t.TempDir()
	s := Source{URL: manifests.URL, Ref: "26.04"}
	_, err := Vendor(context.Background(), []Source{s}, nil, VendorOptions{Dir: dir, GitMirror: mirror})
	wantErr(t, err, `git https://github.com/kubeflow/manifests@26.04: no tag or branch "26.04" (tags: 26.03; branches: master)`)
	s.Ref = strings.Repeat("0", 40)
	_, err = Vendor(context.Background(), []Source{s}, nil, VendorOptions{Dir: dir, GitMirror: mirror})
	wantErr(t, err, "commit 0000000000000000000000000000000000000000: object not found")
	_, err = Vendor(context.Background(), []Source{{URL: "https://github.com/kubeflow/pipelines", Ref: "v1"}}, nil, VendorOptions{Dir: dir, GitMirror: mirror})
	wantErr(t, err, "no git repository at "+filepath.Join(mirror, "github.com", "kubeflow", "pipelines")+" or "+filepath.Join(mirror, "github.com", "kubeflow", "pipelines.git"))
	if files := filesUnder(t, dir); len(files) != 0 {
		t.Errorf("vendor dir holds %q", files)
	}
}

// TestVendorGitHTTP fetches over git's smart HTTP protocol from a server
// built on go-git's server-side upload-pack, directly and through a proxy,
// and gets the same trees and commits as from the local mirror.
func TestVendorGitHTTP(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	r := newBareRepo(t, filepath.Join(root, "github.com", "kubeflow", "manifests"))
	files := map[string]gitFile{
		"README.md":                  reg("26.03\n"),
		"example/kustomization.yaml": reg("resources: []\n"),
		"hack/run.sh":                exe("#!/bin/sh\n"),
		"common/link.yaml":           symlink("../example/kustomization.yaml"),
	}
	tagged := r.commit(files, "26.03")
	r.tag("26.03", tagged)
	files["README.md"] = reg("after\n")
	head := r.commit(files, "after", tagged)
	r.ref(plumbing.NewBranchReferenceName("main"), head)
	r.ref(plumbing.NewBranchReferenceName("release/26.03"), tagged)

	srv, rec := smartHTTP(t, root)
	proxy, proxyRec := forwardProxy(t)
	proxyURL, _ := url.Parse(proxy.URL)

	local, err := Vendor(ctx, []Source{manifests, {URL: manifests.URL, Ref: "main"}}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: root})
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name  string
		proxy *url.URL
	}{{"direct", nil}, {"through proxy", proxyURL}} {
		t.Run(tt.name, func(t *testing.T) {
			before, proxyBefore := rec.n.Load(), proxyRec.n.Load()
			dir := t.TempDir()
			sources := []Source{
				manifests,
				{URL: manifests.URL, Ref: "main"},
				{URL: manifests.URL, Ref: tagged.String()},
				{URL: manifests.URL, Ref: "release/26.03"},
			}
			lock, err := Vendor(ctx, sources, nil, VendorOptions{
				Dir: dir, GitMirror: srv.URL, Proxy: tt.proxy,
				AllowedHosts: []string{mustURL(t, srv.URL).Host},
			})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Locked{}
			for _, e := range lock.Sources {
				got[e.Ref] = e
			}
			if got["26.03"] != local.Sources[0] {
				t.Errorf("tag over HTTP: %+v\nlocal: %+v", got["26.03"], local.Sources[0])
			}
			if got["main"] != local.Sources[1] {
				t.Errorf("branch over HTTP: %+v\nlocal: %+v", got["main"], local.Sources[1])
			}
			for _, ref := range []string{tagged.String(), "release/26.03"} {
				if e := got[ref]; e.Commit != tagged.String() || e.Digest != local.Sources[0].Digest {
					t.Errorf("%s over HTTP: %+v", ref, e)
				}
			}
			equalTrees(t, readTree(t, filepath.Join(dir, "git", "github.com", "kubeflow", "manifests@release%2F26.03")), map[string]string{
				"README.md":                  "26.03\n",
				"example/kustomization.yaml": "resources: []\n",
				"hack/run.sh":                "#!/bin/sh\n (executable)",
				"common/link.yaml":           "resources: []\n",
			})
			n, viaProxy := rec.n.Load()-before, proxyRec.n.Load()-proxyBefore
			if n == 0 {
				t.Error("no requests reached the git server")
			}
			if tt.proxy != nil && viaProxy != n {
				t.Errorf("%d of %d requests went through the proxy", viaProxy, n)
			}
			if tt.proxy == nil && viaProxy != 0 {
				t.Errorf("%d requests went through the proxy", viaProxy)
			}
			for _, p := range rec.requests() {
				if !strings.Contains(p, "/github.com/kubeflow/manifests/") {
					t.Errorf("request %q is not for the mirrored path", p)
				}
			}
		})
	}

	t.Run("missing ref", func(t *testing.T) {
		_, err := Vendor(ctx, []Source{{URL: manifests.URL, Ref: "v9"}}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: srv.URL})
		wantErr(t, err, srv.URL+`/github.com/kubeflow/manifests: no tag or branch "v9" (tags: 26.03; branches: main, release/26.03)`)
	})
	t.Run("commit not on any ref", func(t *testing.T) {
		orphan := r.commit(map[string]gitFile{"x": reg("x")}, "orphan")
		_, err := Vendor(ctx, []Source{{URL: manifests.URL, Ref: orphan.String()}}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: srv.URL})
		wantErr(t, err, "commit "+orphan.String()+" is not reachable from any branch or tag")
	})
	t.Run("missing repository", func(t *testing.T) {
		_, err := Vendor(ctx, []Source{{URL: "https://github.com/kubeflow/nothing", Ref: "v1"}}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: srv.URL})
		wantErr(t, err, "git https://github.com/kubeflow/nothing@v1: "+srv.URL+"/github.com/kubeflow/nothing: listing refs:")
	})
	t.Run("host not allowed", func(t *testing.T) {
		before := rec.n.Load()
		_, err := Vendor(ctx, []Source{manifests}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: srv.URL, AllowedHosts: []string{"git.bank.local"}})
		wantErr(t, err, "host 127.0.0.1 is not in the allowed hosts (git.bank.local)")
		if n := rec.n.Load() - before; n != 0 {
			t.Errorf("%d requests", n)
		}
	})
	t.Run("fetch over the cap", func(t *testing.T) {
		dir := t.TempDir()
		lim := defaultLimits
		lim.gitFetch = 300
		_, err := vendor(ctx, []Source{manifests}, nil, VendorOptions{Dir: dir, GitMirror: srv.URL}, lim)
		wantErr(t, err, "response is larger than the limit")
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("vendor dir holds %q", files)
		}
	})
}

// TestVendorHostileGitTrees vendors crafted trees from a local mirror: each
// is refused with an error naming the entry, and nothing is written.
func TestVendorHostileGitTrees(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]gitFile
		lim   *limits
		want  []string
	}{
		{"symlink out of the tree", map[string]gitFile{"values.yaml": symlink("../../../../etc/passwd")},
			nil, []string{`symlink values.yaml points outside the repository (to "../../../../etc/passwd")`}},
		{"absolute symlink", map[string]gitFile{"a/values.yaml": symlink("/etc/passwd")},
			nil, []string{`symlink a/values.yaml points outside the repository (to "/etc/passwd")`}},
		{"directory symlink to the parent", map[string]gitFile{"up": symlink(".."), "x": reg("x")},
			nil, []string{`symlink up points outside the repository (to "..")`}},
		{"escape through an inner symlink", map[string]gitFile{"a/b": symlink("../c/../.."), "c/d": reg("d")},
			nil, []string{`symlink a/b points outside the repository`}},
		{"escape through a chain", map[string]gitFile{"a": symlink("b/../.."), "b/x": reg("x")},
			nil, []string{`symlink a points outside the repository`}},
		{"escape via a linked directory", map[string]gitFile{"a/link": symlink("../c"), "b/x": symlink("../a/link/../../.."), "c/y": reg("y")},
			nil, []string{"points outside the repository"}},
		{"symlink loop to an ancestor", map[string]gitFile{"a/self": symlink("."), "a/x": reg("x")},
			nil, []string{"a/self: symlinks form a loop"}},
		{"symlink to the root", map[string]gitFile{"a/root": symlink(".."), "x": reg("x")},
			nil, []string{"a/root: symlinks form a loop"}},
		{"symlink cycle", map[string]gitFile{"x": symlink("y"), "y": symlink("x")},
			nil, []string{"more than 40 levels of symlinks"}},
		{"dangling symlink", map[string]gitFile{"x": symlink("nope.yaml")},
			nil, []string{"symlink x points to nope.yaml, which does not exist"}},
		{"symlink through a file", map[string]gitFile{"x": symlink("f/y"), "f": reg("f")},
			nil, []string{"symlink x points to f/y, which is not a directory"}},
		{"dot-dot entry", map[string]gitFile{"..": reg("x")},
			nil, []string{`tree entry ".." is not allowed`}},
		{".git directory", map[string]gitFile{".git/config": reg("[core]\n")},
			nil, []string{`.git: tree entry ".git" is not allowed`}},
		{".GIT directory", map[string]gitFile{"a/.GIT./hooks/post-checkout": exe("#!/bin/sh\n")},
			nil, []string{`tree entry ".GIT." is not allowed`}},
		{"backslash", map[string]gitFile{`a\..\..\x`: reg("x")},
			nil, []string{`has a path separator, NUL or line break`}},
		{"newline", map[string]gitFile{"a\nb": reg("x")},
			nil, []string{`has a path separator, NUL or line break`}},
		{"submodule", map[string]gitFile{"third_party/argo": {filemode.Submodule, strings.Repeat("1", 40)}},
			nil, []string{"third_party/argo is a submodule; submodules are not supported"}},
		{"too many files", map[string]gitFile{"a": reg("a"), "b": reg("b"), "c/d": reg("d"), "c/e": reg("e")},
			&limits{treeFiles: 3, treeBytes: 1 << 20}, []string{"tree has more than 3 files"}},
		{"too many bytes", map[string]gitFile{"a": reg(strings.Repeat("a", 600)), "b": reg(strings.Repeat("b", 600))},
			&limits{treeFiles: 10, treeBytes: 1000}, []string{"tree is larger than 1000 bytes"}},
		{"symlink fan-out", fanOut(50),
			&limits{treeFiles: 1000, treeBytes: 1 << 20}, []string{"tree has more than 1000 files"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mirror := t.TempDir()
			r := newBareRepo(t, filepath.Join(mirror, "github.com", "kubeflow", "manifests.git"))
			r.tag("26.03", r.commit(tt.files, "hostile"))
			dir := t.TempDir()
			lim := defaultLimits
			if tt.lim != nil {
				lim = *tt.lim
			}
			_, err := vendor(context.Background(), []Source{manifests}, nil, VendorOptions{Dir: dir, GitMirror: mirror}, lim)
			wantErr(t, err, append([]string{"git https://github.com/kubeflow/manifests@26.03: commit "}, tt.want...)...)
			if files := filesUnder(t, dir); len(files) != 0 {
				t.Errorf("vendor dir holds %q", files)
			}
			if strings.Contains(err.Error(), "root:x:") {
				t.Error("a file's content leaked into the error")
			}
		})
	}
}

// fanOut makes n directories of n symlinks each to a directory of n files:
// n³ files once copied.
func fanOut(n int) map[string]gitFile {
	files := map[string]gitFile{}
	for i := range n {
		files["data/f"+strconv.Itoa(i)] = reg("x")
		for j := range n {
			files["d"+strconv.Itoa(i)+"/l"+strconv.Itoa(j)] = symlink("../data")
		}
	}
	return files
}

// TestVendorGitLockMismatch: the tag moved to other content since it was
// pinned.
func TestVendorGitLockMismatch(t *testing.T) {
	mirror := t.TempDir()
	r := newBareRepo(t, filepath.Join(mirror, "github.com", "kubeflow", "manifests"))
	first := r.commit(map[string]gitFile{"a": reg("1")}, "first")
	r.tag("26.03", first)
	dir := t.TempDir()
	opts := VendorOptions{Dir: dir, GitMirror: mirror}
	lock, err := Vendor(context.Background(), []Source{manifests}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	moved := r.commit(map[string]gitFile{"a": reg("2")}, "moved", first)
	r.tag("26.03", moved)
	tree := filepath.Join(dir, "git", "github.com", "kubeflow", "manifests@26.03")
	os.WriteFile(filepath.Join(tree, "a"), []byte("tampered"), 0o644)

	_, err = Vendor(context.Background(), []Source{manifests}, lock, opts)
	wantErr(t, err, "git https://github.com/kubeflow/manifests@26.03: lock says "+lock.Sources[0].Digest+", fetched sha256:", "commit "+moved.String())
	if data, _ := os.ReadFile(filepath.Join(tree, "a")); string(data) != "tampered" {
		t.Errorf("the vendored tree was replaced on a mismatch: a = %q", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("vendor dir holds %v", entries)
	}

	opts.Update = true
	updated, err := Vendor(context.Background(), []Source{manifests}, lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if e := updated.Sources[0]; e.Commit != moved.String() || e.Digest == lock.Sources[0].Digest {
		t.Errorf("updated: %+v", e)
	}
	if data, _ := os.ReadFile(filepath.Join(tree, "a")); string(data) != "2" {
		t.Errorf("after update a = %q", data)
	}
	if _, err := Resolve(dir, updated, manifests); err != nil {
		t.Error(err)
	}
	leftovers := slices.DeleteFunc(filesUnder(t, dir), func(f string) bool { return f == "git/github.com/kubeflow/manifests@26.03/a" })
	if len(leftovers) != 0 {
		t.Errorf("leftover files %q", leftovers)
	}
}

// TestTreeDigestDefinition recomputes a digest from the definition in the
// package documentation.
func TestTreeDigestDefinition(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "b", "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b", "run.sh"), []byte("#!/bin/sh\n"), 0o700)
	lines := []string{
		"100644 " + strings.TrimPrefix(digestBytes([]byte("a\n")), "sha256:") + " a.txt\n",
		"100755 " + strings.TrimPrefix(digestBytes([]byte("#!/bin/sh\n")), "sha256:") + " b/run.sh\n",
	}
	slices.Sort(lines)
	want := digestBytes([]byte(strings.Join(lines, "")))
	got, err := digestTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("digestTree = %s, want %s", got, want)
	}
}

// TestVendorGitHTTPBackend fetches from git's own smart HTTP server, git
// http-backend run as CGI, which (unlike go-git's server side) negotiates
// shallow fetches, side-band-64k and multi_ack_detailed. Without git it
// fails, unless PLINTH_SKIP names git (lib/needs).
func TestVendorGitHTTPBackend(t *testing.T) {
	const provide = "apt-get install git (git-http-backend comes with it)"
	gitBin, err := exec.LookPath("git")
	if err != nil {
		needs.Missing(t, needs.Git, err, provide)
	}
	out, err := exec.Command(gitBin, "--exec-path").Output()
	if err != nil {
		needs.Missing(t, needs.Git, fmt.Errorf("git --exec-path: %w", err), provide)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		needs.Missing(t, needs.Git, err, provide)
	}

	root := t.TempDir()
	r := newBareRepo(t, filepath.Join(root, "github.com", "kubeflow", "manifests.git"))
	files := map[string]gitFile{"README.md": reg("26.03\n"), "hack/run.sh": exe("#!/bin/sh\n"), "link": symlink("README.md")}
	first := r.commit(map[string]gitFile{"README.md": reg("first\n")}, "first")
	tagged := r.commit(files, "26.03", first)
	r.tag("26.03", tagged)
	files["README.md"] = reg("after\n")
	head := r.commit(files, "after", tagged)
	r.ref(plumbing.NewBranchReferenceName("main"), head)

	var (
		mu     sync.Mutex
		bodies []string
	)
	handler := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + t.TempDir()},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			body, _ := io.ReadAll(req.Body)
			mu.Lock()
			bodies = append(bodies, string(body))
			mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		handler.ServeHTTP(w, req)
	}))
	defer srv.Close()

	local, err := Vendor(context.Background(), []Source{manifests}, nil, VendorOptions{Dir: t.TempDir(), GitMirror: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"26.03", tagged.String()} {
		t.Run(ref, func(t *testing.T) {
			mu.Lock()
			bodies = nil
			mu.Unlock()
			src := Source{URL: manifests.URL + ".git", Ref: ref}
			dir := t.TempDir()
			lock, err := Vendor(context.Background(), []Source{src}, nil, VendorOptions{Dir: dir, GitMirror: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if e := lock.Sources[0]; e.Commit != tagged.String() || e.Digest != local.Sources[0].Digest {
				t.Errorf("lock entry %+v, want commit %s digest %s", e, tagged, local.Sources[0].Digest)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) != 1 {
				t.Fatalf("%d upload-pack requests", len(bodies))
			}
			shallow := strings.Contains(bodies[0], "deepen 1")
			if wantShallow := ref == "26.03"; shallow != wantShallow {
				t.Errorf("shallow fetch = %v, want %v; request:\n%s", shallow, wantShallow, bodies[0])
			}
		})
	}
}
