package mirror_test

import (
	"context"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/plinth-platform/plinth/lib/capool"
	"github.com/plinth-platform/plinth/lib/capool/capooltest"
	"github.com/plinth-platform/plinth/lib/image"
	"github.com/plinth-platform/plinth/lib/mirror"
)

// registryServer is an in-process registry that counts the requests
// that write.
type registryServer struct {
	host   string
	writes atomic.Int64 // POST, PUT and PATCH requests
	// failManifest, while set, answers PUTs of manifests of this
	// repository 400: a push that fails after its blobs went up.
	failManifest atomic.Value
}

func newRegistryServer(t *testing.T) *registryServer {
	s := &registryServer{}
	s.failManifest.Store("")
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.writes.Add(1)
		}
		if repo := s.failManifest.Load().(string); repo != "" && r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/manifests/") {
			http.Error(w, `{"errors":[{"code":"MANIFEST_INVALID","message":"injected failure"}]}`, http.StatusBadRequest)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.host = strings.TrimPrefix(srv.URL, "http://")
	return s
}

// push writes m to ref on the registry and returns its digest.
func push(t *testing.T, ref string, m remote.Taggable) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Push(r, m); err != nil {
		t.Fatal(err)
	}
	return digestOf(t, m)
}

func digestOf(t *testing.T, m any) string {
	t.Helper()
	d, err := m.(interface{ Digest() (v1.Hash, error) }).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func randomImage(t *testing.T) v1.Image {
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// headDigest is the digest ref names at its registry, "" when none.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

// images names refs (upstream references) as an environment whose
// network.mirrors.registries maps the upstream registry to
// nexus.bank.local:8443/up does.
func images(t *testing.T, refs ...string) []mirror.Image {
	t.Helper()
	m := image.Mirrors{Registries: map[string]string{}}
	var list []mirror.Image
	for _, s := range refs {
		ref, err := image.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Registries[ref.Registry] = "nexus.bank.local:8443/up"
		list = append(list, mirror.Image{Upstream: ref, Mirror: m.Pull(ref)})
	}
	return list
}

func copyImages(t *testing.T, list []mirror.Image, o mirror.Options) map[string]mirror.Result {
	t.Helper()
	results, err := mirror.Copy(context.Background(), list, o)
	if err != nil {
		t.Fatal(err)
	}
	byImage := map[string]mirror.Result{}
	for _, r := range results {
		byImage[r.Image.String()] = r
	}
	return byImage
}

// wantStatus checks every result's status, and that the digest is the
// source's.
func wantStatus(t *testing.T, results map[string]mirror.Result, want mirror.Status, digests map[string]string) {
	t.Helper()
	for img, r := range results {
		if r.Status != want || r.Err != nil {
			t.Errorf("%s: %s (%v), want %s", img, r.Status, r.Err, want)
		}
		if d := digests[img]; d != "" && r.Digest != d {
			t.Errorf("%s: digest %s, want %s", img, r.Digest, d)
		}
	}
}

// upstreamSet pushes an image by tag, one pinned by tag and digest, one
// by digest only and a multi-platform index, and returns their upstream
// references with the digest each must be copied at.
func upstreamSet(t *testing.T, up string) map[string]string {
	app := push(t, up+"/team/app:v1", randomImage(t))
	db := push(t, up+"/team/db:v2", randomImage(t))
	cacheImg := randomImage(t)
	cache := digestOf(t, cacheImg)
	push(t, up+"/team/cache@"+cache, cacheImg)
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	multi := push(t, up+"/team/multi:v3", idx)
	return map[string]string{
		up + "/team/app:v1":         app,
		up + "/team/db:v2@" + db:    db,
		up + "/team/cache@" + cache: cache,
		up + "/team/multi:v3":       multi,
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Every image goes to the mirror path under --to by digest; a second run
// writes nothing.
func TestCopyBetweenRegistries(t *testing.T) {
	up, dst := newRegistryServer(t), newRegistryServer(t)
	digests := upstreamSet(t, up.host)
	list := images(t, keys(digests)...)
	to, err := mirror.ParseLocation(dst.host)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var done []string
	results := copyImages(t, list, mirror.Options{To: to, Jobs: 3, Done: func(r mirror.Result) {
		mu.Lock()
		defer mu.Unlock()
		done = append(done, r.Image.String())
	}})
	wantStatus(t, results, mirror.Copied, digests)
	if len(done) != len(list) {
		t.Errorf("Done called for %v, want every image", done)
	}
	for img, d := range digests {
		r := results[img]
		if !strings.HasPrefix(r.To, dst.host+"/up/team/") {
			t.Errorf("%s copied to %s, want under %s/up/team/", img, r.To, dst.host)
		}
		if got := headDigest(t, r.To); got != d {
			t.Errorf("%s at %s is %q, want %s", img, r.To, got, d)
		}
	}

	writes := dst.writes.Load()
	wantStatus(t, copyImages(t, list, mirror.Options{To: to}), mirror.Skipped, digests)
	if n := dst.writes.Load() - writes; n != 0 {
		t.Errorf("the second run wrote %d times to the mirror, want none", n)
	}
}

// A dry run resolves and looks, and writes nothing.
func TestDryRun(t *testing.T) {
	up, dst := newRegistryServer(t), newRegistryServer(t)
	digests := upstreamSet(t, up.host)
	list := images(t, keys(digests)...)
	dir := filepath.Join(t.TempDir(), "layout")
	for _, to := range []mirror.Location{{Registry: dst.host}, {Layout: dir}} {
		wantStatus(t, copyImages(t, list, mirror.Options{To: to, DryRun: true}), mirror.WouldCopy, digests)
	}
	if dst.writes.Load() != 0 {
		t.Errorf("a dry run wrote %d times", dst.writes.Load())
	}
	if _, err := mirror.ParseLocation(mirror.LayoutPrefix + dir); err != nil {
		t.Fatal(err)
	}
	copyImages(t, list[:1], mirror.Options{To: mirror.Location{Registry: dst.host}})
	results := copyImages(t, list, mirror.Options{To: mirror.Location{Registry: dst.host}, DryRun: true})
	if r := results[list[0].String()]; r.Status != mirror.Skipped {
		t.Errorf("%s: %s, want skipped once copied", list[0], r.Status)
	}
}

// A copy that failed for one image resumes: the next run copies only
// that one, without sending its blobs again.
func TestResumeAfterFailure(t *testing.T) {
	up, dst := newRegistryServer(t), newRegistryServer(t)
	digests := upstreamSet(t, up.host)
	list := images(t, keys(digests)...)
	to := mirror.Location{Registry: dst.host}

	dst.failManifest.Store("up/team/app")
	results := copyImages(t, list, mirror.Options{To: to, Jobs: 2})
	for img, r := range results {
		want := mirror.Copied
		if strings.Contains(img, "/team/app:") {
			want = mirror.Failed
			if r.Err == nil || !strings.Contains(r.Err.Error(), "injected failure") || !strings.Contains(r.Err.Error(), dst.host+"/up/team/app:v1") {
				t.Errorf("%s: error %v, want the registry's, naming the image", img, r.Err)
			}
		}
		if r.Status != want {
			t.Errorf("%s: %s (%v), want %s", img, r.Status, r.Err, want)
		}
	}

	dst.failManifest.Store("")
	writes := dst.writes.Load()
	results = copyImages(t, list, mirror.Options{To: to, Jobs: 2})
	for img, r := range results {
		want := mirror.Skipped
		if strings.Contains(img, "/team/app:") {
			want = mirror.Copied
		}
		if r.Status != want || r.Digest != digests[img] {
			t.Errorf("%s: %s %s (%v), want %s %s", img, r.Status, r.Digest, r.Err, want, digests[img])
		}
	}
	// The manifest alone: the blobs went up in the first run.
	if n := dst.writes.Load() - writes; n != 1 {
		t.Errorf("the second run wrote %d times, want 1 (the manifest)", n)
	}
}

// A tag whose content is not the digest the environment pins is not
// copied.
func TestDigestMismatchRefused(t *testing.T) {
	up, dst := newRegistryServer(t), newRegistryServer(t)
	tagged := push(t, up.host+"/team/app:v1", randomImage(t))
	other := randomImage(t)
	pinned := push(t, up.host+"/team/app@"+digestOf(t, other), other)
	list := images(t, up.host+"/team/app:v1@"+pinned)
	for _, dry := range []bool{true, false} {
		r := copyImages(t, list, mirror.Options{To: mirror.Location{Registry: dst.host}, DryRun: dry})[list[0].String()]
		if r.Status != mirror.Failed || r.Err == nil || !strings.Contains(r.Err.Error(), tagged) || !strings.Contains(r.Err.Error(), "pins "+pinned) {
			t.Errorf("dry run %v: %s (%v), want refused naming both digests", dry, r.Status, r.Err)
		}
	}
	if dst.writes.Load() != 0 || headDigest(t, dst.host+"/up/team/app:v1") != "" {
		t.Error("the mirror was written")
	}
}

// Across the air gap: upstream to a layout on disk, the layout to the
// mirror.
func TestThroughLayout(t *testing.T) {
	up, dst := newRegistryServer(t), newRegistryServer(t)
	digests := upstreamSet(t, up.host)
	list := images(t, keys(digests)...)
	disk, err := mirror.ParseLocation(mirror.LayoutPrefix + filepath.Join(t.TempDir(), "disk"))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, copyImages(t, list, mirror.Options{To: disk, Jobs: 4}), mirror.Copied, digests)
	wantStatus(t, copyImages(t, list, mirror.Options{To: disk}), mirror.Skipped, digests)

	to := mirror.Location{Registry: dst.host}
	wantStatus(t, copyImages(t, list, mirror.Options{From: disk, To: to, Jobs: 4}), mirror.Copied, digests)
	for img, r := range copyImages(t, list, mirror.Options{To: to}) {
		if r.Status != mirror.Skipped {
			t.Errorf("%s from upstream after the layout: %s (%v), want skipped", img, r.Status, r.Err)
		}
		if got := headDigest(t, r.To); got != digests[img] {
			t.Errorf("%s at %s is %q, want %s", img, r.To, got, digests[img])
		}
	}

	// A disk that holds no layout is no source.
	empty := filepath.Join(t.TempDir(), "empty")
	if _, err := mirror.Copy(context.Background(), list, mirror.Options{From: mirror.Location{Layout: empty}, To: to}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("from a directory without a layout: %v, want an error naming it", err)
	}

	// An image the disk does not carry fails, naming it.
	missing := images(t, up.host+"/team/other:v9")
	r := copyImages(t, missing, mirror.Options{From: disk, To: to})[missing[0].String()]
	if r.Status != mirror.Failed || !strings.Contains(r.Err.Error(), "team/other:v9: not found") {
		t.Errorf("an image not on the disk: %s (%v)", r.Status, r.Err)
	}
}

func TestParseLocation(t *testing.T) {
	for in, want := range map[string]mirror.Location{
		"nexus.bank.local:8445":                    {Registry: "nexus.bank.local:8445"},
		"nexus.bank.local:8081/repository/hosted/": {Registry: "nexus.bank.local:8081/repository/hosted"},
		"localhost:5000":                           {Registry: "localhost:5000"},
		"oci-layout:/media/usb/images":             {Layout: "/media/usb/images"},
	} {
		got, err := mirror.ParseLocation(in)
		if err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %+v, %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"nexus", "https://nexus.bank.local", "oci-layout:", "Nexus.bank.local/UP", ""} {
		if _, err := mirror.ParseLocation(in); err == nil {
			t.Errorf("ParseLocation(%q) succeeded", in)
		}
	}
}

// A bank's registry: HTTPS with a certificate from a private CA, behind
// basic auth whose password is in Docker's config.json. Each is needed,
// each missing one fails saying so, and the password appears nowhere.
func TestPrivateCAAndCredentials(t *testing.T) {
	const user, password = "mirror", "pa55-SENTINEL-9d2c"
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	up := newRegistryServer(t)
	srv := ca.Server(t, capooltest.BasicAuth(user, password, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	dst := mirror.Location{Registry: strings.TrimPrefix(srv.URL, "https://")}
	digest := push(t, up.host+"/team/app:v1", randomImage(t))
	list := images(t, up.host+"/team/app:v1")

	withCA, err := capool.Transport(nil, ca.Pool())
	if err != nil {
		t.Fatal(err)
	}
	config := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	if err := os.WriteFile(filepath.Join(config, "config.json"), []byte(`{"auths": {"`+dst.Registry+`": {"auth": "`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		transport http.RoundTripper
		config    string
		want      string
	}{
		{"no CA", nil, config, "certificate signed by unknown authority"},
		{"no credentials", withCA, t.TempDir(), "401"},
		{"both", withCA, config, ""},
	} {
		t.Setenv("DOCKER_CONFIG", c.config)
		r := copyImages(t, list, mirror.Options{To: dst, Transport: c.transport})[list[0].String()]
		switch {
		case c.want == "" && (r.Status != mirror.Copied || r.Digest != digest):
			t.Errorf("%s: %s %s (%v), want copied %s", c.name, r.Status, r.Digest, r.Err, digest)
		case c.want != "" && (r.Status != mirror.Failed || !strings.Contains(r.Err.Error(), c.want) || !strings.Contains(r.Err.Error(), dst.Registry)):
			t.Errorf("%s: %s (%v), want failed with %q naming the registry", c.name, r.Status, r.Err, c.want)
		}
		if r.Err != nil && (strings.Contains(r.Err.Error(), password) || strings.Contains(r.Err.Error(), auth)) {
			t.Errorf("%s: the password is in the error: %v", c.name, r.Err)
		}
	}
}
