package source

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var kps = Source{
	Repo:    "https://prometheus-community.github.io/helm-charts",
	Chart:   "kube-prometheus-stack",
	Version: "88.5.3",
}

// TestVendorChartThroughMirror vendors a chart from its upstream repository
// name through a mirror that is a flat Helm repository served over HTTP.
func TestVendorChartThroughMirror(t *testing.T) {
	fixture := fixtureCharts(t)
	srv, rec := serveDir(t, fixture)
	ctx := context.Background()
	root := t.TempDir()
	vendorDir := filepath.Join(root, "vendor")
	lockPath := filepath.Join(root, "plinth.lock")
	opts := VendorOptions{Dir: vendorDir, ChartsMirror: srv.URL}

	lock, err := Vendor(ctx, []Source{kps}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The mirror is asked for the upstream's path first, then its own index.
	wantRequests := []string{
		"GET /prometheus-community.github.io/helm-charts/index.yaml",
		"GET /index.yaml",
		"GET /kube-prometheus-stack-88.5.3.tgz",
	}
	if got := rec.requests(); strings.Join(got, "\n") != strings.Join(wantRequests, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRequests, "\n"))
	}
	wantDigest := fileDigest(t, filepath.Join(fixture, "kube-prometheus-stack-88.5.3.tgz"))
	want := Locked{
		Key:     kps.Key(),
		Kind:    "helm",
		Repo:    kps.Repo,
		Chart:   kps.Chart,
		Version: kps.Version,
		Path:    "charts/kube-prometheus-stack-88.5.3.tgz",
		Digest:  wantDigest,
	}
	if len(lock.Sources) != 1 || lock.Sources[0] != want {
		t.Fatalf("lock = %+v\nwant %+v", lock.Sources, want)
	}
	if files := filesUnder(t, vendorDir); strings.Join(files, ",") != "charts/kube-prometheus-stack-88.5.3.tgz" {
		t.Errorf("vendor dir holds %q", files)
	}

	if err := lock.Write(lockPath); err != nil {
		t.Fatal(err)
	}
	lock, err = ReadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}

	// Vendored with the pinned digest: no network.
	before := rec.n.Load()
	again, err := Vendor(ctx, []Source{kps}, lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.n.Load() - before; n != 0 {
		t.Errorf("second Vendor made %d requests, want 0", n)
	}
	if len(again.Sources) != 1 || again.Sources[0] != want {
		t.Errorf("second lock = %+v", again.Sources)
	}

	path, err := Resolve(vendorDir, lock, kps)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(vendorDir, "charts", "kube-prometheus-stack-88.5.3.tgz") {
		t.Errorf("Resolve = %s", path)
	}

	// Tamper with the archive: Resolve names the chart and both digests.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("tampered")
	f.Close()
	tampered := fileDigest(t, path)
	_, err = Resolve(vendorDir, lock, kps)
	wantErr(t, err, "chart kube-prometheus-stack 88.5.3 digest mismatch: plinth.lock has "+wantDigest+
		", vendor/charts/kube-prometheus-stack-88.5.3.tgz has "+tampered)

	// Vendor repairs it from the mirror, and the lock stays the same.
	repaired, err := Vendor(ctx, []Source{kps}, lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if repaired.Sources[0] != want {
		t.Errorf("repaired lock = %+v", repaired.Sources)
	}
	if _, err := Resolve(vendorDir, lock, kps); err != nil {
		t.Error(err)
	}

	// Missing from vendor/, and not in the lock.
	os.Remove(path)
	_, err = Resolve(vendorDir, lock, kps)
	wantErr(t, err, "chart kube-prometheus-stack 88.5.3 is missing from vendor/charts/kube-prometheus-stack-88.5.3.tgz: run plinth vendor")
	other := kps
	other.Version = "88.5.4"
	_, err = Resolve(vendorDir, lock, other)
	wantErr(t, err, "chart kube-prometheus-stack 88.5.4 is not in plinth.lock: run plinth vendor")

	// Missing names both, in the order given, without digesting anything.
	got := Missing(vendorDir, lock, []Source{kps, other})
	wantMissing := []Unvendored{{kps, "missing from vendor/charts/kube-prometheus-stack-88.5.3.tgz"}, {other, "not in plinth.lock"}}
	if !reflect.DeepEqual(got, wantMissing) {
		t.Errorf("Missing = %+v, want %+v", got, wantMissing)
	}
}

func TestVendorChartMissingVersion(t *testing.T) {
	srv, _ := serveDir(t, fixtureCharts(t))
	s := kps
	s.Version = "99.0.0"
	_, err := Vendor(context.Background(), []Source{s}, nil, VendorOptions{Dir: t.TempDir(), ChartsMirror: srv.URL})
	wantErr(t, err, "chart kube-prometheus-stack 99.0.0: version 99.0.0 is not in index "+srv.URL+"/index.yaml: chart kube-prometheus-stack has 88.5.3")

	s = Source{Repo: kps.Repo, Chart: "no-such-chart", Version: "1.0.0"}
	_, err = Vendor(context.Background(), []Source{s}, nil, VendorOptions{Dir: t.TempDir(), ChartsMirror: srv.URL})
	wantErr(t, err, "chart no-such-chart 1.0.0: index "+srv.URL+"/index.yaml has no chart no-such-chart (it has gpu-operator, kube-prometheus-stack")
}

// TestVendorChartSources covers the other ways to reach a chart: a local
// mirror laid out by upstream host and path, a local flat mirror given as a
// file URL, and the upstream repository itself.
func TestVendorChartSources(t *testing.T) {
	fixture := fixtureCharts(t)
	archive, err := os.ReadFile(filepath.Join(fixture, "nfs-subdir-external-provisioner-4.0.18.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	nfs := repoChart{name: "nfs-subdir-external-provisioner", version: "4.0.18", archive: archive}
	upstream := "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner"

	nested := t.TempDir()
	writeHelmRepo(t, filepath.Join(nested, "kubernetes-sigs.github.io", "nfs-subdir-external-provisioner"), nfs)
	// A flat index at the mirror's root must not be used when the nested one exists.
	writeHelmRepo(t, nested, repoChart{name: "other", version: "1.0.0", archive: archive})

	srv, rec := serveDir(t, fixture)

	tests := []struct {
		name   string
		src    Source
		mirror string
	}{
		{"local nested mirror", Source{Repo: upstream, Chart: nfs.name, Version: nfs.version}, nested},
		{"local flat mirror as file URL", Source{Repo: upstream, Chart: nfs.name, Version: nfs.version}, "file://" + filepath.ToSlash(mustAbs(t, fixture))},
		{"upstream without mirror", Source{Repo: srv.URL + "/", Chart: nfs.name, Version: nfs.version}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			before := rec.n.Load()
			lock, err := Vendor(context.Background(), []Source{tt.src}, nil, VendorOptions{Dir: dir, ChartsMirror: tt.mirror})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := lock.Sources[0].Digest, digestBytes(archive); got != want {
				t.Errorf("digest %s, want %s", got, want)
			}
			if _, err := Resolve(dir, lock, tt.src); err != nil {
				t.Error(err)
			}
			if n := rec.n.Load() - before; (tt.mirror == "") != (n > 0) {
				t.Errorf("%d requests to the HTTP repository", n)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestVendorChartLockMismatch: what the mirror serves no longer matches the
// lock.
func TestVendorChartLockMismatch(t *testing.T) {
	repo := t.TempDir()
	v1 := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
	writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: v1})
	srv, _ := serveDir(t, repo)
	src := Source{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}
	dir := t.TempDir()
	opts := VendorOptions{Dir: dir, ChartsMirror: srv.URL}
	lock, err := Vendor(context.Background(), []Source{src}, nil, opts)
	if err != nil {
		t.Fatal(err)
	}

	// Republished with other content under the same version.
	v1b := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")}, tarEntry{name: "demo/values.yaml", body: []byte("x: 1\n")})
	writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: v1b})
	os.Remove(filepath.Join(dir, "charts", "demo-1.0.0.tgz"))
	_, err = Vendor(context.Background(), []Source{src}, lock, opts)
	wantErr(t, err, "chart demo 1.0.0: lock says "+digestBytes(v1)+", fetched "+digestBytes(v1b))
	if files := filesUnder(t, dir); len(files) != 0 {
		t.Errorf("vendor dir holds %q after a mismatch", files)
	}

	opts.Update = true
	updated, err := Vendor(context.Background(), []Source{src}, lock, opts)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Sources[0].Digest != digestBytes(v1b) {
		t.Errorf("updated digest %s", updated.Sources[0].Digest)
	}
}

// TestVendorKeepsOtherEntries: sources not passed to Vendor stay in the
// lock unless Prune is set.
func TestVendorKeepsOtherEntries(t *testing.T) {
	repo := t.TempDir()
	archive := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
	writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: archive})
	src := Source{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}
	old := &Lock{Version: 1, Sources: []Locked{lockedGit}}
	opts := VendorOptions{Dir: t.TempDir(), ChartsMirror: repo}

	lock, err := Vendor(context.Background(), []Source{src, src}, old, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(lock.Sources) != 2 || lock.Sources[0] != lockedGit || lock.Sources[1].Key != src.Key() {
		t.Errorf("lock = %+v", lock.Sources)
	}
	opts.Prune = true
	lock, err = Vendor(context.Background(), []Source{src}, old, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(lock.Sources) != 1 || lock.Sources[0].Key != src.Key() {
		t.Errorf("pruned lock = %+v", lock.Sources)
	}
}

func TestVendorRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	good := Source{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}
	tests := []struct {
		name    string
		sources []Source
		opts    VendorOptions
		want    []string
	}{
		{"relative dir", []Source{good}, VendorOptions{Dir: "vendor"}, []string{`vendor directory "vendor" is not an absolute path`}},
		{"invalid sources reported together", []Source{{Repo: "x", Chart: "a", Version: "1.0.0"}, {URL: "https://github.com/a/b"}},
			VendorOptions{Dir: "/nonexistent/vendor"}, []string{"chart a 1.0.0: repo:", "git https://github.com/a/b@: git ref is empty"}},
		{"path collision", []Source{good, {Repo: "oci://ghcr.io/x", Chart: "demo", Version: "1.0.0"}},
			VendorOptions{Dir: "/nonexistent/vendor"}, []string{"would both be vendored at charts/demo-1.0.0.tgz"}},
		{"mirror with credentials", []Source{good}, VendorOptions{Dir: "/nonexistent/vendor", ChartsMirror: "https://u:p@nexus.bank.local/helm"},
			[]string{"charts mirror", "credentials in the URL are not allowed"}},
		{"git mirror oci", []Source{{URL: "https://github.com/a/b", Ref: "v1"}}, VendorOptions{Dir: "/nonexistent/vendor", GitMirror: "oci://x/y"},
			[]string{"git mirror", "scheme must be http, https"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Vendor(ctx, tt.sources, nil, tt.opts)
			wantErr(t, err, tt.want...)
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "u:p@") {
				t.Errorf("error shows credentials: %v", err)
			}
		})
	}
}

// TestVendorRefusesSymlinkedVendorDirs: a committed vendor/charts symlink
// must not redirect writes or reads outside the vendor directory.
func TestVendorRefusesSymlinkedVendorDirs(t *testing.T) {
	repo := t.TempDir()
	archive := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")})
	writeHelmRepo(t, repo, repoChart{name: "demo", version: "1.0.0", archive: archive})
	src := Source{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}
	dir := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "charts")); err != nil {
		t.Fatal(err)
	}
	_, err := Vendor(context.Background(), []Source{src}, nil, VendorOptions{Dir: dir, ChartsMirror: repo})
	wantErr(t, err, "chart demo 1.0.0: "+filepath.Join(dir, "charts")+" is a symlink")
	if files := filesUnder(t, outside); len(files) != 0 {
		t.Errorf("written outside the vendor directory: %q", files)
	}

	// Resolve does not read through it either.
	os.WriteFile(filepath.Join(outside, "demo-1.0.0.tgz"), archive, 0o644)
	lock := &Lock{Version: 1, Sources: []Locked{{
		Key: src.Key(), Kind: "helm", Repo: src.Repo, Chart: "demo", Version: "1.0.0",
		Path: "charts/demo-1.0.0.tgz", Digest: digestBytes(archive),
	}}}
	_, err = Resolve(dir, lock, src)
	wantErr(t, err, "chart demo 1.0.0: ", "/charts is a symlink")
}
