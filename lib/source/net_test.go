package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestVendorThroughProxy(t *testing.T) {
	srv, repoRec := serveDir(t, fixtureCharts(t))
	proxy, proxyRec := forwardProxy(t)
	proxyURL, _ := url.Parse(proxy.URL)
	mirror, _ := url.Parse(srv.URL)

	tests := []struct {
		name      string
		noProxy   []string
		viaProxy  bool
		wantPaths int
	}{
		{"proxied", nil, true, 3},
		{"no-proxy for another host", []string{"nexus.bank.local", ".example.com"}, true, 3},
		{"no-proxy by host", []string{mirror.Hostname()}, false, 3},
		{"no-proxy by host and port", []string{mirror.Host}, false, 3},
		{"no-proxy by CIDR", []string{"127.0.0.0/8"}, false, 3},
		{"no-proxy wildcard", []string{"*"}, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repoBefore, proxyBefore := repoRec.n.Load(), proxyRec.n.Load()
			_, err := Vendor(context.Background(), []Source{kps}, nil, VendorOptions{
				Dir:          t.TempDir(),
				ChartsMirror: srv.URL,
				Proxy:        proxyURL,
				NoProxy:      tt.noProxy,
			})
			if err != nil {
				t.Fatal(err)
			}
			repoN, proxyN := repoRec.n.Load()-repoBefore, proxyRec.n.Load()-proxyBefore
			if repoN != int64(tt.wantPaths) {
				t.Errorf("repository saw %d requests, want %d", repoN, tt.wantPaths)
			}
			if tt.viaProxy && proxyN != repoN {
				t.Errorf("proxy saw %d requests, repository %d: not all went through the proxy", proxyN, repoN)
			}
			if !tt.viaProxy && proxyN != 0 {
				t.Errorf("proxy saw %d requests, want none", proxyN)
			}
		})
	}
	// The proxy saw absolute URLs for the mirror's host.
	for _, p := range proxyRec.requests() {
		if !strings.HasPrefix(p, "GET "+srv.URL+"/") {
			t.Errorf("proxy request %q", p)
		}
	}
}

