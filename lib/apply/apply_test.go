package apply_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/render"
)

const crdYAML = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.NS.example.com}
spec:
  group: NS.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
`

// A CRD and a custom resource of it in one set: the resource is validated
// against the CRD's schema before anything exists, then applied once the
// CRD is established. A second apply changes nothing.
func TestCRDAndCustomResource(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []render.Rendered{component(t, ns, ns, "widgets", crdYAML+`
---
apiVersion: NS.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {size: 3}
`)}
	res := mustApply(t, a, ns, comps, apply.Options{})
	wantActions(t, res, map[string]apply.Action{
		"CustomResourceDefinition.apiextensions.k8s.io/widgets." + ns + ".example.com": apply.Created,
		"Widget." + ns + ".example.com/" + ns + "/w1":                                  apply.Created,
	})
	if get(t, ns+".example.com/v1", "Widget", ns, "w1") == nil {
		t.Fatal("widget not created")
	}
	before := w.n.Load()
	res = mustApply(t, a, ns, comps, apply.Options{})
	for _, c := range res.Changes {
		if c.Action != apply.Unchanged {
			t.Errorf("second apply: %s %s", c.ID, c.Action)
		}
	}
	if n := w.n.Load() - before; n != 0 {
		t.Errorf("second apply made %d writes, want none", n)
	}
}

// A Namespace and objects in it, in one set.
func TestNamespaceAndNamespacedObjects(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	env := cluster.Namespace(t)
	ns := env + "-new"
	res := mustApply(t, a, env, []render.Rendered{component(t, env, ns, "app", `
apiVersion: v1
kind: Namespace
metadata: {name: NS}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS}
data: {a: "1"}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: runner, namespace: NS}
`)}, apply.Options{})
	wantActions(t, res, map[string]apply.Action{
		"Namespace/" + ns:                  apply.Created,
		"ConfigMap/" + ns + "/settings":    apply.Created,
		"ServiceAccount/" + ns + "/runner": apply.Created,
	})
	if get(t, "v1", "ConfigMap", ns, "settings") == nil {
		t.Fatal("configmap not created")
	}
}

// One set with several invalid objects among valid ones: every failure is
// reported, naming component, object and field, and nothing is written.
func TestInvalidObjectsWriteNothing(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []render.Rendered{
		component(t, ns, ns, "good", `
apiVersion: v1
kind: ConfigMap
metadata: {name: fine, namespace: NS}
data: {a: "1"}
---
apiVersion: v1
kind: Namespace
metadata: {name: NS-extra}
`),
		component(t, ns, ns, "bad", crdYAML+`
---
apiVersion: v1
kind: Service
metadata: {name: broken-port, namespace: NS}
spec:
  ports: [{port: 70000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: no-selector, namespace: NS}
spec:
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: NS.example.com/v1
kind: Widget
metadata: {name: too-small, namespace: NS}
spec: {size: 0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: lost, namespace: NS-nowhere}
`, "good"),
	}
	_, err := a.Apply(context.Background(), ns, comps, apply.Options{})
	var verr *apply.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"component bad: Service/" + ns + "/broken-port: spec.ports[0].port",
		"component bad: Deployment.apps/" + ns + "/no-selector: spec.selector",
		"component bad: Widget." + ns + ".example.com/" + ns + "/too-small: spec.size",
		"component bad: ConfigMap/" + ns + "-nowhere/lost: namespace " + ns + "-nowhere does not exist",
		"nothing was written",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(verr.Failures) != 4 {
		t.Errorf("%d failures, want 4:\n%s", len(verr.Failures), msg)
	}
	if n := w.n.Load(); n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if get(t, "v1", "ConfigMap", ns, "fine") != nil || get(t, "v1", "Namespace", "", ns+"-extra") != nil {
		t.Error("a valid object of the set was created")
	}
	if inv := inventoryOf(t, ns); len(inv) != 0 {
		t.Errorf("inventory written: %v", inv)
	}
}

const twoConfigMaps = `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, namespace: NS}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: old, namespace: NS}
data: {a: "1"}
`

const oneConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, namespace: NS}
data: {a: "1"}
`

