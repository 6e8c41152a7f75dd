package apply_test

import (
	"context"
	"errors"
	"github.com/plinth-platform/plinth/lib/manifest"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
)

const sharedConfigMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: NS}
data: {a: "VALUE"}
`

// sharedSet is a component with the shared ConfigMap, holding value,
// and a ConfigMap of the environment's own, named after it.
func sharedSet(t *testing.T, env, ns, value string) []manifest.Component {
	t.Helper()
	return []manifest.Component{component(t, env, ns, "app", strings.ReplaceAll(sharedConfigMap, "VALUE", value)+`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: own-`+env+`, namespace: NS}
`)}
}

// wantRefused checks that err is a ValidationError with exactly one
// failure, for the object id, whose message has every one of wants.
func wantRefused(t *testing.T, err error, id string, wants ...string) {
	t.Helper()
	var verr *apply.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	if len(verr.Failures) != 1 || verr.Failures[0].ID.String() != id {
		t.Fatalf("failures = %v, want one for %s", verr.Failures, id)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

// Environment B renders an object environment A applied: B is refused,
// naming the object, A and the remedy, and writes nothing (A's object
// and inventory stay as they were, B's own objects are not created);
// even Force deletes nothing of A's. With Adopt, B takes the object over
// (same object, B's label and value, in B's inventory), and then A is
// refused in turn.
func TestOwnershipOfAnotherEnvironment(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	envA, envB := ns+"-a", ns+"-b"
	id := "ConfigMap/" + ns + "/shared"
	mustApply(t, a, envA, sharedSet(t, envA, ns, "from A"), apply.Options{})
	orig := get(t, "v1", "ConfigMap", ns, "shared")
	invA := inventoryOf(t, envA)

	before := w.Count()
	for _, opts := range []apply.Options{{}, {DryRun: true}, {Force: true}, {Prune: true}} {
		_, err := a.Apply(context.Background(), envB, sharedSet(t, envB, ns, "from B"), opts)
		wantRefused(t, err, id,
			"component app: "+id+": exists and belongs to environment "+envA,
			"apply: adopt: true", "nothing was written")
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("the refused applies made %d writes, want 0", n)
	}
	cur := get(t, "v1", "ConfigMap", ns, "shared")
	if cur.GetResourceVersion() != orig.GetResourceVersion() || cur.GetLabels()[manifest.LabelEnvironment] != envA {
		t.Errorf("A's object changed: %v", cur.Object)
	}
	if got := inventoryOf(t, envA); !slices.Equal(got, invA) {
		t.Errorf("A's inventory = %v, want %v", got, invA)
	}
	if got := inventoryOf(t, envB); len(got) != 0 {
		t.Errorf("B's inventory = %v, want none", got)
	}
	if get(t, "v1", "ConfigMap", ns, "own-"+envB) != nil {
		t.Error("B's own object was created")
	}

	res := mustApply(t, a, envB, sharedSet(t, envB, ns, "from B"), apply.Options{Adopt: true})
	wantActions(t, res, map[string]apply.Action{id: apply.Configured, "ConfigMap/" + ns + "/own-" + envB: apply.Created})
	for _, c := range res.Changes {
		if c.ID.String() == id && c.Reason != "adopted from environment "+envA+" (labelled "+manifest.LabelEnvironment+"="+envA+")" {
			t.Errorf("reason = %q", c.Reason)
		}
	}
	cur = get(t, "v1", "ConfigMap", ns, "shared")
	if cur.GetUID() != orig.GetUID() || cur.GetLabels()[manifest.LabelEnvironment] != envB || cur.Object["data"].(map[string]any)["a"] != "from B" {
		t.Errorf("not taken over by B: %v", cur.Object)
	}
	if got := inventoryOf(t, envB); !slices.Contains(got, id) {
		t.Errorf("B's inventory = %v, want %s in it", got, id)
	}

	// No tug of war: A is now refused, naming B.
	before = w.Count()
	_, err := a.Apply(context.Background(), envA, sharedSet(t, envA, ns, "from A"), apply.Options{})
	wantRefused(t, err, id, "belongs to environment "+envB)
	if n := w.Count() - before; n != 0 {
		t.Errorf("A's refused apply made %d writes", n)
	}
}

// Force never deletes another environment's object to recreate it: the
// immutable change is refused for the ownership first.
func TestOwnershipForceDeletesNothingOfAnotherEnvironment(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	envA, envB := ns+"-a", ns+"-b"
	frozen := func(env, v string) []manifest.Component {
		return []manifest.Component{component(t, env, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: NS}
immutable: true
data: {v: "`+v+`"}
`)}
	}
	mustApply(t, a, envA, frozen(envA, "1"), apply.Options{})
	uid := get(t, "v1", "ConfigMap", ns, "frozen").GetUID()
	before := w.Count()
	_, err := a.Apply(context.Background(), envB, frozen(envB, "2"), apply.Options{Force: true})
	wantRefused(t, err, "ConfigMap/"+ns+"/frozen", "belongs to environment "+envA)
	if n := w.Count() - before; n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if got := get(t, "v1", "ConfigMap", ns, "frozen"); got == nil || got.GetUID() != uid {
		t.Fatal("A's object was deleted")
	}
}