func TestVendorAllowedHosts(t *testing.T) {
	srv, rec := serveDir(t, fixtureCharts(t))
	mirror, _ := url.Parse(srv.URL)
	ctx := context.Background()

	t.Run("mirror host not allowed", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Vendor(ctx, []Source{kps}, nil, VendorOptions{
			Dir: dir, ChartsMirror: srv.URL, AllowedHosts: []string{"nexus.bank.local", ".bank.local"},
		})
		wantErr(t, err, "chart kube-prometheus-stack 88.5.3: host 127.0.0.1 is not in the allowed hosts (nexus.bank.local, .bank.local)")
		var hostErr *HostNotAllowedError
		if !errors.As(err, &hostErr) || hostErr.Host != "127.0.0.1" {
			t.Errorf("error %v is not a *HostNotAllowedError for 127.0.0.1", err)
		}
		if n := rec.n.Load(); n != 0 {
			t.Errorf("%d requests made, want 0", n)
		}
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("vendor dir holds %q", files)
		}
	})

	t.Run("upstream host not allowed and no mirror", func(t *testing.T) {
		_, err := Vendor(ctx, []Source{kps, {URL: "https://github.com/kubeflow/manifests", Ref: "26.03"}}, nil, VendorOptions{
			Dir: t.TempDir(), AllowedHosts: []string{"nexus.bank.local"},
		})
		wantErr(t, err,
			"chart kube-prometheus-stack 88.5.3: host prometheus-community.github.io is not in the allowed hosts",
			"git https://github.com/kubeflow/manifests@26.03: host github.com is not in the allowed hosts")
	})

	t.Run("mirror host allowed", func(t *testing.T) {
		for _, allowed := range [][]string{{"127.0.0.1"}, {mirror.Host}, {"nexus.bank.local", "127.0.0.1:" + mirror.Port()}} {
			if _, err := Vendor(ctx, []Source{kps}, nil, VendorOptions{Dir: t.TempDir(), ChartsMirror: srv.URL, AllowedHosts: allowed}); err != nil {
				t.Errorf("allowed %q: %v", allowed, err)
			}
		}
		_, err := Vendor(ctx, []Source{kps}, nil, VendorOptions{Dir: t.TempDir(), ChartsMirror: srv.URL, AllowedHosts: []string{"127.0.0.1:1"}})
		wantErr(t, err, "host 127.0.0.1 is not in the allowed hosts (127.0.0.1:1)")
	})

	t.Run("index points to a host not allowed", func(t *testing.T) {
		// A local mirror needs no host, but the archive URL its index
		// lists does, and is checked before any connection is made.
		repo := t.TempDir()
		archive := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
		writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: archive, url: "https://objects.example.net/demo-1.0.0.tgz"})
		dir := t.TempDir()
		_, err := Vendor(ctx, []Source{{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}}, nil, VendorOptions{
			Dir: dir, ChartsMirror: repo, AllowedHosts: []string{"nexus.bank.local"},
		})
		wantErr(t, err, "chart demo 1.0.0: downloading the archive:", "host objects.example.net is not in the allowed hosts (nexus.bank.local)")
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("vendor dir holds %q", files)
		}
	})

	t.Run("redirect to a host not allowed", func(t *testing.T) {
		// The index and archive URL are on the allowed host (127.0.0.1 on
		// one port); the archive redirects to another port, which is not.
		repo := t.TempDir()
		archive := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
		writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: archive})
		files := http.FileServer(http.Dir(repo))
		redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, ".tgz") {
				http.Redirect(w, r, srv.URL+"/kube-prometheus-stack-88.5.3.tgz", http.StatusFound)
				return
			}
			files.ServeHTTP(w, r)
		}))
		defer redirecting.Close()
		before := rec.n.Load()
		_, err := Vendor(ctx, []Source{{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}}, nil, VendorOptions{
			Dir: t.TempDir(), ChartsMirror: redirecting.URL, AllowedHosts: []string{mustURL(t, redirecting.URL).Host},
		})
		wantErr(t, err, "chart demo 1.0.0: downloading the archive:", "host 127.0.0.1 is not in the allowed hosts ("+mustURL(t, redirecting.URL).Host+")")
		if n := rec.n.Load() - before; n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCheckHost(t *testing.T) {
	allowed := []string{"nexus.bank.local", ".corp.example", "git.bank.local:8443", "10.1.2.3", "[::1]:5000"}
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://nexus.bank.local/repository/helm", true},
		{"https://NEXUS.bank.local./x", true},
		{"https://nexus.bank.local:8081/x", true},
		{"https://other.bank.local/x", false},
		{"https://bank.local/x", false},
		{"https://a.corp.example/x", true},
		{"https://a.b.corp.example/x", true},
		{"https://corp.example/x", false},
		{"https://evilcorp.example/x", false},
		{"https://git.bank.local:8443/x", true},
		{"https://git.bank.local/x", false},
		{"http://10.1.2.3/x", true},
		{"http://[::1]:5000/x", true},
		{"http://[::1]:5001/x", false},
		{"https://nexus.bank.local.evil.com/x", false},
	}
	for _, tt := range tests {
		err := checkHost(allowed, mustURL(t, tt.url))
		if (err == nil) != tt.ok {
			t.Errorf("checkHost(%s) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	if err := checkHost(nil, mustURL(t, "https://anything/")); err != nil {
		t.Errorf("an empty allow-list refused: %v", err)
	}
}

func TestUseProxy(t *testing.T) {
	noProxy := []string{"bank.local", ".svc", "10.0.0.0/8", "192.168.1.1", "registry.example:5000", " "}
	tests := []struct {
		url   string
		proxy bool
	}{
		{"https://bank.local/", false},
		{"https://nexus.bank.local/", false},
		{"https://x.svc/", false},
		{"https://svc/", true},
		{"http://10.20.30.40/", false},
		{"http://11.0.0.1/", true},
		{"http://192.168.1.1:8080/", false},
		{"http://registry.example:5000/", false},
		{"http://registry.example/", true},
		{"https://github.com/", true},
		{"http://127.0.0.1:8080/", true},
	}
	for _, tt := range tests {
		if got := useProxy(noProxy, mustURL(t, tt.url)); got != tt.proxy {
			t.Errorf("useProxy(%s) = %v, want %v", tt.url, got, tt.proxy)
		}
	}
	if useProxy([]string{"*"}, mustURL(t, "https://github.com/")) {
		t.Error(`"*" did not bypass the proxy`)
	}
}

// TestVendorDoesNotReadProxyEnvironment: HTTPS_PROXY and friends are
// ignored; only VendorOptions.Proxy counts.
func TestVendorDoesNotReadProxyEnvironment(t *testing.T) {
	srv, rec := serveDir(t, fixtureCharts(t))
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	if _, err := Vendor(context.Background(), []Source{kps}, nil, VendorOptions{Dir: filepath.Join(t.TempDir(), "v"), ChartsMirror: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if rec.n.Load() == 0 {
		t.Error("no request reached the repository")
	}
}
