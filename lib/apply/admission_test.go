package apply_test

// Admission denials come from the real API server: a
// ValidatingAdmissionPolicy (CEL, admissionregistration.k8s.io/v1) bound
// to the test's namespace only, so parallel tests are unaffected.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/plinth-platform/plinth/lib/manifest"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
)

// policy is a ValidatingAdmissionPolicy and its binding in the cluster.
type policy struct {
	t       *testing.T
	name    string
	message string
	// probe makes a request the policy denies (a dry run).
	probe func(ctx context.Context) error
}

// denyConfigMaps installs a policy that denies the operations on
// ConfigMaps of namespace ns for which the CEL expression is false, with
// message, and returns once the API server enforces it: probe, a dry
// run the policy denies, is denied. The policy goes when the test ends.
func denyConfigMaps(t *testing.T, ns string, ops []admissionv1.OperationType, expression, message string, probe func(ctx context.Context) error) *policy {
	t.Helper()
	ctx := context.Background()
	c := cluster.Client(t)
	fail := admissionv1.Fail
	p := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: ops,
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
				}}},
			},
			Validations: []admissionv1.Validation{{Expression: expression, Message: message}},
		},
	}
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        ns,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	for _, o := range []client.Object{p, b} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating the admission policy: %v", err)
		}
	}
	pol := &policy{t: t, name: ns, message: message, probe: probe}
	t.Cleanup(func() { pol.remove(false) })
	// The API server loads policies from an informer: wait until it
	// enforces this one.
	pol.await("enforced", func(err error) bool { return err != nil && strings.Contains(err.Error(), message) })
	return pol
}

// remove deletes the policy; with wait, it returns once the API server
// no longer enforces it (the probe succeeds).
func (p *policy) remove(wait bool) {
	p.t.Helper()
	ctx := context.Background()
	c := cluster.Client(p.t)
	for _, o := range []client.Object{
		&admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: p.name}},
		&admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: p.name}},
	} {
		if err := c.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			p.t.Errorf("deleting the admission policy: %v", err)
		}
	}
	if wait {
		p.await("lifted", func(err error) bool { return err == nil })
	}
}

func (p *policy) await(what string, done func(error) bool) {
	p.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = p.probe(ctx)
		return done(last), nil
	})
	if err != nil {
		p.t.Fatalf("admission policy %s not %s (last probe: %v)", p.name, what, last)
	}
}

// inventoryConfigMap returns env's inventory ConfigMap, nil when absent.
func inventoryConfigMap(t *testing.T, env string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := cluster.Client(t).Get(context.Background(), client.ObjectKey{Namespace: inventory.Namespace, Name: inventory.Name(env)}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

const forbiddenLabel = "example.com/tier"

// denyForbiddenTier denies creating and updating ConfigMaps of ns
// labelled example.com/tier: forbidden.
func denyForbiddenTier(t *testing.T, ns string) *policy {
	t.Helper()
	const message = "ConfigMaps of tier forbidden are not admitted here"
	return denyConfigMaps(t, ns, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
		fmt.Sprintf("!has(object.metadata.labels) || !(%q in object.metadata.labels) || object.metadata.labels[%q] != 'forbidden'", forbiddenLabel, forbiddenLabel),
		message,
		func(ctx context.Context) error {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "admission-probe", Namespace: ns, Labels: map[string]string{forbiddenLabel: "forbidden"}}}
			return cluster.Client(t).Create(ctx, cm, client.DryRunAll)
		})
}

// configMaps returns n ConfigMap documents cm-00.. in NS; edit may change
// the YAML of one.
func configMaps(n int, edit func(i int, doc string) string) string {
	var docs []string
	for i := range n {
		doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d, namespace: NS}\ndata: {i: \"%d\"}\n", i, i)
		if edit != nil {
			doc = edit(i, doc)
		}
		docs = append(docs, doc)
	}
	return strings.Join(docs, "---\n")
}

