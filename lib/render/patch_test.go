package render

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	schemas "github.com/plinth-platform/plinth/cue"
	"github.com/plinth-platform/plinth/lib/fixtures"
	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

// A component's patches mean what they mean to kustomize: the
// kube-prometheus-stack fixture chart's objects patched by plinth equal
// `kustomize build` (the CLI from make tools) of the same objects with the
// same patch, for a strategic-merge patch with and without a target and
// for a JSON 6902 patch.
func TestPatchesMatchKustomizeBuild(t *testing.T) {
	kustomize := referenceTool(t, "kustomize")
	archive := filepath.Join(fixtures.Dir(t), "charts", "kube-prometheus-stack-88.5.3.tgz")
	caps := Capabilities{KubeVersion: "v1.34.4", APIVersions: []string{"monitoring.coreos.com/v1"}}
	objs, _, err := renderChart(context.Background(), archive, platform.HelmPart{Chart: "kube-prometheus-stack", Release: "kps", Namespace: "monitoring", Lookup: "warn"}, nil, caps, false)
	if err != nil {
		t.Fatal(err)
	}
	defaultNamespace(objs, "monitoring")
	for _, tc := range []struct {
		name  string
		patch platform.Patch
		// changed is a string the patched output has and the input lacks.
		changed string
	}{
		{"strategic merge, targeted", platform.Patch{
			Target: &platform.PatchTarget{Kind: "Deployment", Name: "kps-kube-prometheus-stack-operator"},
			Patch:  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  replicas: 7\n  template:\n    spec:\n      nodeSelector:\n        pool: system\n",
		}, "pool: system"},
		{"strategic merge, naming its object", platform.Patch{
			Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kps-grafana\n  namespace: monitoring\nspec:\n  replicas: 5\n",
		}, "replicas: 5"},
		{"JSON 6902, every Service", platform.Patch{
			Target: &platform.PatchTarget{Version: "v1", Kind: "Service"},
			Patch:  "- op: add\n  path: /metadata/labels/tier\n  value: monitoring\n",
		}, "tier: monitoring"},
		{"JSON 6902, by namespace and label selector", platform.Patch{
			Target: &platform.PatchTarget{Namespace: "monitoring", LabelSelector: "app.kubernetes.io/name=grafana"},
			Patch:  "- op: add\n  path: /metadata/labels/dashboards\n  value: shared\n",
		}, "dashboards: shared"},
		{"JSON 6902, by annotation selector", platform.Patch{
			Target: &platform.PatchTarget{AnnotationSelector: "helm.sh/hook"},
			Patch:  "- op: add\n  path: /metadata/labels/hooked\n  value: \"yes\"\n",
		}, "hooked: \"yes\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := applyPatches(&platform.Component{Name: "monitoring", Patches: []platform.Patch{tc.patch}}, objs, nil)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var in bytes.Buffer
			if err := manifest.Encode(&in, objs); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(in.Bytes(), []byte(tc.changed)) {
				t.Fatalf("the input already has %q", tc.changed)
			}
			kp := map[string]any{"patch": tc.patch.Patch}
			if tc.patch.Target != nil {
				kp["target"] = tc.patch.Target
			}
			k := map[string]any{"resources": []string{"objects.yaml"}, "patches": []any{kp}}
			kdata, err := yaml.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "objects.yaml"), in.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), kdata, 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(kustomize, "build", dir)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kustomize build: %v\n%s\n%s", err, stderr.String(), kdata)
			}
			want, err := manifest.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			g, w := canonical(t, got), canonical(t, want)
			if !bytes.Equal(g, w) {
				t.Errorf("plinth (%d objects) and kustomize build (%d objects) differ:\n%s", len(got), len(want), firstDiff(g, w))
			}
			if !bytes.Contains(g, []byte(tc.changed)) {
				t.Errorf("the patched output lacks %q", tc.changed)
			}
		})
	}
}

// evaluateValid evaluates environment name of the repository at root,
// which must be valid.
func evaluateValid(t *testing.T, root, name string) *platform.Platform {
	t.Helper()
	env, err := platform.Resolve(root, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Valid() {
		t.Fatal(p.Findings)
	}
	return p
}

// patchedEnvironment writes environment e enabling the plinth component
// (it renders offline) with the given patches, and files beside it, and
// evaluates it.
func patchedEnvironment(t *testing.T, patches string, files map[string]string) *platform.Platform {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		full := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "environments", "e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "package plinth\n\ncluster: version: \"1.34.4\"\nnetwork: mirrors: images: \"nexus.bank.local:8443\"\ncomponents: plinth: {\n\tenabled: true\n\tpatches: " + patches + "\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "env.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return evaluateValid(t, root, "e")
}

// The acceptance: a patch of the plinth component's Deployment
// renders replicas 7 (the component's own default is 2), written inline
// or in a file beside the environment, and the patched object is still
// labelled and mirrored as every rendered object.
func TestPatchedComponentRenders(t *testing.T) {
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: plinth-controller\nspec:\n  replicas: 7\n"
	for name, p := range map[string]*platform.Platform{
		"inline": patchedEnvironment(t, `[{target: {kind: "Deployment", name: "plinth-controller"}, patch: """
			apiVersion: apps/v1
			kind: Deployment
			metadata:
			  name: plinth-controller
			spec:
			  replicas: 7
			"""}]`, nil),
		"file": patchedEnvironment(t, `[{path: "../common/replicas.yaml", target: {kind: "Deployment"}}]`,
			map[string]string{"environments/common/replicas.yaml": deployment}),
	} {
		t.Run(name, func(t *testing.T) {
			r, err := Render(context.Background(), p, Options{Lock: &source.Lock{Version: 1}})
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, c := range r.Components {
				for _, o := range c.Objects {
					if o.GetKind() != "Deployment" || o.GetName() != "plinth-controller" {
						continue
					}
					found = true
					if n, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); fmt.Sprint(n) != "7" {
						t.Errorf("replicas %v, want 7", n)
					}
					if o.GetLabels()[manifest.LabelComponent] != "plinth" {
						t.Errorf("the patched Deployment lost plinth's labels: %v", o.GetLabels())
					}
					var b bytes.Buffer
					if err := manifest.Encode(&b, []*unstructured.Unstructured{o}); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(b.String(), "image: nexus.bank.local:8443/") {
						t.Errorf("the patched Deployment's image is not mirrored:\n%s", b.String())
					}
				}
			}
			if !found {
				t.Fatal("no Deployment plinth-controller rendered")
			}
		})
	}
}

