package render

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/policy"
	"github.com/plinth-platform/plinth/lib/source"
)

// evaluateSource evaluates an environment written by the test.
func evaluateSource(t *testing.T, src string) *platform.Platform {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "environments", "e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.cue"), []byte("package plinth\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	env, err := platform.Resolve(root, "e")
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlinthComponent renders the controller offline (it needs no
// vendored source) and checks what varies with the environment, and that
// the strictest policy passes.
func TestPlinthComponent(t *testing.T) {
	p := evaluateSource(t, `
cluster: version: "1.34.4"
network: {airGapped: true, mirrors: images: "nexus.bank.local:8443"}
policy: requireLimits: true
components: plinth: {enabled: true, version: "v0.2.0", replicas: 3, notify: secretName: "hooks"}
`)
	if !p.Valid() {
		t.Fatal(p.Findings)
	}
	r, err := Render(context.Background(), p, Options{Lock: &source.Lock{Version: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Components) != 1 || r.Components[0].Name != "plinth" {
		t.Fatalf("components: %+v", r.Components)
	}
	objs := r.Components[0].Objects
	var ids []string
	for _, o := range objs {
		ids = append(ids, manifest.IDOf(o).String())
	}
	for _, want := range []string{"Namespace/plinth-system", "CustomResourceDefinition.apiextensions.k8s.io/environments.plinth.dev", "Deployment.apps/plinth-system/plinth-controller", "Service/plinth-system/plinth-controller"} {
		if !slices.Contains(ids, want) {
			t.Errorf("missing %s in %v", want, ids)
		}
	}
	for _, id := range ids {
		if strings.Contains(id, "ServiceMonitor") || strings.Contains(id, "ConfigMap") {
			t.Errorf("%s rendered without the monitoring component", id)
		}
	}
	for _, o := range objs {
		if k := o.GetKind(); (k == "Namespace" || k == "CustomResourceDefinition") && o.GetAnnotations()["plinth.dev/prune"] != "disabled" {
			t.Errorf("%s can be pruned", manifest.IDOf(o))
		}
		if o.GetKind() != "Deployment" {
			continue
		}
		spec := o.Object["spec"].(map[string]any)
		if spec["replicas"] != int64(3) {
			t.Errorf("replicas: %v", spec["replicas"])
		}
		c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
		if img := c["image"]; img != "nexus.bank.local:8443/ghcr.io/plinth-platform/plinth:v0.2.0" {
			t.Errorf("image: %v", img)
		}
		if args := c["args"].([]any); !slices.Contains(args, any("--notify-config=/etc/plinth/notify/notify.yaml")) || args[0] != "controller" {
			t.Errorf("args: %v", args)
		}
	}
	facts := policy.FactsOf(p)
	if vs := policy.Check(facts, []manifest.Component{{Name: "plinth", Objects: objs}}); len(vs) > 0 {
		t.Errorf("policy: %v", vs)
	}
}

// TestPlinthCatalog checks the catalog entry with monitoring: the
// ServiceMonitor, the dashboard overlay and the order after monitoring.
func TestPlinthCatalog(t *testing.T) {
	p := evaluateSource(t, `
cluster: version: "1.34.4"
components: {plinth: enabled: true, monitoring: enabled: true}
`)
	if !p.Valid() {
		t.Fatal(p.Findings)
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	c := comps["plinth"]
	if c == nil {
		t.Fatal("no plinth component")
	}
	if !slices.Equal(c.DependsOn, []string{"monitoring"}) {
		t.Errorf("dependsOn: %v", c.DependsOn)
	}
	if len(c.Kustomize) != 1 || c.Kustomize[0].Overlay != "plinth-controller" || !slices.Equal(c.Kustomize[0].Paths, []string{".", "dashboard"}) {
		t.Errorf("kustomize: %+v", c.Kustomize)
	}
	var monitor bool
	for _, o := range c.Objects {
		if o["kind"] == "ServiceMonitor" {
			monitor = o["metadata"].(map[string]any)["labels"].(map[string]any)["release"] == "kube-prometheus-stack"
		}
	}
	if !monitor {
		t.Error("no ServiceMonitor labelled for kube-prometheus-stack's Prometheus")
	}
}

// TestPlinthEgress: a cluster that is not air-gapped pulls the controller
// image from ghcr.io, so an allow-list must name it.
func TestPlinthEgress(t *testing.T) {
	p := evaluateSource(t, `
cluster: version: "1.34.4"
network: allowedEgress: ["git.bank.local"]
components: plinth: enabled: true
`)
	var found bool
	for _, f := range p.Findings {
		found = found || f.Rule == "EGRESS-1" && strings.Contains(f.Detail, "ghcr.io")
	}
	if !found {
		t.Errorf("want EGRESS-1 naming ghcr.io, got %v", p.Findings)
	}
}

// TestPlinthShards: one Deployment per shard besides plinth-controller,
// each running --shard=<name> with pods labelled with their shard; no
// Deployment's selector matches another's pods (plinth-controller's stays
// as installed); each has a Service selecting its pods only, and the
// ServiceMonitor selects every Service.
func TestPlinthShards(t *testing.T) {
	p := evaluateSource(t, `
cluster: version: "1.34.4"
components: {monitoring: enabled: true, plinth: {enabled: true, replicas: 3, shards: ["batch", "ml"]}}
`)
	if !p.Valid() {
		t.Fatal(p.Findings)
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	type controller struct {
		selector, pods labels.Set
		args           []string
	}
	deployments := map[string]controller{}
	services, serviceLabels := map[string]labels.Set{}, map[string]labels.Set{}
	var monitor labels.Set
	for _, o := range comps["plinth"].Objects {
		u := unstructured.Unstructured{Object: o}
		switch u.GetKind() {
		case "Deployment":
			sel, _, _ := unstructured.NestedStringMap(o, "spec", "selector", "matchLabels")
			pods, _, _ := unstructured.NestedStringMap(o, "spec", "template", "metadata", "labels")
			containers, _, _ := unstructured.NestedSlice(o, "spec", "template", "spec", "containers")
			var args []string
			for _, a := range containers[0].(map[string]any)["args"].([]any) {
				args = append(args, a.(string))
			}
			if r, _, _ := unstructured.NestedInt64(o, "spec", "replicas"); r != 3 {
				t.Errorf("Deployment %s: replicas %d, want 3", u.GetName(), r)
			}
			deployments[u.GetName()] = controller{selector: sel, pods: pods, args: args}
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(o, "spec", "selector")
			services[u.GetName()], serviceLabels[u.GetName()] = sel, u.GetLabels()
		case "ServiceMonitor":
			monitor, _, _ = unstructured.NestedStringMap(o, "spec", "selector", "matchLabels")
		}
	}
	want := map[string]string{"plinth-controller": "", "plinth-controller-batch": "batch", "plinth-controller-ml": "ml"}
	if len(deployments) != len(want) {
		t.Fatalf("Deployments: %v, want %v", slices.Sorted(maps.Keys(deployments)), slices.Sorted(maps.Keys(want)))
	}
	for name, shard := range want {
		d, ok := deployments[name]
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		shardArgs := slices.DeleteFunc(slices.Clone(d.args), func(a string) bool { return !strings.HasPrefix(a, "--shard") })
		if shard == "" {
			if len(shardArgs) != 0 || d.pods["plinth.dev/shard"] != "" {
				t.Errorf("%s: shard args %v, labels %v; want neither", name, shardArgs, d.pods)
			}
			// Immutable: a different selector would break the upgrade of every install.
			if !maps.Equal(d.selector, labels.Set{"app.kubernetes.io/name": "plinth-controller"}) {
				t.Errorf("%s: selector %v changed", name, d.selector)
			}
		} else if !slices.Equal(shardArgs, []string{"--shard=" + shard}) || d.pods["plinth.dev/shard"] != shard {
			t.Errorf("%s: shard args %v, labels %v; want --shard=%s and plinth.dev/shard: %s", name, shardArgs, d.pods, shard, shard)
		}
		svc, ok := services[name]
		if !ok {
			t.Errorf("no Service %s", name)
		}
		for other, o := range deployments {
			if matches := labels.SelectorFromSet(d.selector).Matches(o.pods); matches != (other == name) {
				t.Errorf("Deployment %s's selector %v matches the pods of %s (%v): %v", name, d.selector, other, o.pods, matches)
			}
			if matches := labels.SelectorFromSet(svc).Matches(o.pods); ok && matches != (other == name) {
				t.Errorf("Service %s's selector %v matches the pods of %s (%v): %v", name, svc, other, o.pods, matches)
			}
		}
		if !labels.SelectorFromSet(monitor).Matches(serviceLabels[name]) {
			t.Errorf("the ServiceMonitor (%v) does not scrape Service %s (%v)", monitor, name, serviceLabels[name])
		}
	}
}
