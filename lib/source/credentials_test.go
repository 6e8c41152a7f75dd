package source

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/plinth-platform/plinth/lib/capool/capooltest"
)

// sentinel is the password of every server in these tests: no error, lock
// or vendored file may hold it.
const sentinel = "sentinel-Pw-7Kq2-never-printed"

// privateServers is a bank's network in miniature: an HTTPS Helm
// repository and an HTTPS git server behind basic auth, an OCI registry
// behind basic auth, all with certificates from a CA made for the test.
type privateServers struct {
	ca                 *capooltest.CA
	caFile             string
	helm, git          string // URLs
	oci                *ociRegistry
	chart, git1, ociCh Source
	archive            []byte
}

func newPrivateServers(t *testing.T) *privateServers {
	t.Helper()
	p := &privateServers{ca: capooltest.NewCA(t, "Test Bank Root CA")}
	p.caFile = p.ca.WriteFile(t, t.TempDir(), "ca.pem")
	p.archive = makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})

	charts := t.TempDir()
	writeHelmRepo(t, charts, repoChart{name: "demo", version: "1.0.0", archive: p.archive})
	p.helm = p.ca.Server(t, capooltest.BasicAuth("ci", sentinel, http.FileServer(http.Dir(charts)))).URL

	repos := t.TempDir()
	r := newBareRepo(t, filepath.Join(repos, "platform", "manifests"))
	c := r.commit(map[string]gitFile{"README.md": reg("v1\n")}, "v1")
	r.tag("v1", c)
	r.ref(plumbing.NewBranchReferenceName("main"), c)
	p.git = p.ca.Server(t, capooltest.BasicAuth("ci", sentinel, smartHTTPHandler(repos))).URL

	p.oci = &ociRegistry{rec: &recorder{}, blobs: map[string][]byte{}, tags: map[string]string{}}
	p.oci.srv = p.ca.Server(t, echoAuthorization(capooltest.BasicAuth("ci", sentinel, p.oci.rec.wrap(http.HandlerFunc(p.oci.serve)))))
	ociArchive := makeArchive(t, tarEntry{name: "ocidemo/Chart.yaml", body: chartYAML("ocidemo", "1.0.0")})
	p.oci.push(t, "charts/ocidemo", "1.0.0", ociArchive, "ocidemo", "1.0.0")

	p.chart = Source{Repo: p.helm, Chart: "demo", Version: "1.0.0"}
	p.git1 = Source{URL: p.git + "/platform/manifests", Ref: "v1"}
	p.ociCh = Source{Repo: "oci://" + p.oci.host() + "/charts", Chart: "ocidemo", Version: "1.0.0"}
	return p
}

// netrcFile writes a netrc for 127.0.0.1, where every test server listens.
func netrcFile(t *testing.T, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "netrc")
	if err := os.WriteFile(p, []byte("machine 127.0.0.1\n  login ci\n  password "+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dockerConfig writes a config.json as docker login leaves it.
func dockerConfig(t *testing.T, host, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("ci:" + password))
	if err := os.WriteFile(p, []byte(fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, host, auth)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noSentinel(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, sentinel) || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte("ci:"+sentinel))) {
		t.Errorf("%s holds the password:\n%s", what, s)
	}
}