// An object of a Helm release is refused, even when plinth would change
// no field of it (so no field manager conflicts); with Adopt plinth takes
// it over and removes Helm's release annotations, and it is plinth's from
// then on.
func TestOwnershipOfHelmRelease(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	ctx := context.Background()
	helm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: ns,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			Annotations: map[string]string{
				"meta.helm.sh/release-name":      "monitoring",
				"meta.helm.sh/release-namespace": ns,
				"example.com/kept":               "yes",
			}},
		Data: map[string]string{"a": "1"},
	}
	if err := cluster.Client(t).Create(ctx, helm, client.FieldOwner("helm")); err != nil {
		t.Fatal(err)
	}
	id := "ConfigMap/" + ns + "/shared"
	comps := []manifest.Component{component(t, ns, ns, "monitoring", strings.ReplaceAll(sharedConfigMap, "VALUE", "1"))}

	_, err := a.Apply(ctx, ns, comps, apply.Options{})
	wantRefused(t, err, id, "component monitoring: "+id+": exists and belongs to Helm release monitoring in namespace "+ns, "apply: adopt: true")
	if n := w.Count(); n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if got := get(t, "v1", "ConfigMap", ns, "shared"); got.GetResourceVersion() != helm.ResourceVersion {
		t.Errorf("the Helm release's object changed: %v", got.Object)
	}

	res := mustApply(t, a, ns, comps, apply.Options{Adopt: true})
	wantActions(t, res, map[string]apply.Action{id: apply.Configured})
	got := get(t, "v1", "ConfigMap", ns, "shared")
	ann := got.GetAnnotations()
	if _, ok := ann["meta.helm.sh/release-name"]; ok {
		t.Errorf("release-name annotation kept: %v", ann)
	}
	if _, ok := ann["meta.helm.sh/release-namespace"]; ok {
		t.Errorf("release-namespace annotation kept: %v", ann)
	}
	if ann["example.com/kept"] != "yes" {
		t.Errorf("another annotation was removed: %v", ann)
	}
	if got.GetUID() != helm.UID || got.GetLabels()[manifest.LabelEnvironment] != ns {
		t.Errorf("not adopted: %v", got.Object)
	}

	// Now the environment's: applied again without Adopt, nothing to do.
	before := w.Count()
	res = mustApply(t, a, ns, comps, apply.Options{})
	wantActions(t, res, map[string]apply.Action{id: apply.Unchanged})
	if n := w.Count() - before; n != 0 {
		t.Errorf("the apply after adoption made %d writes", n)
	}
}

// An object kubectl created by client-side apply (a last-applied
// annotation, fields owned by kubectl-client-side-apply) with other
// values is refused as a field manager conflict; with Adopt plinth takes
// the fields and removes the last-applied annotation.
func TestOwnershipOfKubectlClientSideApply(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	ctx := context.Background()
	lastApplied := `{"apiVersion":"v1","data":{"a":"by kubectl"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"shared","namespace":"` + ns + `"}}` + "\n"
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared", Namespace: ns,
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: lastApplied}},
		Data: map[string]string{"a": "by kubectl"},
	}
	if err := cluster.Client(t).Create(ctx, cm, client.FieldOwner("kubectl-client-side-apply")); err != nil {
		t.Fatal(err)
	}
	id := "ConfigMap/" + ns + "/shared"
	comps := []manifest.Component{component(t, ns, ns, "app", strings.ReplaceAll(sharedConfigMap, "VALUE", "1"))}

	_, err := a.Apply(ctx, ns, comps, apply.Options{})
	wantRefused(t, err, id, "conflict with another field manager", `"kubectl-client-side-apply"`, ".data.a", "apply: adopt: true")
	if n := w.Count(); n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if got := get(t, "v1", "ConfigMap", ns, "shared"); got.GetResourceVersion() != cm.ResourceVersion {
		t.Errorf("kubectl's object changed: %v", got.Object)
	}

	res := mustApply(t, a, ns, comps, apply.Options{Adopt: true})
	wantActions(t, res, map[string]apply.Action{id: apply.Configured})
	got := get(t, "v1", "ConfigMap", ns, "shared")
	if _, ok := got.GetAnnotations()[corev1.LastAppliedConfigAnnotation]; ok {
		t.Errorf("last-applied annotation kept: %v", got.GetAnnotations())
	}
	if got.GetUID() != cm.UID || got.Object["data"].(map[string]any)["a"] != "1" || got.GetLabels()[manifest.LabelEnvironment] != ns {
		t.Errorf("not taken over: %v", got.Object)
	}
	for _, mf := range got.GetManagedFields() {
		if mf.Manager == "kubectl-client-side-apply" && strings.Contains(mf.FieldsV1.GetRawString(), `"f:a"`) {
			t.Errorf("kubectl still owns data.a: %s", mf.FieldsV1.GetRawString())
		}
	}
}
