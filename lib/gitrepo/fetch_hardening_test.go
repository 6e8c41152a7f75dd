package gitrepo

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// A commit whose tree plinth refuses fails Fetch with a
// *RefusedError in the chain, over HTTP and file://, with the
// message it always had; a failure that is not the tree's is not one.
func TestFetchRefusedIsTyped(t *testing.T) {
	srv := newServer(t)
	src := newSource(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(src.dir, "leak")); err != nil {
		t.Fatal(err)
	}
	commit := src.commit(map[string]string{"env.cue": "package plinth\n"})
	url := srv.httpURL("env.git")
	src.push(url)
	auth := Auth{Username: user, Password: password}

	for _, u := range []string{url, "file://" + filepath.ToSlash(src.dir)} {
		dir := filepath.Join(t.TempDir(), "checkout")
		_, err := Fetch(ctx(t), u, Ref{}, auth, "", dir)
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("%s: err = %v, want a *RefusedError", u, err)
		}
		if refused.Commit.String() != commit || refused.Path != "leak" {
			t.Errorf("%s: refused %s %q, want %s %q", u, refused.Commit, refused.Path, commit, "leak")
		}
		want := ": branch main: commit " + commit[:7] + ": leak is a symlink; plinth reads no symlinks from a repository"
		if !strings.HasSuffix(err.Error(), want) || !strings.HasPrefix(err.Error(), u) {
			t.Errorf("%s: err = %v", u, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a refused Fetch left %s behind", u, dir)
		}
	}

	_, err := Fetch(ctx(t), url, Ref{}, Auth{Username: user, Password: "wrong-" + password}, "", t.TempDir())
	var refused *RefusedError
	if err == nil || errors.As(err, &refused) {
		t.Errorf("wrong credentials: err = %v, want an error that is no refusal", err)
	}
}

// hostile is a hand-written smart-HTTP git server (protocol v0, no
// side-band, no shallow) whose replies are given raw: the ref
// advertisement and the upload-pack result, for what a real server does
// not send. It counts the requests it gets.
type hostile struct {
	*httptest.Server
	refs, pack         []byte
	gets, posts, other atomic.Int64
}