func TestVendorPrivateCAAndCredentials(t *testing.T) {
	p := newPrivateServers(t)
	ctx := context.Background()
	sources := []Source{p.chart, p.git1, p.ociCh}
	good := VendorOptions{CAFile: p.caFile, Netrc: netrcFile(t, sentinel), DockerConfig: dockerConfig(t, p.oci.host(), sentinel)}

	t.Run("the CA and credentials vendor", func(t *testing.T) {
		opts := good
		root := t.TempDir()
		opts.Dir = filepath.Join(root, "vendor")
		lock, err := Vendor(ctx, sources, nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(lock.Sources) != 3 {
			t.Fatalf("lock %+v", lock.Sources)
		}
		lockFile := filepath.Join(root, "plinth.lock")
		if err := lock.Write(lockFile); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(lockFile)
		noSentinel(t, "plinth.lock", string(data))
		for _, f := range filesUnder(t, opts.Dir) {
			data, _ := os.ReadFile(filepath.Join(opts.Dir, f))
			noSentinel(t, f, string(data))
		}
		for _, s := range sources {
			if _, err := Resolve(opts.Dir, lock, s); err != nil {
				t.Error(err)
			}
		}
	})

	other := capooltest.NewCA(t, "Other CA").WriteFile(t, t.TempDir(), "other.pem")
	for _, tt := range []struct {
		name   string
		change func(*VendorOptions)
		want   map[Source][]string // per source, what its error says
	}{
		{"no CA", func(o *VendorOptions) { o.CAFile = "" }, nil},
		{"another CA", func(o *VendorOptions) { o.CAFile = other }, nil},
		{"no credentials", func(o *VendorOptions) { o.Netrc, o.DockerConfig = "", "" }, map[Source][]string{
			p.chart: {"reading the index: " + p.helm + "/index.yaml: 401 Unauthorized (no netrc file to take credentials for 127.0.0.1 from)"},
			p.git1:  {p.git1.URL + ": ", "authentication required", "(no netrc file to take credentials for 127.0.0.1 from)"},
			p.ociCh: {"pulling " + p.ociCh.Repo + "/ocidemo:1.0.0: ", "basic credential not found (127.0.0.1:", " asks for credentials; no docker config to take them from)"},
		}},
		{"wrong credentials", func(o *VendorOptions) {
			o.Netrc, o.DockerConfig = netrcFile(t, "wrong-"+sentinel), dockerConfig(t, p.oci.host(), "wrong-"+sentinel)
		}, map[Source][]string{
			p.chart: {p.helm + "/index.yaml: 401 Unauthorized (the credentials for 127.0.0.1 in netrc ", " were refused)"},
			p.git1:  {p.git1.URL + ": ", "authentication required", " were refused)"},
			p.ociCh: {"pulling " + p.ociCh.Repo + "/ocidemo:1.0.0: ", "401", "(the credentials for 127.0.0.1:", " in docker config ", " were refused, or it has none)"},
		}},
		{"a netrc without the host", func(o *VendorOptions) {
			o.Netrc = filepath.Join(t.TempDir(), "netrc")
			os.WriteFile(o.Netrc, []byte("machine nexus.bank.example login ci password x\n"), 0o600)
		}, map[Source][]string{
			p.chart: {"401 Unauthorized (netrc " + filepath.Dir(filepath.Dir(p.caFile))},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range sources {
				opts := good
				tt.change(&opts)
				opts.Dir = t.TempDir()
				_, err := Vendor(ctx, []Source{s}, nil, opts)
				if err == nil {
					if tt.want == nil || tt.want[s] != nil {
						t.Errorf("%s: no error", s)
					}
					continue
				}
				noSentinel(t, "the error", err.Error())
				if strings.Contains(err.Error(), "wrong-"+sentinel) {
					t.Errorf("%s: the error holds the wrong password: %v", s, err)
				}
				if files := filesUnder(t, opts.Dir); len(files) != 0 {
					t.Errorf("%s: vendor dir holds %q", s, files)
				}
				want := tt.want[s]
				if tt.want == nil {
					// A certificate problem: the host and x509's reason.
					var cert *tls.CertificateVerificationError
					if !errors.As(err, &cert) {
						t.Errorf("%s: not a *tls.CertificateVerificationError: %v", s, err)
					}
					want = []string{"127.0.0.1:", "x509: certificate signed by unknown authority"}
				}
				t.Logf("%s: %v", s, err)
				wantErr(t, err, want...)
			}
		})
	}

	t.Run("files that do not load", func(t *testing.T) {
		opts := good
		opts.Dir = t.TempDir()
		opts.CAFile = filepath.Join(t.TempDir(), "missing.pem")
		_, err := Vendor(ctx, sources, nil, opts)
		wantErr(t, err, "CA file: ", "missing.pem")
		opts.CAFile = p.caFile
		opts.Netrc = filepath.Join(t.TempDir(), "netrc")
		os.WriteFile(opts.Netrc, []byte(`machine 127.0.0.1 password "`+sentinel), 0o600)
		_, err = Vendor(ctx, sources, nil, opts)
		wantErr(t, err, "netrc "+opts.Netrc+": line 1: unterminated quote")
		noSentinel(t, "the error", err.Error())
	})
}

// TestNetrcGoesToItsHostOnly: an index on one host pointing to an archive
// on another sends the first host's netrc entry to the first only.
func TestNetrcGoesToItsHostOnly(t *testing.T) {
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	archive := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
	var sawAuth []string
	other := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = append(sawAuth, r.Header.Get("Authorization"))
		w.Write(archive)
	}))
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	dir := t.TempDir()
	writeHelmRepo(t, dir, repoChart{name: "demo", version: "1.0.0", archive: archive, url: otherURL + "/demo-1.0.0.tgz"})
	index := ca.Server(t, capooltest.BasicAuth("ci", sentinel, http.FileServer(http.Dir(dir))))
	_, err := Vendor(context.Background(), []Source{{Repo: index.URL, Chart: "demo", Version: "1.0.0"}}, nil, VendorOptions{
		Dir: t.TempDir(), CAFile: ca.WriteFile(t, t.TempDir(), "ca.pem"), Netrc: netrcFile(t, sentinel),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sawAuth) != 1 || sawAuth[0] != "" {
		t.Errorf("the archive's host saw Authorization %q", sawAuth)
	}
}

// echoAuthorization is a registry that quotes the credentials it refuses
// in its error body, which oras-go puts in its error: Vendor must mask
// them.
func echoAuthorization(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p, ok := r.BasicAuth(); ok && p != sentinel {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"refused %s (%s)"}]}`, p, r.Header.Get("Authorization"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
