package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/needs"
)

// fixtureCharts returns the shared chart repository fixture. Without it
// the test fails, unless PLINTH_SKIP names fixtures (lib/needs).
func fixtureCharts(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(needs.FixturesDir(filepath.Join("..", "..")), "charts")
	if _, err := os.Stat(filepath.Join(dir, "index.yaml")); err != nil {
		needs.Missing(t, needs.Fixtures, err, needs.ProvideFixtures)
	}
	return dir
}

// recorder counts and remembers the requests a test server sees.
type recorder struct {
	n     atomic.Int64
	mu    sync.Mutex
	paths []string
}

func (r *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.n.Add(1)
		r.mu.Lock()
		r.paths = append(r.paths, req.Method+" "+req.URL.String())
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.paths)
}

// serveDir serves a directory over HTTP, counting requests.
func serveDir(t *testing.T, dir string) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(http.FileServer(http.Dir(dir))))
	t.Cleanup(srv.Close)
	return srv, rec
}

// forwardProxy is a real HTTP forward proxy for plain-HTTP requests, which
// arrive with an absolute URL.
func forwardProxy(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	upstream := &http.Transport{} // no proxy of its own, whatever the environment says
	t.Cleanup(upstream.CloseIdleConnections)
	srv := httptest.NewServer(rec.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := upstream.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	t.Cleanup(srv.Close)
	return srv, rec
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name     string
	typeflag byte
	body     []byte
	size     int64 // of a body of zeros, when body is nil
	linkname string
}

// makeArchive builds a gzip-compressed tar archive.
func makeArchive(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hd := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typeflag, Linkname: e.linkname}
		if hd.Typeflag == 0 {
			hd.Typeflag = tar.TypeReg
		}
		if hd.Typeflag == tar.TypeReg {
			hd.Size = int64(len(e.body))
			if e.body == nil {
				hd.Size = e.size
			}
		}
		if err := tw.WriteHeader(hd); err != nil {
			t.Fatal(err)
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		var r io.Reader = bytes.NewReader(e.body)
		if e.body == nil {
			r = io.LimitReader(zeros{}, e.size)
		}
		if _, err := io.Copy(tw, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// chartYAML returns a minimal Chart.yaml for name and version.
func chartYAML(name, version string) []byte {
	return []byte("apiVersion: v2\nname: " + name + "\nversion: " + version + "\n")
}

// repoChart is one archive of a test Helm repository.
type repoChart struct {
	name, version string
	archive       []byte
	digest        string // index digest; "" means the archive's, "-" means none
	url           string // index URL; "" means <name>-<version>.tgz
}

// writeHelmRepo writes archives and an index.yaml to dir, like helm repo
// index does.
func writeHelmRepo(t testing.TB, dir string, charts ...repoChart) {
	t.Helper()
	type entry struct {
		APIVersion string   `json:"apiVersion"`
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		Digest     string   `json:"digest,omitempty"`
		URLs       []string `json:"urls"`
	}
	idx := struct {
		APIVersion string             `json:"apiVersion"`
		Entries    map[string][]entry `json:"entries"`
	}{APIVersion: "v1", Entries: map[string][]entry{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		file := c.name + "-" + c.version + ".tgz"
		if err := os.WriteFile(filepath.Join(dir, file), c.archive, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(c.archive)
		e := entry{APIVersion: "v2", Name: c.name, Version: c.version, Digest: hex.EncodeToString(sum[:]), URLs: []string{file}}
		switch c.digest {
		case "":
		case "-":
			e.Digest = ""
		default:
			e.Digest = c.digest
		}
		if c.url != "" {
			e.URLs = []string{c.url}
		}
		idx.Entries[c.name] = append(idx.Entries[c.name], e)
	}
	data, err := yaml.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// filesUnder lists the regular files and symlinks under dir, slash
// separated and relative to dir; a missing dir has none.
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wantErr fails unless err is non-nil and contains every string of want.
func wantErr(t testing.TB, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\ndoes not contain %q", err, w)
		}
	}
}

func fileDigest(t testing.TB, name string) string {
	t.Helper()
	d, err := digestFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
