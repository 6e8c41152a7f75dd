package render

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/policy"
)

// TestAirGapped renders prod and okd from the fixtures and checks the
// rewrite with the independent scan of every string (policy.ScanImages,
// which shares no code with lib/image): no reference is off the mirrors
// except those the environment allows, and every reference on a mirror is
// listed in images.txt (as a pulled image, its name, or a registry prefix
// of one). A chart or manifest upgrade that brings an image in a field the
// locator does not know fails here.
func TestAirGapped(t *testing.T) {
	vendorDir, lock := vendorFixtures(t)
	for _, name := range []string{"prod", "okd"} {
		t.Run(name, func(t *testing.T) {
			p := evaluateExample(name)
			r, err := Render(context.Background(), p, Options{VendorDir: vendorDir, Lock: lock})
			if err != nil {
				t.Fatal(err)
			}
			facts := policy.FactsOf(p)
			if !facts.AirGapped || len(facts.Mirrors) == 0 {
				t.Fatalf("%s is not air-gapped behind a mirror: %+v", name, facts)
			}
			files, err := Files(r)
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, line := range strings.Split(strings.TrimSpace(string(files["images.txt"])), "\n") {
				_, pulled, ok := strings.Cut(line, "\t")
				if !ok {
					t.Fatalf("images.txt line %q", line)
				}
				listed = append(listed, pulled)
			}
			// Scan the objects as written, parsed back from the files.
			mirrored, allowed := 0, map[string]bool{}
			for _, c := range r.Components {
				objs, err := manifest.Parse(files[c.Name+".yaml"])
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if field := assertedForController(o.Object, ""); field != "" {
						t.Errorf("%s: %s asserts %s, which a controller in the cluster sets", c.Name, manifest.IDOf(o), field)
					}
					if _, ok := o.Object["aggregationRule"]; ok && o.Object["rules"] != nil {
						t.Errorf("%s: %s: aggregated ClusterRole asserts rules the control plane aggregates", c.Name, manifest.IDOf(o))
					}
					for _, ref := range policy.ScanImages(o, facts.Mirrors) {
						where := c.Name + ": " + manifest.IDOf(o).String() + " " + ref.Path + ": " + ref.Value
						switch {
						case !ref.Mirrored && slices.Contains(facts.MirrorAllow, ref.Value):
							allowed[ref.Value] = true
						case !ref.Mirrored:
							t.Errorf("off the mirror: %s", where)
						case !listedAs(listed, ref.Value):
							t.Errorf("on the mirror but not in images.txt: %s", where)
						default:
							mirrored++
						}
					}
				}
			}
			if mirrored < 100 {
				t.Errorf("only %d references on the mirror: the scan finds too little to prove anything", mirrored)
			}
			for _, a := range facts.MirrorAllow {
				if !allowed[a] {
					t.Errorf("network.mirrors.allow lists %q, which no longer occurs: drop it", a)
				}
			}
			if name == "prod" {
				checkMirrorRegistries(t, r)
			}
			t.Logf("%s: %d references on the mirror, %d allowed, %d images listed", name, mirrored, len(allowed), len(listed))
		})
	}
}

// listedAs reports whether a reference found on the mirror is one of the
// listed pulled images, the name of one, or a prefix of one's path.
func listedAs(listed []string, ref string) bool {
	for _, l := range listed {
		if l == ref || strings.HasPrefix(l, ref+":") || strings.HasPrefix(l, ref+"@") || strings.HasPrefix(l, ref+"/") {
			return true
		}
	}
	return false
}

// checkMirrorRegistries: prod maps docker.io and nvcr.io to Nexus proxy
// repositories of their own (network.mirrors.registries); their images
// land there, every other registry's under the default prefix.
func checkMirrorRegistries(t *testing.T, r *Result) {
	t.Helper()
	want := map[string]string{
		"docker.io": "nexus.bank.local:8443/dockerhub/",
		"nvcr.io":   "nexus.bank.local:8444/nvidia/",
	}
	seen := map[string]int{}
	for _, img := range Images(r.Images) {
		registry, path, _ := strings.Cut(img.Image, "/")
		prefix, mapped := want[registry]
		if !mapped {
			prefix = "nexus.bank.local:8443/" + registry + "/"
		}
		if img.Mirror != prefix+path {
			t.Errorf("%s pulled as %s, want %s%s", img.Image, img.Mirror, prefix, path)
		}
		seen[registry]++
	}
	for _, registry := range []string{"docker.io", "nvcr.io", "quay.io", "ghcr.io", "registry.k8s.io"} {
		if seen[registry] == 0 {
			t.Errorf("no image of %s in prod", registry)
		}
	}
}

// TestOKDMirrorSet: the ImageDigestMirrorSet of an OKD environment follows
// network.mirrors.registries, and the default prefix for the rest.
// assertedForController finds, independently of lib/controlled, a CA
// bundle rendered empty or as a placeholder anywhere in an object: the
// value cainjector and its kind replace (the reliability issue's
// admission webhook).
func assertedForController(node any, at string) string {
	switch v := node.(type) {
	case map[string]any:
		for k, child := range v {
			if k == "caBundle" && (child == "" || child == "Cg==") {
				return at + "/" + k
			}
			if f := assertedForController(child, at+"/"+k); f != "" {
				return f
			}
		}
	case []any:
		for i, child := range v {
			if f := assertedForController(child, fmt.Sprintf("%s/%d", at, i)); f != "" {
				return f
			}
		}
	}
	return ""
}

func TestOKDMirrorSet(t *testing.T) {
	p := evaluateSource(t, `
cluster: {distribution: "okd", version: "4.21.0-okd-scos.2", runtime: "cri-o", os: "scos", nodes: {controlPlane: 3, workers: 3}}
network: {airGapped: true, mirrors: {images: "registry.stand.local:5000", registries: "docker.io": "registry.stand.local:5001/hub"}}
components: monitoring: enabled: true
`)
	if !p.Valid() {
		t.Fatal(p.Findings)
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := comps["mirrors"]
	if !ok || len(m.Objects) != 1 {
		t.Fatalf("mirrors component: %+v", m)
	}
	spec, _ := m.Objects[0]["spec"].(map[string]any)
	got := map[string]string{}
	for _, e := range spec["imageDigestMirrors"].([]any) {
		e := e.(map[string]any)
		got[e["source"].(string)] = e["mirrors"].([]any)[0].(string)
	}
	want := map[string]string{
		"docker.io":       "registry.stand.local:5001/hub",
		"ghcr.io":         "registry.stand.local:5000/ghcr.io",
		"quay.io":         "registry.stand.local:5000/quay.io",
		"registry.k8s.io": "registry.stand.local:5000/registry.k8s.io",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("imageDigestMirrors = %v, want %v", got, want)
	}
}