func newHostile(t *testing.T, refs, pack []byte) *hostile {
	h := &hostile{refs: refs, pack: pack}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			h.gets.Add(1)
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			w.Write(h.refs)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			h.posts.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			w.Write(h.pack)
		default:
			h.other.Add(1)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// advertise is an upload-pack ref advertisement: each pair a hash and a
// ref name, the first line carrying the capabilities.
func advertise(pairs ...string) []byte {
	var b strings.Builder
	b.WriteString(pkt("# service=git-upload-pack\n") + "0000")
	for i := 0; i < len(pairs); i += 2 {
		line := pairs[i] + " " + pairs[i+1]
		if i == 0 {
			line += "\x00ofs-delta no-progress agent=hostile/1"
		}
		b.WriteString(pkt(line + "\n"))
	}
	b.WriteString("0000")
	return []byte(b.String())
}

// crafted is a pack built object by object in memory storage: trees are
// written byte by byte, so that their entry names can be what git never
// writes.
type crafted struct {
	t      *testing.T
	sto    *memory.Storage
	hashes []plumbing.Hash
}

func newCrafted(t *testing.T) *crafted { return &crafted{t: t, sto: memory.NewStorage()} }

func (c *crafted) put(typ plumbing.ObjectType, data []byte) plumbing.Hash {
	c.t.Helper()
	obj := c.sto.NewEncodedObject()
	obj.SetType(typ)
	w, _ := obj.Writer()
	w.Write(data)
	w.Close()
	h, err := c.sto.SetEncodedObject(obj)
	if err != nil {
		c.t.Fatal(err)
	}
	c.hashes = append(c.hashes, h)
	return h
}

// tree stores a tree of (octal mode, name, hash) triples, in the order
// given.
func (c *crafted) tree(entries ...any) plumbing.Hash {
	var raw bytes.Buffer
	for i := 0; i < len(entries); i += 3 {
		h := entries[i+2].(plumbing.Hash)
		fmt.Fprintf(&raw, "%s %s\x00", entries[i], entries[i+1])
		raw.Write(h[:])
	}
	return c.put(plumbing.TreeObject, raw.Bytes())
}

func (c *crafted) commit(tree plumbing.Hash) plumbing.Hash {
	c.t.Helper()
	co := &object.Commit{Author: *sig(1), Committer: *sig(1), Message: "crafted\n", TreeHash: tree}
	obj := c.sto.NewEncodedObject()
	if err := co.Encode(obj); err != nil {
		c.t.Fatal(err)
	}
	r, _ := obj.Reader()
	data, _ := io.ReadAll(r)
	return c.put(plumbing.CommitObject, data)
}

// uploadPackResult is the server's reply to a fetch: NAK, then the pack.
func (c *crafted) uploadPackResult() []byte {
	c.t.Helper()
	var b bytes.Buffer
	b.WriteString(pkt("NAK\n"))
	if _, err := packfile.NewEncoder(&b, c.sto, false).Encode(c.hashes, 0); err != nil {
		c.t.Fatal(err)
	}
	return b.Bytes()
}

// sandbox is a fresh parent directory with a sentinel directory in it;
// target is where Fetch is to check out.
type sandbox struct {
	parent, target string
}

func newSandbox(t *testing.T) sandbox {
	parent := t.TempDir()
	if err := os.Mkdir(filepath.Join(parent, "sentinel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "sentinel", "keep"), []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sandbox{parent: parent, target: filepath.Join(parent, "checkout")}
}

// check fails unless the parent holds the sentinel as it was and, when
// checkedOut, the target; else nothing more.
func (s sandbox) check(t *testing.T, checkedOut bool) {
	t.Helper()
	var names []string
	err := filepath.WalkDir(s.parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.parent, p)
		if checkedOut && (rel == "checkout" || strings.HasPrefix(rel, "checkout"+string(filepath.Separator))) {
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("%s is a symlink", p)
			}
			return nil
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "sentinel", "sentinel/keep"}; !slices.Equal(names, want) {
		t.Errorf("the parent directory holds %q, want %q", names, want)
	}
	if b, err := os.ReadFile(filepath.Join(s.parent, "sentinel", "keep")); err != nil || string(b) != "keep\n" {
		t.Errorf("sentinel/keep: %q %v", b, err)
	}
}

// A server advertising ref names that climb out of refs/ (../), replying
// with garbage pkt-lines, or sending a truncated or crafted pack: Head
// and Fetch fail with an error naming the URL (no credentials), nothing
// is written outside the target directory, which is removed again.
func TestHostileServer(t *testing.T) {
	c := newCrafted(t)
	blob := c.put(plumbing.BlobObject, []byte("package plinth\n"))
	good := c.commit(c.tree("100644", "env.cue", blob))
	goodPack := c.uploadPackResult()

	e := newCrafted(t)
	eblob := e.put(plumbing.BlobObject, []byte("#!/bin/sh\ntouch pwned\n"))
	hooks := e.tree("100755", "post-checkout", eblob)
	escape := e.commit(e.tree("40000", ".git", e.tree("40000", "hooks", hooks), "100644", "env.cue", eblob))
	escapePack := e.uploadPackResult()

	d := newCrafted(t)
	dblob := d.put(plumbing.BlobObject, []byte("x\n"))
	dotdot := d.commit(d.tree("40000", "a", d.tree("100644", "..", dblob, "100644", "../../../../escaped", dblob)))
	dotdotPack := d.uploadPackResult()

	climb := "refs/heads/" + strings.Repeat("../", 4) + "escaped"
	climbAbs := "refs/heads/" + strings.Repeat("../", 30) + "tmp/plinth-hostile-ref"
	hostileRefs := advertise(good.String(), "HEAD", good.String(), "refs/heads/main", good.String(), climb, good.String(), climbAbs,
		good.String(), "refs/tags/../../../../escaped-tag")

	for _, tc := range []struct {
		name       string
		refs, pack []byte
		ref        Ref
		headErr    string // "" when Head succeeds
		fetchErr   string // "" when Fetch succeeds
		refused    bool
	}{
		{name: "ref names with ../, good pack", refs: hostileRefs, pack: goodPack, ref: Ref{}},
		{name: "ref names with ../ only", refs: advertise(good.String(), climb, good.String(), climbAbs), pack: goodPack, ref: Ref{},
			headErr: "not found; the repository has no branches", fetchErr: "not found; the repository has no branches"},
		{name: "pkt-line not hex", refs: []byte(pkt("# service=git-upload-pack\n") + "0000zzzzgarbage"), ref: Ref{},
			headErr: "listing refs: ", fetchErr: "listing refs: "},
		{name: "pkt-line length below 4", refs: []byte(pkt("# service=git-upload-pack\n") + "0000" + "0002"), ref: Ref{},
			headErr: "listing refs: ", fetchErr: "listing refs: "},
		{name: "pkt-line longer than the reply", refs: []byte(pkt("# service=git-upload-pack\n") + "0000" + "fff0" + good.String()), ref: Ref{},
			headErr: "listing refs: ", fetchErr: "listing refs: "},
		{name: "no service line", refs: []byte("0000" + good.String() + " refs/heads/main\n"), ref: Ref{},
			headErr: "listing refs: ", fetchErr: "listing refs: "},
		{name: "truncated pack", refs: hostileRefs, pack: goodPack[:len(goodPack)/2], ref: Ref{}, fetchErr: "fetching: "},
		{name: "pack header only, 2^32-1 objects", refs: hostileRefs, pack: []byte(pkt("NAK\n") + "PACK\x00\x00\x00\x02\xff\xff\xff\xff"), ref: Ref{},
			fetchErr: "fetching: the pack claims 4294967295 objects, more than 1048576"},
		{name: "pack header only, MaxPackObjects objects", refs: hostileRefs, pack: []byte(pkt("NAK\n") + "PACK\x00\x00\x00\x02\x00\x10\x00\x00"), ref: Ref{}, fetchErr: "fetching: "},
		{name: "pack with a corrupt byte", refs: hostileRefs, pack: corrupt(goodPack), ref: Ref{}, fetchErr: "fetching: "},
		{name: "garbage instead of NAK", refs: hostileRefs, pack: []byte("zzzz" + string(goodPack)), ref: Ref{}, fetchErr: "fetching: "},
		{name: "ERR line", refs: hostileRefs, pack: []byte(pkt("ERR upload-pack: not our ref\n")), ref: Ref{}, fetchErr: "fetching: "},
		{name: "delta making 1 TiB", refs: hostileRefs, pack: deltaBomb(good, 1<<40), ref: Ref{},
			fetchErr: "fetching: the pack's delta at offset 12 makes 1048576 MiB, more than 128 MiB"},
		{name: "delta target size overflowing", refs: hostileRefs, pack: deltaBomb(good, -1), ref: Ref{},
			fetchErr: "fetching: the pack's delta at offset 12 makes 9223372036854775807 bytes, more than 128 MiB"},
		{name: "tree with .git/hooks", refs: advertise(escape.String(), "refs/heads/main"), pack: escapePack, ref: Ref{},
			fetchErr: `commit ` + escape.String()[:7] + `: path ".git" enters .git`, refused: true},
		{name: "tree with .. and ../ names", refs: advertise(dotdot.String(), "refs/heads/main"), pack: dotdotPack, ref: Ref{},
			fetchErr: `commit ` + dotdot.String()[:7] + `: path "a/.." leaves the tree`, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHostile(t, tc.refs, tc.pack)
			url := srv.URL + "/env.git"
			auth := Auth{Username: user, Password: password}
			sb := newSandbox(t)

			_, err := Head(ctx(t), url, tc.ref, auth)
			switch {
			case tc.headErr == "" && err != nil:
				t.Errorf("Head: %v", err)
			case tc.headErr != "":
				noSecret(t, err)
				if !strings.HasPrefix(err.Error(), url+": branch main: ") || !strings.Contains(err.Error(), tc.headErr) {
					t.Errorf("Head err = %v, want the URL and %q", err, tc.headErr)
				}
			}

			got, err := Fetch(ctx(t), url, tc.ref, auth, "", sb.target)
			if tc.fetchErr == "" {
				if err != nil || got != good.String() {
					t.Fatalf("Fetch = %s %v, want %s", got, err, good)
				}
				sb.check(t, true)
				// Only the branch asked for is a ref in the checkout.
				refs, err := os.ReadDir(filepath.Join(sb.target, ".git", "refs", "heads"))
				if err != nil || len(refs) != 1 || refs[0].Name() != "main" {
					t.Errorf("refs/heads holds %v %v", refs, err)
				}
				if _, err := os.Stat(filepath.Join(sb.target, "escaped")); err == nil {
					t.Error("a hostile ref name was written into the checkout")
				}
				return
			}
			noSecret(t, err)
			t.Log(err)
			if !strings.HasPrefix(err.Error(), url+": branch main: ") || !strings.Contains(err.Error(), tc.fetchErr) {
				t.Errorf("Fetch err = %v, want the URL and %q", err, tc.fetchErr)
			}
			var refused *RefusedError
			if errors.As(err, &refused) != tc.refused {
				t.Errorf("Fetch err = %v: refused is %v, want %v", err, !tc.refused, tc.refused)
			}
			sb.check(t, false)
		})
	}
	if _, err := os.Lstat("/tmp/plinth-hostile-ref"); err == nil {
		t.Error("a hostile ref name was written to /tmp/plinth-hostile-ref")
	}
}

// deltaBomb is an upload-pack result whose pack holds one delta on base
// claiming a target of size bytes (-1: a size varint too long for 64
// bits).
func deltaBomb(base plumbing.Hash, size int64) []byte {
	varint := func(n uint64) []byte {
		var b []byte
		for n >= 0x80 {
			b = append(b, byte(n)|0x80)
			n >>= 7
		}
		return append(b, byte(n))
	}
	delta := varint(15)
	if size < 0 {
		delta = append(delta, bytes.Repeat([]byte{0xff}, 12)...)
		delta = append(delta, 1)
	} else {
		delta = append(delta, varint(uint64(size))...)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(delta)
	zw.Close()
	var b bytes.Buffer
	b.WriteString(pkt("NAK\n"))
	b.WriteString("PACK\x00\x00\x00\x02\x00\x00\x00\x01")
	n := len(delta)
	b.WriteByte(0x70 | byte(n&0x0f) | 0x80) // REF_DELTA, size continues
	n >>= 4
	for n >= 0x80 {
		b.WriteByte(byte(n) | 0x80)
		n >>= 7
	}
	b.WriteByte(byte(n))
	b.Write(base[:])
	b.Write(z.Bytes())
	sum := sha1.Sum(b.Bytes()[len(pkt("NAK\n")):])
	b.Write(sum[:])
	return b.Bytes()
}

// corrupt flips a byte in the middle of an upload-pack result's pack.
func corrupt(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0xff
	return b
}

// A ref or URL that reads as a command-line option (argument injection,
// CVE-2025-21613 and kin) is refused before any transport call: the
// server sees no request, no command runs, no directory is made.
func TestOptionLikeRefsAndURLsAreRefused(t *testing.T) {
	c := newCrafted(t)
	good := c.commit(c.tree("100644", "env.cue", c.put(plumbing.BlobObject, []byte("package plinth\n"))))
	srv := newHostile(t, advertise(good.String(), "refs/heads/main"), c.uploadPackResult())
	marker := filepath.Join(t.TempDir(), "pwned")
	url := srv.URL + "/env.git"
	auth := Auth{Username: user, Password: password}
	host := strings.TrimPrefix(srv.URL, "http://")

	for _, tc := range []struct {
		url  string
		ref  Ref
		want string
	}{
		{url, Ref{Branch: "-x"}, `branch "-x": not a valid git ref name`},
		{url, Ref{Branch: "--upload-pack=touch " + marker}, "not a valid git ref name"},
		{url, Ref{Branch: "--upload-pack=touch"}, `branch "--upload-pack=touch": not a valid git ref name`},
		{url, Ref{Tag: "--upload-pack=touch"}, `tag "--upload-pack=touch": not a valid git ref name`},
		{url, Ref{Tag: "-oProxyCommand=touch"}, "not a valid git ref name"},
		{url, Ref{Commit: "--upload-pack=touch " + marker}, "not a full 40-digit hexadecimal SHA"},
		{"--upload-pack=touch " + marker, Ref{}, `scheme "" is not supported`},
		{"-oProxyCommand=touch " + marker, Ref{}, `scheme "" is not supported`},
		{"--upload-pack=touch " + marker + " " + url, Ref{}, `scheme "" is not supported`},
		{"ext::sh -c touch% " + marker, Ref{}, `scheme "ext" is not supported`},
		{"-oProxyCommand=touch:" + marker, Ref{}, "scp-like user@host:path is not supported"},
		{"ssh://-oProxyCommand=touch/env.git", Ref{}, "a host or user may not start with -"},
		{"ssh://-oProxyCommand=touch@" + host + "/env.git", Ref{}, "a host or user may not start with -"},
		{"http://-oProxyCommand=touch@" + host + "/env.git", Ref{}, "a host or user may not start with -"},
		{"file://--upload-pack=touch/" + marker, Ref{}, "a host or user may not start with -"},
	} {
		for _, op := range []string{"Head", "Fetch"} {
			dir := filepath.Join(t.TempDir(), "checkout")
			var err error
			if op == "Head" {
				_, err = Head(ctx(t), tc.url, tc.ref, auth)
			} else {
				_, err = Fetch(ctx(t), tc.url, tc.ref, auth, "", dir)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s(%q, %v) err = %v, want %q", op, tc.url, tc.ref, err, tc.want)
			}
			if err != nil {
				noSecret(t, err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s(%q, %v) made %s", op, tc.url, tc.ref, dir)
			}
		}
	}
	if n := srv.gets.Load() + srv.posts.Load() + srv.other.Load(); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
	if _, err := os.Lstat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists: a command ran", marker)
	}
	// The same server serves an ordinary ref: the count above is real.
	if got, err := Head(ctx(t), url, Ref{}, auth); err != nil || got != good.String() {
		t.Fatalf("Head = %s %v", got, err)
	}
	if srv.gets.Load() != 1 {
		t.Errorf("the server counted %d ref requests for one Head", srv.gets.Load())
	}
}

// pushTo pushes every branch and tag to url (push pushes to the first URL
// it was given).
func (s *source) pushTo(url string) {
	s.t.Helper()
	rem, err := s.repo.CreateRemoteAnonymous(&config.RemoteConfig{Name: "anonymous", URLs: []string{url}})
	if err != nil {
		s.t.Fatal(err)
	}
	err = rem.Push(&git.PushOptions{
		RemoteName: "anonymous",
		RefSpecs:   []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"},
		Auth:       &githttp.BasicAuth{Username: user, Password: password},
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		s.t.Fatal(err)
	}
}

// recorded is one request a server got.
type recorded struct {
	method, target, host string
	header               http.Header
}

// recorder is an HTTP server on another host (127.0.0.2) that records
// every request and passes it to next.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newRecorder(t *testing.T, next http.Handler) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	rec := &recorder{}
	rec.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{method: r.Method, target: r.RequestURI, host: r.Host, header: r.Header.Clone()})
		rec.mu.Unlock()
		next.ServeHTTP(w, r)
	}))
	rec.Listener.Close()
	rec.Listener = ln
	rec.Start()
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// noCredentials fails if a request carries an Authorization header or a
// credential anywhere in its target, host or headers.
func noCredentials(t *testing.T, reqs []recorded) {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, r := range reqs {
		if v := r.header.Get("Authorization"); v != "" {
			t.Errorf("%s %s reached the other host with Authorization %q", r.method, r.target, v)
		}
		texts := []string{r.target, r.host}
		for k, vs := range r.header {
			texts = append(texts, k+": "+strings.Join(vs, ", "))
		}
		for _, s := range texts {
			for _, secret := range []string{password, token, basic} {
				if strings.Contains(s, secret) {
					t.Errorf("%s %s reached the other host with a credential in %q", r.method, r.target, s)
				}
			}
		}
	}
}