// Case 20: in a set of ten ConfigMaps, one new object (a CREATE) and one
// changed object (an UPDATE) are denied by admission. The plan's dry runs
// go through admission, so the apply fails before writing: a
// ValidationError lists both with the policy's message and component,
// nothing is written (not even the inventory) and the cluster keeps the
// previous state.
func TestAdmissionDenialWritesNothing(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", configMaps(5, nil))}, apply.Options{})
	invBefore := inventoryConfigMap(t, ns)
	if invBefore == nil {
		t.Fatal("no inventory after the first apply")
	}
	pol := denyForbiddenTier(t, ns)

	forbidden := func(i int, doc string) string {
		if i == 2 || i == 6 {
			doc = strings.Replace(doc, "namespace: NS}", "namespace: NS, labels: {"+forbiddenLabel+": forbidden}}", 1)
			return strings.Replace(doc, "\"}\n", "\", changed: \"yes\"}\n", 1)
		}
		return doc
	}
	comps := []manifest.Component{component(t, ns, ns, "app", configMaps(10, forbidden))}
	before := w.Count()
	for _, dryRun := range []bool{true, false} {
		_, err := a.Apply(context.Background(), ns, comps, apply.Options{Prune: true, DryRun: dryRun})
		var verr *apply.ValidationError
		if !errors.As(err, &verr) {
			t.Fatalf("dry run %v: want a ValidationError, got %v", dryRun, err)
		}
		var ids []string
		for _, f := range verr.Failures {
			ids = append(ids, f.ID.String())
			if f.Component != "app" || !strings.Contains(f.Message, pol.message) {
				t.Errorf("failure %s: component %q, message %q; want component app and the policy's message", f.ID, f.Component, f.Message)
			}
		}
		if want := []string{"ConfigMap/" + ns + "/cm-02", "ConfigMap/" + ns + "/cm-06"}; !slices.Equal(ids, want) {
			t.Errorf("dry run %v: failures %v, want %v", dryRun, ids, want)
		}
		for _, want := range []string{"component app: ConfigMap/" + ns + "/cm-06: ", pol.message, "nothing was written"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if got := inventoryConfigMap(t, ns); got.ResourceVersion != invBefore.ResourceVersion {
		t.Errorf("inventory written: resourceVersion %s, was %s", got.ResourceVersion, invBefore.ResourceVersion)
	}
	for i := range 10 {
		cm := get(t, "v1", "ConfigMap", ns, fmt.Sprintf("cm-%02d", i))
		switch {
		case i >= 5 && cm != nil:
			t.Errorf("cm-%02d created", i)
		case i < 5 && cm == nil:
			t.Errorf("cm-%02d gone", i)
		case i < 5 && (cm.GetLabels()[forbiddenLabel] != "" || cm.Object["data"].(map[string]any)["changed"] != nil):
			t.Errorf("cm-%02d changed: %v", i, cm.Object)
		}
	}
}

// Case 20, three kinds of failure at once: an admission denial, a
// conflict with another field manager and an object the schema refuses,
// among valid objects, with no inventory yet. All three are reported,
// nothing is written and no inventory appears.
func TestMixedFailuresAllReported(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	pol := denyForbiddenTier(t, ns)
	ctx := context.Background()
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "conflicted", Namespace: ns}, Data: map[string]string{"owner": "theirs"}}
	if err := cluster.Client(t).Create(ctx, theirs, client.FieldOwner("someone-else")); err != nil {
		t.Fatal(err)
	}

	comps := []manifest.Component{
		component(t, ns, ns, "base", `
apiVersion: v1
kind: ConfigMap
metadata: {name: fine, namespace: NS}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: denied, namespace: NS, labels: {`+forbiddenLabel+`: forbidden}}
data: {a: "1"}
`),
		component(t, ns, ns, "web", `
apiVersion: v1
kind: ConfigMap
metadata: {name: conflicted, namespace: NS}
data: {owner: ours}
---
apiVersion: v1
kind: Service
metadata: {name: bad-port, namespace: NS}
spec:
  ports: [{port: 70000}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: fine, namespace: NS}
`, "base"),
	}
	_, err := a.Apply(ctx, ns, comps, apply.Options{Prune: true})
	var verr *apply.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	if len(verr.Failures) != 3 {
		t.Errorf("%d failures, want 3:\n%v", len(verr.Failures), err)
	}
	for _, want := range []string{
		"component base: ConfigMap/" + ns + "/denied: " + "ValidatingAdmissionPolicy",
		pol.message,
		"component web: ConfigMap/" + ns + "/conflicted: conflict with another field manager",
		`"someone-else"`,
		"component web: Service/" + ns + "/bad-port: spec.ports[0].port",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := w.Count(); n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if inventoryConfigMap(t, ns) != nil {
		t.Error("an inventory was written")
	}
	if get(t, "v1", "ConfigMap", ns, "fine") != nil || get(t, "v1", "ServiceAccount", ns, "fine") != nil {
		t.Error("a valid object of the set was created")
	}
	if got := get(t, "v1", "ConfigMap", ns, "conflicted").Object["data"].(map[string]any)["owner"]; got != "theirs" {
		t.Errorf("conflicted: owner = %v, want theirs", got)
	}
}

// Case 24(d): a prune whose DELETE admission denies fails naming the
// object; the object stays, and stays in the inventory, so the next apply
// tries again; once the policy is gone, that apply deletes it and the
// inventory drops it.
func TestPruneDeniedByAdmissionIsRetried(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	two := []manifest.Component{component(t, ns, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: keep, namespace: NS}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: old, namespace: NS, labels: {example.com/undeletable: "true"}}
data: {a: "1"}
`)}
	mustApply(t, a, ns, two, apply.Options{})
	const message = "this ConfigMap may not be deleted"
	pol := denyConfigMaps(t, ns, []admissionv1.OperationType{admissionv1.Delete},
		"!has(oldObject.metadata.labels) || !('example.com/undeletable' in oldObject.metadata.labels)", message,
		func(ctx context.Context) error {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old", Namespace: ns}}
			return cluster.Client(t).Delete(ctx, cm, client.DryRunAll)
		})

	one := []manifest.Component{component(t, ns, ns, "app", oneConfigMap)}
	_, err := a.Apply(context.Background(), ns, one, apply.Options{Prune: true})
	if err == nil {
		t.Fatal("apply succeeded although admission denies the prune")
	}
	for _, want := range []string{"environment " + ns, "prune", "component app", "ConfigMap/" + ns + "/old", message} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if get(t, "v1", "ConfigMap", ns, "old") == nil {
		t.Fatal("old deleted despite the policy")
	}
	if inv := inventoryOf(t, ns); !slices.Contains(inv, "ConfigMap/"+ns+"/old") {
		t.Fatalf("inventory dropped the object prune could not delete: %v", inv)
	}

	pol.remove(true)
	res := mustApply(t, a, ns, one, apply.Options{Prune: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Deleted})
	if get(t, "v1", "ConfigMap", ns, "old") != nil {
		t.Fatal("old not pruned once the policy was gone")
	}
	if inv := inventoryOf(t, ns); !slices.Equal(inv, []string{"ConfigMap/" + ns + "/keep"}) {
		t.Fatalf("inventory = %v", inv)
	}
}

// Case 24(c): an object of environment A's inventory that environment B
// took over (B adopted it, so it is labelled B's) is never deleted by A's
// prune: A keeps it out of its inventory, B's inventory still lists it.
// Also when the label changes between plinth's look at the object and
// the delete: ssa checks the label again on the object it deletes.
func TestPruneNeverDeletesAnotherEnvironmentsObject(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	envA, envB, envC := ns+"-a", ns+"-b", ns+"-c"
	deletes := map[string]int{}
	var relabel func()
	ft := &kubetest.FaultTransport{}
	cfg := cluster.Config()
	cfg.WrapTransport = ft.Wrap
	a, err := apply.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gets := 0
	ft.Pick = func(r *http.Request) kubetest.Fault {
		name := kubetest.ObjectName(r)
		if r.Method == http.MethodDelete {
			deletes[name]++
		}
		// The second GET of "racy" in A's prune is ssa's, just before its
		// DELETE: B takes the object over between the two.
		if r.Method == http.MethodGet && name == "racy" && relabel != nil {
			if gets++; gets == 2 {
				relabel()
			}
		}
		return nil
	}

	mustApply(t, a, envA, []manifest.Component{component(t, envA, ns, "app", twoConfigMaps)}, apply.Options{})
	// B renders "old" too and adopts it: the object is B's now.
	res := mustApply(t, a, envB, []manifest.Component{component(t, envB, ns, "moved", `
apiVersion: v1
kind: ConfigMap
metadata: {name: old, namespace: NS}
data: {a: "1"}
`)}, apply.Options{Adopt: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/old": apply.Configured})

	res = mustApply(t, a, envA, []manifest.Component{component(t, envA, ns, "app", oneConfigMap)}, apply.Options{Prune: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/keep": apply.Unchanged, "ConfigMap/" + ns + "/old": apply.Kept})
	old := get(t, "v1", "ConfigMap", ns, "old")
	if old == nil || deletes["old"] != 0 {
		t.Fatalf("A's prune deleted B's object (DELETEs: %v)", deletes)
	}
	if env := old.GetLabels()[manifest.LabelEnvironment]; env != envB {
		t.Errorf("old labelled %q, want %q", env, envB)
	}
	if inv := inventoryOf(t, envA); !slices.Equal(inv, []string{"ConfigMap/" + ns + "/keep"}) {
		t.Errorf("A's inventory = %v", inv)
	}
	if inv := inventoryOf(t, envB); !slices.Equal(inv, []string{"ConfigMap/" + ns + "/old"}) {
		t.Errorf("B's inventory = %v", inv)
	}

	// The race: C applies "racy", drops it and prunes; C's staleChanges
	// still sees it labelled C's, then another environment takes it over
	// before ssa's check.
	mustApply(t, a, envC, []manifest.Component{component(t, envC, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: racy, namespace: NS}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: stays, namespace: NS}
`)}, apply.Options{})
	relabel = func() {
		cm := &corev1.ConfigMap{}
		c := cluster.Client(t)
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "racy"}, cm); err != nil {
			t.Error(err)
			return
		}
		cm.Labels[manifest.LabelEnvironment] = envB
		if err := c.Update(context.Background(), cm); err != nil {
			t.Error(err)
		}
	}
	res = mustApply(t, a, envC, []manifest.Component{component(t, envC, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: stays, namespace: NS}
`)}, apply.Options{Prune: true})
	relabel = nil
	if gets != 2 {
		t.Fatalf("%d GETs of racy during C's prune, want 2 (plinth's, then ssa's)", gets)
	}
	if get(t, "v1", "ConfigMap", ns, "racy") == nil || deletes["racy"] != 0 {
		t.Fatalf("C's prune deleted an object relabelled another environment's just before (DELETEs: %v)", deletes)
	}
	t.Logf("C's result for racy: %v", actions(res)["ConfigMap/"+ns+"/racy"])
}

// Case 28(i): Secrets the API server refuses, each holding distinctive
// values: the error names the Secret, never shows a value (as rendered,
// base64-encoded or decoded), in a plan or an apply, and nothing is
// written. The server itself quotes values that are not strings
// ("expected string, got &value.valueUnstructured{Value:...}", a 500);
// Apply masks them.
func TestRefusedSecretNeverLeaksValues(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	const v1, v2, v3 = "hunter2-plinth-leak-a", "hunter2-plinth-leak-b", "987654321"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct{ name, yaml string }{
		{"bad-base64", `
data: {broken: "not base64!!", token: ` + b64(v1) + `}
stringData: {password: ` + v2 + `}`},
		{"list-value", `
stringData: {password: [` + v1 + `]}`},
		{"map-value", `
stringData: {password: {nested: ` + v1 + `}, other: ` + v2 + `}`},
		{"number-value", `
stringData: {pin: ` + v3 + `, password: ` + v1 + `}`},
		{"tls-without-crt", `
type: kubernetes.io/tls
stringData: {tls.key: ` + v1 + `}`},
		{"bad-dockerconfig", `
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: ` + b64(`{"auths": "`+v1) + `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			comps := []manifest.Component{component(t, ns, ns, "app", "apiVersion: v1\nkind: Secret\nmetadata: {name: "+tc.name+", namespace: NS}"+tc.yaml+"\n")}
			before := w.Count()
			for _, dryRun := range []bool{true, false} {
				res, err := a.Apply(context.Background(), ns, comps, apply.Options{DryRun: dryRun})
				if err == nil {
					t.Fatalf("dry run %v: the server accepted the Secret", dryRun)
				}
				t.Logf("dry run %v: %v", dryRun, err)
				if !strings.Contains(err.Error(), "Secret/"+ns+"/"+tc.name) {
					t.Errorf("error does not name the Secret: %v", err)
				}
				out, jerr := json.Marshal(struct {
					Result *apply.Result
					Err    error
				}{res, err})
				if jerr != nil {
					t.Fatal(jerr)
				}
				for _, v := range []string{v1, v2, v3, b64(v1), b64(v2), b64(v3)} {
					if strings.Contains(err.Error(), v) || strings.Contains(string(out), v) {
						t.Errorf("dry run %v: a secret value (%s) is in the error or result: %v", dryRun, v, err)
					}
				}
			}
			if n := w.Count() - before; n != 0 {
				t.Errorf("%d writes, want 0", n)
			}
			if get(t, "v1", "Secret", ns, tc.name) != nil {
				t.Error("the Secret was created")
			}
		})
	}
}