// An object removed from the environment is kept (and stays in the
// inventory) without Prune, and deleted with it.
func TestPrune(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
	one := []render.Rendered{component(t, ns, ns, "app", oneConfigMap)}

	res := mustApply(t, a, ns, one, apply.Options{})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Kept})
	if get(t, "v1", "ConfigMap", ns, "old") == nil {
		t.Fatal("deleted without Prune")
	}
	if inv := inventoryOf(t, ns); len(inv) != 2 {
		t.Fatalf("inventory without prune = %v, want both", inv)
	}

	plan := mustApply(t, a, ns, one, apply.Options{Prune: true, DryRun: true})
	wantActions(t, plan, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Deleted})
	if get(t, "v1", "ConfigMap", ns, "old") == nil {
		t.Fatal("dry run deleted")
	}

	res = mustApply(t, a, ns, one, apply.Options{Prune: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Deleted})
	if get(t, "v1", "ConfigMap", ns, "old") != nil {
		t.Fatal("not pruned")
	}
	if inv := inventoryOf(t, ns); !slices.Equal(inv, []string{"ConfigMap/" + ns + "/keep"}) {
		t.Fatalf("inventory after prune = %v", inv)
	}
}

// An object annotated plinth.dev/prune: disabled survives its removal
// and leaves the inventory; an object plinth never applied is never
// deleted, even when it carries the environment's label.
func TestPruneSurvivors(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
	ctx := context.Background()
	c := cluster.Client(t)
	old := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "old"}, old); err != nil {
		t.Fatal(err)
	}
	old.Annotations = map[string]string{apply.AnnotationPrune: "disabled"}
	if err := c.Update(ctx, old); err != nil {
		t.Fatal(err)
	}
	stranger := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: ns, Labels: map[string]string{render.LabelEnvironment: ns}}}
	if err := c.Create(ctx, stranger); err != nil {
		t.Fatal(err)
	}

	res := mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", oneConfigMap)}, apply.Options{Prune: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Kept})
	if get(t, "v1", "ConfigMap", ns, "old") == nil || get(t, "v1", "ConfigMap", ns, "stranger") == nil {
		t.Fatal("a survivor was deleted")
	}
	if inv := inventoryOf(t, ns); !slices.Equal(inv, []string{"ConfigMap/" + ns + "/keep"}) {
		t.Fatalf("inventory = %v", inv)
	}
}

// An empty set is refused unless allowed; allowed with Prune, it deletes
// everything the inventory lists.
func TestEmptySetGuard(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
	before := w.n.Load()
	_, err := a.Apply(context.Background(), ns, []render.Rendered{{Name: "app"}}, apply.Options{Prune: true})
	if err == nil || !strings.Contains(err.Error(), "renders no objects") || !strings.Contains(err.Error(), "allow-empty") {
		t.Fatalf("err = %v", err)
	}
	if w.n.Load() != before || get(t, "v1", "ConfigMap", ns, "old") == nil {
		t.Fatal("the refused apply wrote")
	}
	mustApply(t, a, ns, nil, apply.Options{Prune: true, AllowEmpty: true})
	if get(t, "v1", "ConfigMap", ns, "old") != nil || get(t, "v1", "ConfigMap", ns, "keep") != nil {
		t.Fatal("not pruned")
	}
	if inv := inventoryOf(t, ns); len(inv) != 0 {
		t.Fatalf("inventory = %v", inv)
	}
}

