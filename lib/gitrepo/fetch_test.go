package gitrepo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Distinctive credentials: no error may contain them.
const (
	user     = "plinth"
	password = "pw-Zq7x-SECRET-91kd"
	token    = "tok-Hh3v-SECRET-44pw"
)

func TestMain(m *testing.M) {
	// gitkit (under gittestserver) logs every request.
	log.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// server is a gittestserver with basic auth over HTTP that counts the
// upload-pack requests it sees (pushes use receive-pack and are not
// counted); mws, if any, run after the counting.
type server struct {
	*gittestserver.GitServer
	refGETs, packPOSTs atomic.Int64
}

func newServer(t *testing.T, mws ...gittestserver.HTTPMiddleware) *server {
	t.Helper()
	gs, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(gs.Root()) })
	s := &server{GitServer: gs}
	gs.AutoCreate().Auth(user, password)
	gs.AddHTTPMiddlewares(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
				s.refGETs.Add(1)
			case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
				s.packPOSTs.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	})
	gs.AddHTTPMiddlewares(mws...)
	if err := gs.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gs.StopHTTP)
	return s
}

// startSSH starts the server's SSH side and returns a known_hosts line for
// its host key.
func (s *server) startSSH(t *testing.T) []byte {
	t.Helper()
	keyDir := t.TempDir()
	s.KeyDir(keyDir)
	if err := s.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go s.StartSSH()
	t.Cleanup(func() { s.StopSSH() })
	pubBytes, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(knownhosts.Line([]string{knownhosts.Normalize(s.sshHostPort())}, pub) + "\n")
}

func (s *server) sshHostPort() string { return strings.TrimPrefix(s.SSHAddress(), "ssh://git@") }

func (s *server) httpURL(repo string) string { return s.HTTPAddress() + "/" + repo }

func (s *server) counts() (int64, int64) { return s.refGETs.Load(), s.packPOSTs.Load() }

// source is a repository made with go-git, pushed to a server.
type source struct {
	*testRepo
	n int
}

func newSource(t *testing.T) *source { return &source{testRepo: newRepo(t)} }

var sig = func(n int) *object.Signature {
	return &object.Signature{Name: "t", Email: "t@example.invalid", When: time.Date(2026, 11, 1, 0, n, 0, 0, time.UTC)}
}