// Case 28(ii): no object plinth applies carries kubectl's
// last-applied-configuration annotation (a copy of the object, Secret
// values included): not when the rendered object arrives with one, not
// when plinth applied one earlier, not when kubectl applied the object
// before plinth changed it.
func TestNoLastAppliedAnnotation(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	ctx := context.Background()
	c := cluster.Client(t)
	const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	copyJSON := `{"apiVersion":"v1","kind":"Secret","stringData":{"password":"hunter2-last-applied"}}`

	// Applied earlier by plinth, annotation included (as before plinth
	// removed it from rendered objects).
	earlier := &unstructured.Unstructured{}
	earlier.SetAPIVersion("v1")
	earlier.SetKind("Secret")
	earlier.SetNamespace(ns)
	earlier.SetName("earlier")
	earlier.SetLabels(map[string]string{manifest.LabelEnvironment: ns, manifest.LabelComponent: "app"})
	earlier.SetAnnotations(map[string]string{lastApplied: copyJSON})
	earlier.Object["stringData"] = map[string]any{"password": "hunter2-last-applied"}
	//lint:ignore SA1019 server-side apply of an unstructured object, as plinth does
	if err := c.Patch(ctx, earlier, client.Apply, client.FieldOwner(manifest.FieldManager)); err != nil {
		t.Fatal(err)
	}
	// Applied by kubectl apply (client-side): the annotation is kubectl's.
	byKubectl := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "by-kubectl", Namespace: ns, Annotations: map[string]string{lastApplied: copyJSON}},
		StringData: map[string]string{"password": "hunter2-last-applied"},
	}
	if err := c.Create(ctx, byKubectl, client.FieldOwner("kubectl-client-side-apply")); err != nil {
		t.Fatal(err)
	}

	comps := []manifest.Component{component(t, ns, ns, "app", `
apiVersion: v1
kind: Secret
metadata:
  name: rendered
  namespace: NS
  annotations: {kubectl.kubernetes.io/last-applied-configuration: '`+copyJSON+`', example.com/kept: "yes"}
stringData: {password: hunter2-last-applied}
---
apiVersion: v1
kind: Secret
metadata: {name: earlier, namespace: NS}
stringData: {password: hunter2-last-applied}
---
apiVersion: v1
kind: Secret
metadata: {name: by-kubectl, namespace: NS}
stringData: {password: hunter2-last-applied, added: by-plinth}
`)}
	mustApply(t, a, ns, comps, apply.Options{})
	for _, name := range []string{"rendered", "earlier", "by-kubectl"} {
		s := get(t, "v1", "Secret", ns, name)
		if _, ok := s.GetAnnotations()[lastApplied]; ok {
			t.Errorf("%s carries %s after the apply", name, lastApplied)
		}
	}
	if get(t, "v1", "Secret", ns, "rendered").GetAnnotations()["example.com/kept"] != "yes" {
		t.Error("the rendered object's other annotations were lost")
	}
	res := mustApply(t, a, ns, comps, apply.Options{})
	for _, ch := range res.Changes {
		if ch.Action != apply.Unchanged {
			t.Errorf("second apply: %s %s, want unchanged", ch.ID, ch.Action)
		}
	}
}