// A change of an immutable field fails naming the field, writing nothing;
// with Force the object is deleted and created again.
func TestImmutableField(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	deployment := func(app string) []render.Rendered {
		return []render.Rendered{component(t, ns, ns, "app", strings.ReplaceAll(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: APP}}
  template:
    metadata: {labels: {app: APP}}
    spec: {containers: [{name: c, image: nginx}]}
`, "APP", app))}
	}
	mustApply(t, a, ns, deployment("v1"), apply.Options{})
	uid := get(t, "apps/v1", "Deployment", ns, "web").GetUID()

	before := w.n.Load()
	_, err := a.Apply(context.Background(), ns, deployment("v2"), apply.Options{})
	if err == nil || !strings.Contains(err.Error(), "immutable field changed: spec.selector") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v", err)
	}
	if w.n.Load() != before {
		t.Fatal("the refused apply wrote")
	}

	res := mustApply(t, a, ns, deployment("v2"), apply.Options{Force: true})
	wantActions(t, res, map[string]apply.Action{"Deployment.apps/" + ns + "/web": apply.Recreated})
	d := get(t, "apps/v1", "Deployment", ns, "web")
	if d.GetUID() == uid {
		t.Fatal("not recreated")
	}
	if sel, _, _ := unstructuredString(d.Object, "spec", "selector", "matchLabels", "app"); sel != "v2" {
		t.Fatalf("selector = %q", sel)
	}
}

// A field another manager changed (as kubectl edit does) is a conflict,
// not taken; with Adopt, plinth takes it back.
func TestConflictWithAnotherManager(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []render.Rendered{component(t, ns, ns, "app", oneConfigMap)}
	mustApply(t, a, ns, comps, apply.Options{})

	ctx := context.Background()
	c := cluster.Client(t)
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "keep"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["a"] = "by hand"
	if err := c.Update(ctx, cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}

	before := w.n.Load()
	_, err := a.Apply(ctx, ns, comps, apply.Options{})
	if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), `"kubectl-edit"`) || !strings.Contains(err.Error(), ".data.a") {
		t.Fatalf("err = %v", err)
	}
	if w.n.Load() != before {
		t.Fatal("the refused apply wrote")
	}

	res := mustApply(t, a, ns, comps, apply.Options{Adopt: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Configured})
	if got := get(t, "v1", "ConfigMap", ns, "keep").Object["data"].(map[string]any)["a"]; got != "1" {
		t.Fatalf("data.a = %v", got)
	}
}

// A dry run reports creations, changes with their diff (Secret values
// masked) and deletions, and writes nothing.
func TestDryRunPlan(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", twoConfigMaps+`
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: hunter2}
`)}, apply.Options{})
	before := w.n.Load()
	plan := mustApply(t, a, ns, []render.Rendered{component(t, ns, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, namespace: NS}
data: {a: "2"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: new, namespace: NS}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: correct-horse}
`)}, apply.Options{DryRun: true, Prune: true})
	if w.n.Load() != before {
		t.Fatalf("dry run wrote %d times", w.n.Load()-before)
	}
	wantActions(t, plan, map[string]apply.Action{
		"ConfigMap/" + ns + "/keep": apply.Configured,
		"ConfigMap/" + ns + "/new":  apply.Created,
		"ConfigMap/" + ns + "/old":  apply.Deleted,
		"Secret/" + ns + "/creds":   apply.Configured,
	})
	for _, c := range plan.Changes {
		switch c.ID.Name {
		case "keep":
			if !strings.Contains(c.Diff, `-  a: "1"`) || !strings.Contains(c.Diff, `+  a: "2"`) {
				t.Errorf("diff of keep:\n%s", c.Diff)
			}
		case "creds":
			if strings.Contains(c.Diff, "hunter2") || strings.Contains(c.Diff, "correct-horse") ||
				strings.Contains(c.Diff, "aHVudGVyMg") || strings.Contains(c.Diff, "Y29ycmVjdC1ob3Jz") {
				t.Errorf("secret value in diff:\n%s", c.Diff)
			}
			if c.SecretKeys == nil || !slices.Equal(c.SecretKeys.Changed, []string{"password"}) {
				t.Errorf("secret keys = %+v", c.SecretKeys)
			}
		}
	}
}