// A patch that would silently do nothing fails the render, naming the
// environment, the component and where the environment wrote it; so does
// a patch file outside the repository or reached through a symlink.
func TestPatchRefusals(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, patches string
		files         map[string]string
		link          string // a symlink at environments/e/link.yaml to this
		want          []string
	}{
		{name: "target matches nothing", patches: `[{target: {kind: "Service", name: "nope"}, patch: """
			- op: add
			  path: /metadata/labels/x
			  value: "y"
			"""}]`, want: []string{"environment e: component plinth: patch at environments/e/env.cue:7:", "its target (kind=Service, name=nope) matches no object of the component"}},
		{name: "names an object that is not there", patches: `[{patch: """
			apiVersion: apps/v1
			kind: Deployment
			metadata:
			  name: nope
			spec:
			  replicas: 1
			"""}]`, want: []string{"component plinth: patch at environments/e/env.cue:7:", "no resource matches strategic merge patch"}},
		{name: "file outside the repository", patches: `[{path: "../../../../` + strings.TrimPrefix(outside, "/") + `", target: {kind: "Service"}}]`,
			want: []string{"patch at environments/e/env.cue:7:", "is outside the repository"}},
		{name: "absolute file", patches: `[{path: "` + outside + `", target: {kind: "Service"}}]`,
			want: []string{"must be relative to the environment's directory"}},
		{name: "file through a symlink", patches: `[{path: "link.yaml", target: {kind: "Service"}}]`, link: outside,
			want: []string{"environments/e/link.yaml is a symlink"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := patchedEnvironment(t, tc.patches, tc.files)
			if tc.link != "" {
				if err := os.Symlink(tc.link, filepath.Join(p.Environment.Dir, "link.yaml")); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Render(context.Background(), p, Options{Lock: &source.Lock{Version: 1}})
			if err == nil {
				t.Fatal("rendered")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// The worked examples of docs/environment.md (cue/guide/components.md) do what the
// guide says: each ```cue block, added to prod, renders with the change.
func TestGuideExamples(t *testing.T) {
	vendorDir, lock := vendorFixtures(t)
	guide, err := fs.ReadFile(schemas.Guide, "guide/components.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(guide), "```cue\n")[1:] {
		blocks = append(blocks, part[:strings.Index(part, "```")])
	}
	// What each example, in the guide's order, must change in prod.
	checks := []struct {
		component, kind, name string
		path                  []string
		want                  string
	}{
		{"kubeflow", "Deployment", "katib-controller", []string{"spec", "replicas"}, "2"},
		{"gpu", "Deployment", "gpu-operator", []string{"spec", "template", "spec", "nodeSelector", "node-role.kubernetes.io/infra"}, ""},
	}
	if len(blocks) != len(checks) {
		t.Fatalf("the guide has %d examples, the test checks %d", len(blocks), len(checks))
	}
	for i, block := range blocks {
		c := checks[i]
		t.Run(c.component, func(t *testing.T) {
			root := t.TempDir()
			if err := os.CopyFS(filepath.Join(root, "environments"), os.DirFS(filepath.Join("..", "..", "environments"))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "environments", "prod", "guide.cue"), []byte("package plinth\n\n"+block), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Render(context.Background(), evaluateValid(t, root, "prod"), Options{VendorDir: vendorDir, Lock: lock})
			if err != nil {
				t.Fatal(err)
			}
			for _, comp := range r.Components {
				for _, o := range comp.Objects {
					if comp.Name != c.component || o.GetKind() != c.kind || o.GetName() != c.name {
						continue
					}
					got, found, err := unstructured.NestedFieldNoCopy(o.Object, c.path...)
					if err != nil || !found || fmt.Sprint(got) != c.want {
						t.Errorf("%s %s: %s is %v (found %v, %v), want %q", c.kind, c.name, strings.Join(c.path, "."), got, found, err, c.want)
					}
					return
				}
			}
			t.Errorf("component %s rendered no %s %s", c.component, c.kind, c.name)
		})
	}
}
