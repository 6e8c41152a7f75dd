package render

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden renders the example environments and compares them with
// testdata/golden/<env>. dev is kept in full; prod and okd, whose
// Kubeflow alone is 12 MB, as an index of objects with their digests
// plus kustomization.yaml and images.txt, so a change shows as a short,
// reviewable diff of the objects it touched.
func TestGolden(t *testing.T) {
	for _, name := range []string{"dev", "prod", "okd"} {
		t.Run(name, func(t *testing.T) {
			files := renderFiles(t, name)
			golden := filepath.Join("testdata", "golden", name)
			want := files
			if name != "dev" {
				want = indexFiles(t, files)
			}
			if *update {
				if err := Write(golden, want); err != nil {
					t.Fatal(err)
				}
				return
			}
			stale, err := Stale(golden, want)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range stale {
				name := strings.Fields(s)[0]
				got, _ := os.ReadFile(filepath.Join(golden, name))
				t.Errorf("%s: %s\n%s", golden, s, firstDiff(got, want[name]))
			}
			if len(stale) > 0 {
				t.Log("if the change is intended: go test ./lib/render -run TestGolden -update, and review the diff")
			}
		})
	}
}

func renderFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	p := evaluateExample(name)
	opts := Options{Lock: &source.Lock{Version: 1}}
	if name != "dev" {
		opts.VendorDir, opts.Lock = vendorFixtures(t)
	}
	r, err := Render(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(r)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// indexFiles replaces each <component>.yaml by <component>.index: one line
// per object, its identity and the digest of its canonical YAML.
func indexFiles(t *testing.T, files map[string][]byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for name, data := range files {
		if !strings.HasSuffix(name, ".yaml") || name == "kustomization.yaml" {
			out[name] = data
			continue
		}
		objs, err := manifest.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b strings.Builder
		for _, o := range objs {
			d, err := manifest.Digest([]*unstructured.Unstructured{o})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s\n", manifest.IDOf(o), d)
		}
		out[strings.TrimSuffix(name, ".yaml")+".index"] = []byte(b.String())
	}
	return out
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestDeterministic renders prod twice, with GOMAXPROCS 1 and 2: the
// output must be byte for byte the same.
func TestDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	one := renderFiles(t, "prod")
	runtime.GOMAXPROCS(2)
	two := renderFiles(t, "prod")
	if len(one) != len(two) {
		t.Fatalf("%d files vs %d", len(one), len(two))
	}
	for name := range one {
		if !bytes.Equal(one[name], two[name]) {
			t.Errorf("%s differs between GOMAXPROCS 1 and 2:\n%s", name, firstDiff(one[name], two[name]))
		}
	}
}

// TestHermetic renders prod and okd with the network and every program
// out of reach: the default HTTP transport fails and PATH is empty.
func TestHermetic(t *testing.T) {
	vendorFixtures(t) // vendoring itself may use the network; rendering may not
	saved := http.DefaultTransport
	http.DefaultTransport = failingTransport{t}
	defer func() { http.DefaultTransport = saved }()
	t.Setenv("PATH", "")
	for _, name := range []string{"okd", "prod"} {
		if files := renderFiles(t, name); len(files) < 3 {
			t.Errorf("%s: %d files", name, len(files))
		}
	}
}

type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("render tried to fetch %s", r.URL)
	return nil, fmt.Errorf("network denied in test")
}

// TestMissingSource: a source absent from plinth.lock fails the render
// naming environment, component and chart; nothing is returned.
func TestMissingSource(t *testing.T) {
	dir, lock := vendorFixtures(t)
	partial := &source.Lock{Version: lock.Version}
	for _, l := range lock.Sources {
		if l.Chart != "kube-prometheus-stack" {
			partial.Sources = append(partial.Sources, l)
		}
	}
	r, err := Render(context.Background(), evaluateExample("prod"), Options{VendorDir: dir, Lock: partial})
	if err == nil || r != nil {
		t.Fatalf("got %v, %v", r, err)
	}
	want := "environment prod: 1 source is not vendored: run plinth vendor prod\n  chart kube-prometheus-stack 88.5.3 (monitoring): not in plinth.lock"
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

// TestMissingSources: prod with nothing vendored names every one of its
// sources in one error, sorted, the components using each, and the
// command that vendors them; the same error on every run.
func TestMissingSources(t *testing.T) {
	p := evaluateExample("prod")
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range Sources(comps) {
		want = append(want, s.String())
	}
	if len(want) < 2 {
		t.Fatalf("prod has %d sources, want several", len(want))
	}
	slices.Sort(want)
	var first string
	for range 5 {
		_, err := Render(context.Background(), p, Options{VendorDir: filepath.Join(t.TempDir(), "vendor"), Lock: &source.Lock{Version: 1}})
		if err == nil {
			t.Fatal("rendered without sources")
		}
		lines := strings.Split(err.Error(), "\n")
		if head := fmt.Sprintf("environment prod: %d sources are not vendored: run plinth vendor prod", len(want)); lines[0] != head {
			t.Errorf("first line %q, want %q", lines[0], head)
		}
		var got []string
		for _, l := range lines[1:] {
			src, _, ok := strings.Cut(strings.TrimPrefix(l, "  "), " (")
			if !ok || !strings.HasSuffix(l, "): not in plinth.lock") {
				t.Errorf("line %q", l)
			}
			got = append(got, src)
		}
		if !slices.Equal(got, want) {
			t.Errorf("sources named:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("the error changed between runs:\n%s\n%s", first, err)
		}
	}
	t.Log(first)
}

func TestDependencyOrder(t *testing.T) {
	comps := map[string]*platform.Component{
		"kubeflow":    {DependsOn: []string{"istio", "certManager"}},
		"istio":       {},
		"certManager": {},
		"tenants":     {DependsOn: []string{"kubeflow"}},
		"objects":     {},
	}
	order, err := dependencyOrder(comps)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"certManager", "istio", "kubeflow", "objects", "tenants"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	comps["istio"].DependsOn = []string{"tenants"}
	if _, err := dependencyOrder(comps); err == nil || !strings.Contains(err.Error(), "dependsOn cycle: istio → tenants → kubeflow → istio") {
		t.Errorf("cycle: %v", err)
	}
	comps["istio"].DependsOn = []string{"nexus"}
	if _, err := dependencyOrder(comps); err == nil || !strings.Contains(err.Error(), "istio depends on nexus, which is not enabled") {
		t.Errorf("missing dependency: %v", err)
	}
}