// A git server that redirects to another host: go-git (v5.19) follows a
// redirect of the first request (the ref advertisement) as git does, and
// sends the other host neither the Authorization header nor the URL's
// credentials, there or on the fetch's POST that follows; a redirect of
// the POST is refused. Errors and the checkout hold no credential.
func TestRedirectToAnotherHostGetsNoCredentials(t *testing.T) {
	src := newSource(t)
	commit := src.commit(map[string]string{"env.cue": "package plinth\n"})

	// The other host: a real git server without auth, behind a recorder.
	mirror, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(mirror.Root()) })
	mirror.AutoCreate()
	if err := mirror.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mirror.StopHTTP)
	src.pushTo(mirror.HTTPAddress() + "/env.git")
	mirrorURL, err := neturl.Parse(mirror.HTTPAddress())
	if err != nil {
		t.Fatal(err)
	}
	other := newRecorder(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private.git/") {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		httputil.NewSingleHostReverseProxy(mirrorURL).ServeHTTP(w, r)
	}))

	// The origin: a real git server with auth that redirects the request
	// kinds set in redirect, once each, to the other host.
	var redirectGET, redirectPOST atomic.Pointer[string]
	origin := newServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			to := &redirectPOST
			if r.Method == http.MethodGet {
				to = &redirectGET
			}
			if base := to.Swap(nil); base != nil {
				path := strings.Replace(r.URL.Path, "/env.git/", "/"+*base+"/", 1)
				http.Redirect(w, r, other.URL+path+"?"+r.URL.RawQuery, http.StatusFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	url := origin.httpURL("env.git")
	src.pushTo(url)
	withAuth := Auth{Username: user, Password: password}
	inURL := strings.Replace(url, "://", "://"+user+":"+password+"@", 1)
	repo := func(s string) *string { return &s }

	for _, tc := range []struct {
		name string
		url  string
		auth Auth
	}{
		{"Auth", url, withAuth},
		{"credentials in the URL", inURL, Auth{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(other.requests())
			redirectGET.Store(repo("env.git"))
			got, err := Head(ctx(t), tc.url, Ref{}, tc.auth)
			if err != nil || got != commit {
				t.Fatalf("Head through the redirect = %s %v, want %s", got, err, commit)
			}

			redirectGET.Store(repo("env.git"))
			sb := newSandbox(t)
			got, err = Fetch(ctx(t), tc.url, Ref{}, tc.auth, "", sb.target)
			if err != nil || got != commit {
				t.Fatalf("Fetch through the redirect = %s %v, want %s", got, err, commit)
			}
			reqs := other.requests()[before:]
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.method)
			}
			if !slices.Equal(methods, []string{"GET", "GET", "POST"}) {
				t.Errorf("the other host got %v, want GET (Head), GET and POST (Fetch)", methods)
			}
			noCredentials(t, reqs)
			cfg, err := os.ReadFile(filepath.Join(sb.target, ".git", "config"))
			if err != nil || strings.Contains(string(cfg), password) || strings.Contains(string(cfg), token) || !strings.Contains(string(cfg), "url = "+url+"\n") {
				t.Errorf(".git/config: %v\n%s", err, cfg)
			}

			// The other host wants credentials: it never gets them, and
			// the error holds none.
			before = len(other.requests())
			redirectGET.Store(repo("private.git"))
			_, err = Head(ctx(t), tc.url, Ref{}, tc.auth)
			noSecret(t, err)
			if !errors.Is(err, transport.ErrAuthenticationRequired) || !strings.HasPrefix(err.Error(), url+": branch main: ") {
				t.Errorf("err = %v, want authentication required, after the URL without credentials", err)
			}
			noCredentials(t, other.requests()[before:])

			// A redirect of the POST is not followed.
			before = len(other.requests())
			redirectPOST.Store(repo("env.git"))
			sb = newSandbox(t)
			_, err = Fetch(ctx(t), tc.url, Ref{}, tc.auth, "", sb.target)
			noSecret(t, err)
			if err == nil || !strings.Contains(err.Error(), "redirect on non-initial request") {
				t.Errorf("err = %v, want the POST's redirect refused", err)
			}
			if n := len(other.requests()) - before; n != 0 {
				t.Errorf("the other host got %d requests after a POST redirect", n)
			}
			sb.check(t, false)
			redirectPOST.Store(nil)
		})
	}

	// The control: a redirect within the origin keeps the credentials,
	// which its auth needs.
	var within atomic.Bool
	originSame := newServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/old.git/") {
				within.Store(true)
				http.Redirect(w, r, strings.Replace(r.URL.Path, "/old.git/", "/env.git/", 1)+"?"+r.URL.RawQuery, http.StatusMovedPermanently)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	src.pushTo(originSame.httpURL("env.git"))
	if got, err := Head(ctx(t), originSame.httpURL("old.git"), Ref{}, withAuth); err != nil || got != commit || !within.Load() {
		t.Errorf("Head through a redirect within the origin = %s %v (redirected %v), want %s", got, err, within.Load(), commit)
	}
}