func (s *source) commit(files map[string]string) string {
	s.t.Helper()
	for name, data := range files {
		p := filepath.Join(s.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := s.wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		s.t.Fatal(err)
	}
	s.n++
	h, err := s.wt.Commit(fmt.Sprintf("commit %d", s.n), &git.CommitOptions{Author: sig(s.n), Committer: sig(s.n)})
	if err != nil {
		s.t.Fatal(err)
	}
	return h.String()
}

// tag makes an annotated tag of HEAD.
func (s *source) tag(name string) {
	s.t.Helper()
	head, err := s.repo.Head()
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.repo.CreateTag(name, head.Hash(), &git.CreateTagOptions{Tagger: sig(s.n), Message: name}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *source) push(url string) {
	s.t.Helper()
	rem, err := s.repo.Remote("origin")
	if errors.Is(err, git.ErrRemoteNotFound) {
		rem, err = s.repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
	}
	if err != nil {
		s.t.Fatal(err)
	}
	err = rem.Push(&git.PushOptions{
		RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"},
		Auth:     &githttp.BasicAuth{Username: user, Password: password},
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		s.t.Fatal(err)
	}
}

// checkout checks what Fetch left in dir.
func checkout(t *testing.T, dir, commit string, files map[string]string) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if string(got) != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if head.Hash().String() != commit {
		t.Errorf("HEAD = %s, want %s", head.Hash(), commit)
	}
	wt, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsClean() {
		t.Errorf("checkout not clean:\n%s", st)
	}
}

func shallow(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".git", "shallow"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// noSecret fails when err's message holds a credential.
func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range append([]string{password, token}, secrets...) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error contains a credential: %v", err)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestHTTP(t *testing.T) {
	srv := newServer(t)
	src := newSource(t)
	first := src.commit(map[string]string{"environments/prod/env.cue": "package plinth\n", "README.md": "v1\n"})
	src.tag("v1")
	second := src.commit(map[string]string{"README.md": "v2\n"})
	url := srv.httpURL("env.git")
	src.push(url)
	auth := Auth{Username: user, Password: password}

	got, err := Head(ctx(t), url, Ref{}, auth)
	if err != nil {
		t.Fatal(err)
	}
	if got != second {
		t.Fatalf("Head(main) = %s, want %s", got, second)
	}
	if g, p := srv.counts(); g != 1 || p != 0 {
		t.Errorf("Head made %d ref GETs and %d upload-pack POSTs, want 1 and 0", g, p)
	}

	dir := filepath.Join(t.TempDir(), "checkout")
	fetched, err := Fetch(ctx(t), url, Ref{Branch: "main"}, auth, got, dir)
	if err != nil {
		t.Fatal(err)
	}
	if fetched != second {
		t.Errorf("Fetch = %s, want %s", fetched, second)
	}
	checkout(t, dir, second, map[string]string{"environments/prod/env.cue": "package plinth\n", "README.md": "v2\n"})
	if sh := shallow(t, dir); sh != second {
		t.Errorf(".git/shallow = %q, want %s", sh, second)
	}
	if g, p := srv.counts(); g != 2 || p != 1 {
		t.Errorf("after Fetch: %d ref GETs and %d upload-pack POSTs, want 2 and 1", g, p)
	}
	r, _ := git.PlainOpen(dir)
	if h, err := r.Reference(plumbing.HEAD, false); err != nil || h.Target() != plumbing.NewBranchReferenceName("main") {
		t.Errorf("HEAD = %v %v, want refs/heads/main", h, err)
	}
	if rc, err := r.Remote("origin"); err != nil || rc.Config().URLs[0] != url {
		t.Errorf("origin = %v %v, want %s", rc, err, url)
	}
	if cfg, _ := os.ReadFile(filepath.Join(dir, ".git", "config")); strings.Contains(string(cfg), password) {
		t.Error(".git/config holds the password")
	}

	t.Run("tag", func(t *testing.T) {
		got, err := Head(ctx(t), url, Ref{Tag: "v1"}, auth)
		if err != nil || got != first {
			t.Fatalf("Head(tag v1) = %s %v, want the commit %s", got, err, first)
		}
		dir := t.TempDir()
		fetched, err := Fetch(ctx(t), url, Ref{Tag: "v1"}, auth, got, dir)
		if err != nil || fetched != first {
			t.Fatalf("Fetch(tag v1) = %s %v, want %s", fetched, err, first)
		}
		checkout(t, dir, first, map[string]string{"README.md": "v1\n"})
		r, _ := git.PlainOpen(dir)
		if _, err := r.Tag("v1"); err != nil {
			t.Errorf("tag v1 not recorded: %v", err)
		}
	})

	t.Run("commit", func(t *testing.T) {
		g0, p0 := srv.counts()
		got, err := Head(ctx(t), url, Ref{Commit: strings.ToUpper(first)}, auth)
		if err != nil || got != first {
			t.Fatalf("Head(commit) = %s %v, want %s", got, err, first)
		}
		if g, p := srv.counts(); g != g0 || p != p0 {
			t.Errorf("Head of a commit contacted the server")
		}
		// Not a tip: git's HTTP backend serves it by SHA, depth 1.
		dir := t.TempDir()
		fetched, err := Fetch(ctx(t), url, Ref{Commit: first}, auth, "", dir)
		if err != nil || fetched != first {
			t.Fatalf("Fetch(commit) = %s %v, want %s", fetched, err, first)
		}
		checkout(t, dir, first, map[string]string{"README.md": "v1\n"})
		if sh := shallow(t, dir); sh != first {
			t.Errorf(".git/shallow = %q, want %s", sh, first)
		}
		if g, p := srv.counts(); g != g0+1 || p != p0+1 {
			t.Errorf("Fetch by SHA made %d GETs and %d POSTs, want 1 and 1", g-g0, p-p0)
		}
	})

	t.Run("moves on", func(t *testing.T) {
		third := src.commit(map[string]string{"README.md": "v3\n"})
		src.push(url)
		got, err := Head(ctx(t), url, Ref{}, auth)
		if err != nil || got != third {
			t.Fatalf("Head after a push = %s %v, want %s", got, err, third)
		}
		// The commit an earlier Head returned is still what Fetch gives.
		dir := t.TempDir()
		fetched, err := Fetch(ctx(t), url, Ref{}, auth, second, dir)
		if err != nil || fetched != second {
			t.Fatalf("Fetch(%s) = %s %v", second, fetched, err)
		}
		checkout(t, dir, second, map[string]string{"README.md": "v2\n"})
		// Without a commit Fetch takes the tip.
		dir = t.TempDir()
		fetched, err = Fetch(ctx(t), url, Ref{}, auth, "", dir)
		if err != nil || fetched != third {
			t.Fatalf("Fetch() = %s %v, want %s", fetched, err, third)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := Head(ctx(t), url, Ref{Branch: "nope"}, auth)
		if err == nil || !strings.Contains(err.Error(), `branch nope: not found; branches: main`) {
			t.Errorf("err = %v", err)
		}
		_, err = Fetch(ctx(t), url, Ref{Commit: strings.Repeat("ab", 20)}, auth, "", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), ": commit abababababababababababababababababababab: not reachable from any branch or tag") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestHTTPWrongCredentials(t *testing.T) {
	srv := newServer(t)
	src := newSource(t)
	src.commit(map[string]string{"a": "a\n"})
	url := srv.httpURL("env.git")
	src.push(url)

	wrong := Auth{Username: user, Password: "wrong-" + password}
	_, err := Head(ctx(t), url, Ref{}, wrong)
	noSecret(t, err, wrong.Password)
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Errorf("err = %v, want authentication required", err)
	}
	if !strings.HasPrefix(err.Error(), url+": branch main: ") {
		t.Errorf("err = %v, want the URL and ref first", err)
	}

	dir := filepath.Join(t.TempDir(), "checkout")
	_, err = Fetch(ctx(t), url, Ref{}, wrong, "", dir)
	noSecret(t, err, wrong.Password)
	if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("a failed Fetch left %s behind", dir)
	}

	// A token, and credentials in the URL itself.
	_, err = Head(ctx(t), url, Ref{}, Auth{Password: token})
	noSecret(t, err)
	inURL := strings.Replace(url, "://", "://"+user+":"+token+"@", 1)
	_, err = Head(ctx(t), inURL, Ref{}, Auth{})
	noSecret(t, err)
	if !strings.HasPrefix(err.Error(), url+": ") {
		t.Errorf("err = %v, want the URL without userinfo", err)
	}
	// ... which work when right.
	right := strings.Replace(url, "://", "://"+user+":"+password+"@", 1)
	if _, err := Head(ctx(t), right, Ref{}, Auth{}); err != nil {
		t.Errorf("credentials in the URL: %v", err)
	}
}

// clientKey returns a new SSH private key, PEM-encoded.
func clientKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func TestSSH(t *testing.T) {
	srv := newServer(t)
	knownHosts := srv.startSSH(t)
	src := newSource(t)
	first := src.commit(map[string]string{"env.cue": "package plinth\n"})
	second := src.commit(map[string]string{"env.cue": "package plinth\n// 2\n"})
	src.push(srv.httpURL("env.git"))
	url := srv.SSHAddress() + "/env.git"
	identity := clientKey(t)

	auth, err := AuthFromSecret(map[string][]byte{"identity": identity, "known_hosts": knownHosts})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Head(ctx(t), url, Ref{}, auth)
	if err != nil || got != second {
		t.Fatalf("Head = %s %v, want %s", got, err, second)
	}
	dir := t.TempDir()
	fetched, err := Fetch(ctx(t), url, Ref{}, auth, got, dir)
	if err != nil || fetched != second {
		t.Fatalf("Fetch = %s %v, want %s", fetched, err, second)
	}
	checkout(t, dir, second, map[string]string{"env.cue": "package plinth\n// 2\n"})
	if sh := shallow(t, dir); sh != second {
		t.Errorf(".git/shallow = %q, want %s", sh, second)
	}

	t.Run("commit not a tip", func(t *testing.T) {
		// git upload-pack over SSH refuses a commit that no ref names:
		// Fetch falls back to every branch and tag in full.
		dir := t.TempDir()
		fetched, err := Fetch(ctx(t), url, Ref{Commit: first}, auth, "", dir)
		if err != nil || fetched != first {
			t.Fatalf("Fetch(commit) = %s %v, want %s", fetched, err, first)
		}
		checkout(t, dir, first, map[string]string{"env.cue": "package plinth\n"})
		if sh := shallow(t, dir); sh != "" {
			t.Errorf(".git/shallow = %q after a full fetch", sh)
		}
	})

	t.Run("unknown host key", func(t *testing.T) {
		other, err := ssh.NewSignerFromKey(mustKey(t))
		if err != nil {
			t.Fatal(err)
		}
		kh := knownhosts.Line([]string{knownhosts.Normalize(srv.sshHostPort())}, other.PublicKey()) + "\n"
		bad := Auth{Identity: identity, KnownHosts: []byte(kh)}
		_, err = Head(ctx(t), url, Ref{}, bad)
		if err == nil || !strings.Contains(err.Error(), "host key") || !strings.Contains(err.Error(), "is not known") {
			t.Fatalf("err = %v, want the host key refused as not known", err)
		}
		noSecret(t, err, secretLines(identity)...)

		// known_hosts for another host only.
		kh = knownhosts.Line([]string{"git.example.invalid"}, other.PublicKey()) + "\n"
		_, err = Fetch(ctx(t), url, Ref{}, Auth{Identity: identity, KnownHosts: []byte(kh)}, "", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "is not known: known_hosts lists no key for this host") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("no known_hosts", func(t *testing.T) {
		_, err := AuthFromSecret(map[string][]byte{"identity": identity})
		if err == nil || !strings.Contains(err.Error(), "identity without known_hosts") {
			t.Fatalf("AuthFromSecret err = %v", err)
		}
		noSecret(t, err, secretLines(identity)...)
		_, err = Head(ctx(t), url, Ref{}, Auth{Identity: identity})
		if err == nil || !strings.Contains(err.Error(), "ssh needs known_hosts") {
			t.Fatalf("Head err = %v", err)
		}
	})
}

func mustKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func secretLines(pemKey []byte) []string {
	var out []string
	for line := range strings.Lines(string(pemKey)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

func TestFile(t *testing.T) {
	src := newSource(t)
	first := src.commit(map[string]string{"env.cue": "package plinth\n"})
	src.tag("v1")
	second := src.commit(map[string]string{"env.cue": "package plinth\n// 2\n", "sub/dir/x.yaml": "x: 1\n"})
	url := "file://" + filepath.ToSlash(src.dir)

	got, err := Head(ctx(t), url, Ref{}, Auth{})
	if err != nil || got != second {
		t.Fatalf("Head = %s %v, want %s", got, err, second)
	}
	dir := t.TempDir()
	fetched, err := Fetch(ctx(t), url, Ref{}, Auth{}, got, dir)
	if err != nil || fetched != second {
		t.Fatalf("Fetch = %s %v, want %s", fetched, err, second)
	}
	checkout(t, dir, second, map[string]string{"env.cue": "package plinth\n// 2\n", "sub/dir/x.yaml": "x: 1\n"})
	if sh := shallow(t, dir); sh != second {
		t.Errorf(".git/shallow = %q, want %s", sh, second)
	}
	r, _ := git.PlainOpen(dir)
	if _, err := r.CommitObject(plumbing.NewHash(first)); err == nil {
		t.Error("the parent commit was copied too: not shallow")
	}

	got, err = Head(ctx(t), url, Ref{Tag: "v1"}, Auth{})
	if err != nil || got != first {
		t.Fatalf("Head(tag) = %s %v, want %s", got, err, first)
	}
	dir = t.TempDir()
	if fetched, err := Fetch(ctx(t), url, Ref{Tag: "v1"}, Auth{}, "", dir); err != nil || fetched != first {
		t.Fatalf("Fetch(tag) = %s %v, want %s", fetched, err, first)
	}
	checkout(t, dir, first, map[string]string{"env.cue": "package plinth\n"})

	dir = t.TempDir()
	if fetched, err := Fetch(ctx(t), url, Ref{Commit: first}, Auth{}, first, dir); err != nil || fetched != first {
		t.Fatalf("Fetch(commit) = %s %v, want %s", fetched, err, first)
	}

	// A bare repository on a server works the same.
	srv := newServer(t)
	src.push(srv.httpURL("env.git"))
	got, err = Head(ctx(t), "file://"+filepath.ToSlash(filepath.Join(srv.Root(), "env.git")), Ref{}, Auth{})
	if err != nil || got != second {
		t.Fatalf("Head(bare) = %s %v, want %s", got, err, second)
	}

	_, err = Head(ctx(t), "file://"+filepath.ToSlash(t.TempDir()), Ref{}, Auth{})
	if err == nil || !strings.Contains(err.Error(), "no git repository there") {
		t.Errorf("err = %v", err)
	}
}

func TestFetchRefusesSymlinks(t *testing.T) {
	src := newSource(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(src.dir, "leak")); err != nil {
		t.Fatal(err)
	}
	src.commit(map[string]string{"env.cue": "package plinth\n"})
	dir := t.TempDir()
	_, err := Fetch(ctx(t), "file://"+filepath.ToSlash(src.dir), Ref{}, Auth{}, "", dir)
	if err == nil || !strings.Contains(err.Error(), "leak is a symlink") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed Fetch left %d entries in %s", len(entries), dir)
	}
}

func TestFetchNeedsAnEmptyDir(t *testing.T) {
	src := newSource(t)
	src.commit(map[string]string{"env.cue": "package plinth\n"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Fetch(ctx(t), "file://"+filepath.ToSlash(src.dir), Ref{}, Auth{}, "", dir)
	if err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err != nil {
		t.Error("Fetch touched a non-empty directory")
	}
}

func TestRefAndURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		ref  Ref
		want string
	}{
		{"file:///x", Ref{Branch: "a", Tag: "b"}, "ref sets branch and tag: set exactly one"},
		{"file:///x", Ref{Branch: "refs/heads/main"}, "without refs/"},
		{"file:///x", Ref{Tag: "a..b"}, "not a valid git ref name"},
		{"file:///x", Ref{Commit: "abc123"}, "not a full 40-digit"},
		{"git@github.com:org/repo.git", Ref{}, "scp-like user@host:path is not supported"},
		{"ftp://host/x", Ref{}, `scheme "ftp" is not supported`},
		{"ssh://git:" + password + "@host/x", Ref{}, "ssh takes no password"},
		{"https://" + user + ":" + password + "@host:bad/x", Ref{}, "does not parse"},
		{"file://host/x", Ref{}, "a file URL names no host"},
	} {
		_, err := Head(t.Context(), tc.url, tc.ref, Auth{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Head(%s, %v) err = %v, want %q", strings.ReplaceAll(tc.url, password, "…"), tc.ref, err, tc.want)
		}
		if err != nil {
			noSecret(t, err)
		}
	}
	if got, err := Head(t.Context(), "https://host/x", Ref{Commit: strings.Repeat("AB", 20)}, Auth{}); err != nil || got != strings.Repeat("ab", 20) {
		t.Errorf("Head(commit) = %s %v", got, err)
	}
	if _, err := Fetch(t.Context(), "https://host/x", Ref{Commit: strings.Repeat("ab", 20)}, Auth{}, strings.Repeat("cd", 20), t.TempDir()); err == nil {
		t.Error("Fetch of a commit other than Ref.Commit: want an error")
	}
}

func TestAuthFromSecret(t *testing.T) {
	identity := clientKey(t)
	kh := []byte(knownhosts.Line([]string{"git.example.invalid"}, mustSigner(t).PublicKey()) + "\n")
	for _, tc := range []struct {
		name string
		data map[string][]byte
		want Auth
		err  string
	}{
		{name: "basic", data: map[string][]byte{"username": []byte(user), "password": []byte(password), "other": []byte("x")},
			want: Auth{Username: user, Password: password}},
		{name: "token", data: map[string][]byte{"token": []byte(token)}, want: Auth{Password: token}},
		{name: "same password and token", data: map[string][]byte{"password": []byte(token), "token": []byte(token)}, want: Auth{Password: token}},
		{name: "different password and token", data: map[string][]byte{"password": []byte(password), "token": []byte(token)}, err: "password and token differ"},
		{name: "ssh", data: map[string][]byte{"identity": identity, "known_hosts": kh}, want: Auth{Identity: identity, KnownHosts: kh}},
		{name: "identity alone", data: map[string][]byte{"identity": identity}, err: "identity without known_hosts"},
		{name: "bad identity", data: map[string][]byte{"identity": []byte(password), "known_hosts": kh}, err: "not an SSH private key"},
		{name: "bad known_hosts", data: map[string][]byte{"identity": identity, "known_hosts": []byte("# c\nhost ssh-ed25519 !!!\n")}, err: "known_hosts line 2"},
		{name: "empty", data: nil, want: Auth{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AuthFromSecret(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				noSecret(t, err, secretLines(identity)...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != tc.want.Username || got.Password != tc.want.Password ||
				string(got.Identity) != string(tc.want.Identity) || string(got.KnownHosts) != string(tc.want.KnownHosts) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	a := Auth{Username: user, Password: password, Identity: identity, KnownHosts: kh}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		s := fmt.Sprintf(format, a)
		for _, secret := range append([]string{password}, secretLines(identity)...) {
			if strings.Contains(s, secret) {
				t.Errorf("%s prints a credential: %s", format, s)
			}
		}
	}
}

func mustSigner(t *testing.T) ssh.Signer {
	s, err := ssh.NewSignerFromKey(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A server that accepts connections and never answers is given up on when
// the context ends, over SSH (whose dial ignores contexts) and HTTP.
func TestContextEndsAHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	defer func() {
		ln.Close()
		for len(held) > 0 {
			(<-held).Close()
		}
	}()
	kh := []byte(knownhosts.Line([]string{knownhosts.Normalize(ln.Addr().String())}, mustSigner(t).PublicKey()) + "\n")
	auth := Auth{Identity: clientKey(t), KnownHosts: kh}
	for _, url := range []string{"ssh://git@" + ln.Addr().String() + "/env.git", "http://" + ln.Addr().String() + "/env.git"} {
		c, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		start := time.Now()
		_, err := Head(c, url, Ref{}, auth)
		cancel()
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want the deadline", url, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: Head took %s after a 300ms deadline", url, d)
		}
	}
}

func TestLimitedReader(t *testing.T) {
	read := func(data string, limit int64) error {
		_, err := io.ReadAll(newLimitedReader(t.Context(), strings.NewReader(data), limit, "data"))
		return err
	}
	if err := read("12345", 5); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
	if err := read("123456", 5); err == nil || !strings.Contains(err.Error(), "data exceeds") {
		t.Errorf("beyond the limit: %v", err)
	}
	body := &limitedBody{ReadCloser: io.NopCloser(strings.NewReader("123456")), left: 5}
	if _, err := io.ReadAll(body); !errors.Is(err, ErrTooLarge) {
		t.Errorf("body beyond the limit: %v", err)
	}
}

func TestIdentityWithPassphrase(t *testing.T) {
	block, err := ssh.MarshalPrivateKeyWithPassphrase(mustKey(t), "", []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	identity := pem.EncodeToMemory(block)
	kh := []byte(knownhosts.Line([]string{"git.example.invalid"}, mustSigner(t).PublicKey()) + "\n")
	if _, err := AuthFromSecret(map[string][]byte{"identity": identity, "known_hosts": kh, "password": []byte(password)}); err != nil {
		t.Errorf("with the passphrase: %v", err)
	}
	_, err = AuthFromSecret(map[string][]byte{"identity": identity, "known_hosts": kh})
	if err == nil || !strings.Contains(err.Error(), "protected by a passphrase") {
		t.Errorf("without the passphrase: %v", err)
	}
	_, err = AuthFromSecret(map[string][]byte{"identity": identity, "known_hosts": kh, "password": []byte(token)})
	if err == nil || !strings.Contains(err.Error(), "does not decrypt it") {
		t.Errorf("with a wrong passphrase: %v", err)
	}
	noSecret(t, err, secretLines(identity)...)
}
