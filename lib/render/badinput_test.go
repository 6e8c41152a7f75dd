package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

// badChartEnv is an environment whose monitoring component comes from a
// chart of the test's own, through the component's source override.
func badChartEnv(t *testing.T, chartName, extra string) *platform.Platform {
	t.Helper()
	root := t.TempDir()
	src := fmt.Sprintf(`package plinth
cluster: version: "1.34.1"
components: monitoring: {
	enabled: true
	source: {repo: "https://charts.example.com/stable", chart: %q, version: "0.1.0"}
	%s
}
`, chartName, extra)
	dir := filepath.Join(root, "environments", "bad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := platform.Resolve(root, "bad")
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil || !p.Valid() {
		t.Fatalf("%v %v", err, p.Findings)
	}
	return p
}

// vendorChart packages a chart, serves it from a chart mirror directory
// with an index and vendors it as plinth vendor would.
func vendorChart(t *testing.T, p *platform.Platform, c *chart.Chart) (string, *source.Lock) {
	t.Helper()
	mirror := t.TempDir()
	if _, err := chartutil.Save(c, mirror); err != nil {
		t.Fatal(err)
	}
	index, err := repo.IndexDirectory(mirror, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := index.WriteFile(filepath.Join(mirror, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	vendorDir := filepath.Join(t.TempDir(), "vendor")
	lock, err := source.Vendor(context.Background(), Sources(comps), &source.Lock{Version: 1}, source.VendorOptions{Dir: vendorDir, ChartsMirror: mirror})
	if err != nil {
		t.Fatal(err)
	}
	return vendorDir, lock
}

func testChart(name string, templates map[string]string, schema string) *chart.Chart {
	c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: name, Version: "0.1.0"}, Values: map[string]any{}}
	for file, data := range templates {
		c.Templates = append(c.Templates, &chart.File{Name: "templates/" + file, Data: []byte(data)})
	}
	if schema != "" {
		c.Schema = []byte(schema)
	}
	return c
}

func TestBadCharts(t *testing.T) {
	for _, c := range []struct {
		name      string
		chart     *chart.Chart
		values    string
		wantError []string
	}{
		{
			name:      "malformed template output",
			chart:     testChart("broken", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: [}\n"}, ""),
			wantError: []string{"environment bad", "component monitoring", "chart broken 0.1.0", "broken/templates/cm.yaml"},
		},
		{
			name:      "values violating values.schema.json",
			chart:     testChart("strict", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"}, `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {"replicas": {"type": "integer"}}}`),
			values:    `values: replicas: "three"`,
			wantError: []string{"environment bad", "component monitoring", "chart strict 0.1.0", "replicas"},
		},
		{
			name:      "template failing",
			chart:     testChart("failing", map[string]string{"cm.yaml": `{{ fail "set .Values.hostname" }}`}, ""),
			wantError: []string{"environment bad", "component monitoring", "chart failing 0.1.0", "set .Values.hostname"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := badChartEnv(t, c.chart.Metadata.Name, c.values)
			dir, lock := vendorChart(t, p, c.chart)
			r, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
			if err == nil || r != nil {
				t.Fatalf("rendered: %v", r)
			}
			for _, want := range c.wantError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestLookup: a chart calling lookup fails the render naming environment,
// component and template, unless the catalog vouches for the chart; then
// it renders as helm template would (lookup finds nothing), with a warning.
func TestLookup(t *testing.T) {
	c := testChart("looker", map[string]string{"cm.yaml": "{{- $s := lookup \"v1\" \"Secret\" \"ns\" \"x\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: found-{{ len $s }}\n"}, "")
	p := badChartEnv(t, "looker", "")
	dir, lock := vendorChart(t, p, c)
	_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	for _, want := range []string{"environment bad", "component monitoring", "chart looker 0.1.0", "looker/templates/cm.yaml calls lookup"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}

	archive, err := source.Resolve(dir, lock, source.Source{Repo: "https://charts.example.com/stable", Chart: "looker", Version: "0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	part := platform.HelmPart{Chart: "looker", Version: "0.1.0", Release: "r", Namespace: "ns", Lookup: "warn"}
	objs, warnings, err := renderChart(context.Background(), archive, part, nil, Capabilities{KubeVersion: "v1.34.1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetName() != "found-0" {
		t.Errorf("objects: %v", objs)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "looker/templates/cm.yaml calls lookup") {
		t.Errorf("warnings: %v", warnings)
	}
}

// TestNoDNS: a chart asking for an address (getHostByName) renders as
// helm template does by default, with an empty answer, and plinth makes
// no DNS query: the resolver counts them, and is shown to count.
func TestNoDNS(t *testing.T) {
	var queries atomic.Int64
	saved := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		queries.Add(1)
		return nil, errors.New("no DNS in this test")
	}}
	t.Cleanup(func() { net.DefaultResolver = saved })
	if _, err := net.LookupHost("control.plinth-dns.example.com"); err == nil || queries.Load() == 0 {
		t.Fatalf("the counting resolver does not see lookups (err %v, %d queries)", err, queries.Load())
	}
	queries.Store(0)

	c := testChart("resolver", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dns\ndata:\n  address: {{ getHostByName \"db.plinth-dns.example.com\" | quote }}\n"}, "")
	p := badChartEnv(t, "resolver", "")
	dir, lock := vendorChart(t, p, c)
	r, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err != nil {
		t.Fatal(err)
	}
	var address any = "<no ConfigMap>"
	for _, comp := range r.Components {
		for _, o := range comp.Objects {
			if o.GetName() == "dns" {
				address, _, _ = unstructured.NestedString(o.Object, "data", "address")
			}
		}
	}
	if address != "" || queries.Load() != 0 {
		t.Fatalf("address %q, %d DNS queries; want an empty answer and none", address, queries.Load())
	}
}

// TestTamperedVendor: an archive changed after vendoring fails the
// render naming the chart and both digests.
func TestTamperedVendor(t *testing.T) {
	c := testChart("fine", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"}, "")
	p := badChartEnv(t, "fine", "")
	dir, lock := vendorChart(t, p, c)
	archive := filepath.Join(dir, lock.Sources[0].Path)
	if err := os.WriteFile(archive, []byte("not the chart"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err == nil || !strings.Contains(err.Error(), "fine") || strings.Count(err.Error(), "sha256:") < 2 {
		t.Fatalf("got %v, want a digest mismatch naming the chart and both digests", err)
	}
}

// TestHostileArchive: an archive whose lock entry was forged to match (so
// that vendor's own checks were bypassed) is still refused by the loader,
// with an error and no panic: a path escaping the chart, and a
// decompression bomb beyond Helm's limit.
func TestHostileArchive(t *testing.T) {
	for name, entries := range map[string]map[string][]byte{
		"path traversal":     {"evil/Chart.yaml": []byte("apiVersion: v2\nname: evil\nversion: 0.1.0\n"), "evil/../../../etc/cron.d/x": []byte("x")},
		"decompression bomb": {"evil/Chart.yaml": []byte("apiVersion: v2\nname: evil\nversion: 0.1.0\n"), "evil/templates/bomb.yaml": bytes.Repeat([]byte{'a'}, 110<<20)},
	} {
		t.Run(name, func(t *testing.T) {
			p := badChartEnv(t, "evil", "")
			dir := t.TempDir()
			data := tgz(t, entries)
			if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "charts", "evil-0.1.0.tgz"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			s := source.Source{Repo: "https://charts.example.com/stable", Chart: "evil", Version: "0.1.0"}
			lock := &source.Lock{Version: 1, Sources: []source.Locked{{
				Key: s.Key(), Kind: s.Kind(), Repo: s.Repo, Chart: s.Chart, Version: s.Version,
				Path: "charts/evil-0.1.0.tgz", Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(data)),
			}}}
			_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
			if err == nil || !strings.Contains(err.Error(), "chart evil 0.1.0") {
				t.Fatalf("got %v, want the loader's refusal naming the chart", err)
			}
		})
	}
}

func tgz(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(entries[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(entries[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestKustomizeConfinement: a base reaching outside the source tree finds
// nothing (the tree is all krusty can see), a remote base is refused
// before krusty would fetch it, and a symlink in a source is refused.
func TestKustomizeConfinement(t *testing.T) {
	tree := fstest.MapFS{
		"escape/kustomization.yaml":    {Data: []byte("resources:\n- ../../../../../etc\n")},
		"remote/kustomization.yaml":    {Data: []byte("resources:\n- ok\n")},
		"remote/ok/kustomization.yaml": {Data: []byte("resources:\n- https://github.com/argoproj/argo-workflows/manifests/base?ref=v3.7.3\n")},
		"plain/kustomization.yaml":     {Data: []byte("resources:\n- cm.yaml\n")},
		"plain/cm.yaml":                {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")},
	}
	mem, err := memTree(tree, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := buildKustomize(mem, "test-tree", "escape", []string{"escape"}); err == nil {
		t.Error("a base outside the tree was built")
	}
	_, _, err = buildKustomize(mem, "test-tree", "remote", []string{"remote"})
	if err == nil || !strings.Contains(err.Error(), "remote/ok/kustomization.yaml refers to the remote") {
		t.Errorf("remote base: %v", err)
	}
	if _, _, err := buildKustomize(mem, "test-tree", "outside", []string{"../etc"}); err == nil || !strings.Contains(err.Error(), "outside the source") {
		t.Errorf("path outside: %v", err)
	}
	objs, _, err := buildKustomize(mem, "test-tree", "plain", []string{"plain"})
	if err != nil || len(objs) != 1 {
		t.Errorf("plain: %v %v", objs, err)
	}
	linked := fstest.MapFS{"a/kustomization.yaml": {Data: []byte("resources: []\n")}, "a/passwd": {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink}}
	if _, err := memTree(linked, "linked"); err == nil || !strings.Contains(err.Error(), "a/passwd is a symlink") {
		t.Errorf("symlink: %v", err)
	}
	var _ filesys.FileSystem = mem
}

// schemaChart is a chart whose values.schema.json is schema.
func schemaChart(name, schema string) *chart.Chart {
	return testChart(name, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"}, schema)
}

// TestSchemaReferences: Helm's schema validator loads whatever a
// values.schema.json refers to: local files and http(s) URLs, through a
// transport of its own. Render refuses such a chart before validation,
// naming the chart and the reference, quickly, with no request made and
// no file opened; references inside the schema and urn: ones still work.
func TestSchemaReferences(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte(`{"type": "string"}`))
	}))
	defer srv.Close()
	// A FIFO blocks whoever opens it for reading until a writer comes:
	// a render that opened it would never return.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	refTo := func(url string) string {
		return fmt.Sprintf(`{"type": "object", "properties": {"x": {"$ref": %q}}}`, url)
	}
	for _, c := range []struct{ name, schema, want string }{
		{"file:///dev/zero", refTo("file:///dev/zero"), "refers to file:///dev/zero: render loads nothing from outside the chart"},
		{"a FIFO", refTo("file://" + fifo), "refers to file://" + fifo},
		{"a relative file", refTo("other.json#/x"), "refers to file:///other.json"},
		{"an http URL", refTo(srv.URL + "/x.json"), "refers to " + srv.URL + "/x.json"},
		{"an http $schema", `{"$schema": "` + srv.URL + `/meta", "type": "object"}`, srv.URL + "/meta"},
		{"an $id moving the base to http", `{"$id": "` + srv.URL + `/base.json", "properties": {"x": {"$ref": "y.json"}}}`, "refers to " + srv.URL + "/y.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := badChartEnv(t, "refs", "")
			dir, lock := vendorChart(t, p, schemaChart("refs", c.schema))
			done := make(chan error, 1)
			go func() {
				_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
				done <- err
			}()
			select {
			case err := <-done:
				for _, want := range []string{"environment bad", "component monitoring", "chart refs 0.1.0", "refs/values.schema.json", c.want} {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("error %v does not name %q", err, want)
					}
				}
			case <-time.After(30 * time.Second):
				t.Fatal("render did not return: it opened or fetched the reference")
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the schema server got %d requests during render", n)
	}

	// Helm on its own does fetch: the check above is needed.
	if err := chartutil.ValidateAgainstSingleSchema(chartutil.Values{"x": "a"}, []byte(refTo(srv.URL+"/x.json"))); err != nil {
		t.Logf("Helm's validation: %v", err)
	}
	if requests.Load() == 0 {
		t.Error("control: Helm's own validation did not fetch the remote $ref (then the check is not what stops it)")
	}

	for name, schema := range map[string]string{
		"internal $ref": `{"definitions": {"s": {"type": "string"}}, "properties": {"x": {"$ref": "#/definitions/s"}}}`,
		"urn $id":       `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:example:chart:v1", "$defs": {"s": {"type": "string"}}, "properties": {"x": {"$ref": "#/$defs/s"}}}`,
		"urn $ref":      refTo("urn:example:unresolved"),
	} {
		t.Run(name, func(t *testing.T) {
			p := badChartEnv(t, "refs", `values: x: "a"`)
			dir, lock := vendorChart(t, p, schemaChart("refs", schema))
			if _, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock}); err != nil {
				t.Errorf("a schema with only %s fails: %v", name, err)
			}
		})
	}
}

// TestSchemaRefChain: a values.schema.json chaining 10,000 definitions
// through $ref (the CVE-2025-32387 shape) validates or fails within
// bounded time and memory, without a crash.
func TestSchemaRefChain(t *testing.T) {
	const n = 10_000
	var b strings.Builder
	b.WriteString(`{"type": "object", "properties": {"x": {"$ref": "#/definitions/d0"}}, "definitions": {`)
	for i := range n - 1 {
		fmt.Fprintf(&b, `"d%d": {"$ref": "#/definitions/d%d"}, `, i, i+1)
	}
	fmt.Fprintf(&b, `"d%d": {"type": "string"}}}`, n-1)
	p := badChartEnv(t, "chain", `values: x: 3`)
	dir, lock := vendorChart(t, p, schemaChart("chain", b.String()))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	t.Logf("%d-deep $ref chain: %v in %v, %d MiB allocated", n, err, elapsed, (after.TotalAlloc-before.TotalAlloc)>>20)
	// x is 3, the end of the chain says string: the chain was followed.
	if err == nil || !strings.Contains(err.Error(), "chart chain 0.1.0") || strings.Contains(err.Error(), "panicked") {
		t.Errorf("got %v, want the schema violation naming the chart", err)
	}
	if elapsed > 30*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<30 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

// TestTypeConfusedChart: a Chart.yaml whose fields have the wrong types
// (CVE-2025-55198's shape) is refused by the loader with an error naming
// the chart, and nothing panics.
func TestTypeConfusedChart(t *testing.T) {
	for name, chartYAML := range map[string]string{
		"version is a list":        "apiVersion: v2\nname: evil\nversion: [1]\n",
		"name is a map":            "apiVersion: v2\nname: {a: b}\nversion: 0.1.0\n",
		"dependencies is a string": "apiVersion: v2\nname: evil\nversion: 0.1.0\ndependencies: x\n",
		"maintainers are numbers":  "apiVersion: v2\nname: evil\nversion: 0.1.0\nmaintainers: [1, 2]\n",
		"annotations is a list":    "apiVersion: v2\nname: evil\nversion: 0.1.0\nannotations: [a]\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := badChartEnv(t, "evil", "")
			dir := t.TempDir()
			data := tgz(t, map[string][]byte{"evil/Chart.yaml": []byte(chartYAML), "evil/templates/cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")})
			if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "charts", "evil-0.1.0.tgz"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			s := source.Source{Repo: "https://charts.example.com/stable", Chart: "evil", Version: "0.1.0"}
			lock := &source.Lock{Version: 1, Sources: []source.Locked{{
				Key: s.Key(), Kind: s.Kind(), Repo: s.Repo, Chart: s.Chart, Version: s.Version,
				Path: "charts/evil-0.1.0.tgz", Digest: fmt.Sprintf("sha256:%x", sha256.Sum256(data)),
			}}}
			_, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
			if err == nil || !strings.Contains(err.Error(), "environment bad: component monitoring: chart evil 0.1.0: loading ") || strings.Contains(err.Error(), "panicked") {
				t.Errorf("got %v, want the loader's refusal naming the chart", err)
			}
		})
	}
}