// setLimit sets a limit for the rest of the test.
func setLimit(t *testing.T, p *int64, v int64) {
	old := *p
	*p = v
	t.Cleanup(func() { *p = old })
}

// heapUse runs f and returns the bytes it allocated on the heap (all
// goroutines, the servers' included) and how much the live heap grew,
// each measured after a GC.
func heapUse(f func()) (allocated, grown int64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(s)
	a0, h0 := s[0].Value.Uint64(), s[1].Value.Uint64()
	f()
	runtime.GC()
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - a0), int64(s[1].Value.Uint64()) - int64(h0)
}

// A repository over a limit (files, directories, bytes, pack size, object
// size) fails Fetch with an error naming the limit, leaves the target as
// it was and writes nothing beside it. A 64 MiB blob of zeros (64 KiB
// packed: a decompression bomb) over MaxObjectBytes is refused without
// being inflated in memory (go-git would inflate it whole): Fetch
// allocates far less than the blob, and keeps nothing.
func TestSizeLimits(t *testing.T) {
	srv := newServer(t)
	auth := Auth{Username: user, Password: password}
	const bomb = 64 << 20

	many := newSource(t)
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("environments/%02d.cue", i)] = "package plinth\n"
	}
	many.commit(files)
	many.pushTo(srv.httpURL("many.git"))

	deep := newSource(t)
	files = map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("environments/e%02d/env.cue", i)] = "package plinth\n"
	}
	deep.commit(files)
	deep.pushTo(srv.httpURL("deep.git"))

	big := newSource(t)
	f, err := os.Create(filepath.Join(big.dir, "bomb.bin"))
	if err == nil {
		err = errors.Join(f.Truncate(bomb), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	big.commit(map[string]string{"env.cue": "package plinth\n"})
	big.pushTo(srv.httpURL("bomb.git"))
	os.Remove(filepath.Join(big.dir, "bomb.bin"))

	noise := newSource(t)
	random := make([]byte, 3<<20)
	rand.Read(random)
	noise.commit(map[string]string{"env.cue": "package plinth\n", "noise.bin": string(random)})
	noise.pushTo(srv.httpURL("noise.git"))

	for _, tc := range []struct {
		name    string
		url     string
		limit   *int64
		value   int64
		want    string
		refused bool
	}{
		{"files", srv.httpURL("many.git"), &MaxFiles, 20, "more than 20 files", true},
		{"directories", srv.httpURL("deep.git"), &MaxFiles, 25, "more than 25 directories", true},
		{"files over file://", "file://" + filepath.ToSlash(many.dir), &MaxFiles, 20, "more than 20 files", true},
		{"object, a decompression bomb", srv.httpURL("bomb.git"), &MaxObjectBytes, 16 << 20, "is 64 MiB, more than 16 MiB", false},
		{"bytes, 1000", srv.httpURL("noise.git"), &MaxBytes, 1000, "tree exceeds 1000 bytes", true},
		{"pack", srv.httpURL("noise.git"), &MaxPackBytes, 1 << 20, "fetching: the pack exceeds 1 MiB", false},
		{"pack over file://", "file://" + filepath.ToSlash(noise.dir), &MaxPackBytes, 1 << 20, "the commit's objects exceeds 1 MiB", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setLimit(t, tc.limit, tc.value)
			sb := newSandbox(t)
			var err error
			allocated, grown := heapUse(func() {
				_, err = Fetch(ctx(t), tc.url, Ref{}, auth, "", sb.target)
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), tc.url+": branch main: ") {
				t.Fatalf("err = %v, want the URL and %q", err, tc.want)
			}
			noSecret(t, err)
			var refused *RefusedError
			if errors.As(err, &refused) != tc.refused {
				t.Errorf("refused = %v, want %v", !tc.refused, tc.refused)
			}
			sb.check(t, false)
			t.Logf("%v; allocated %d MiB, live heap grew %d KiB", err, allocated>>20, grown>>10)
			if allocated > bomb/2 {
				t.Errorf("Fetch allocated %d MiB", allocated>>20)
			}
			if grown > 16<<20 {
				t.Errorf("the live heap grew by %d MiB", grown>>20)
			}
		})
	}
}
