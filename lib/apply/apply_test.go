package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/manifest"
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
	comps := []manifest.Component{component(t, ns, ns, "widgets", crdYAML+`
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
	before := w.Count()
	res = mustApply(t, a, ns, comps, apply.Options{})
	for _, c := range res.Changes {
		if c.Action != apply.Unchanged {
			t.Errorf("second apply: %s %s", c.ID, c.Action)
		}
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("second apply made %d writes, want none", n)
	}
}

// A Namespace and objects in it, in one set.
func TestNamespaceAndNamespacedObjects(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	env := cluster.Namespace(t)
	ns := env + "-new"
	res := mustApply(t, a, env, []manifest.Component{component(t, env, ns, "app", `
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
	comps := []manifest.Component{
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
	if n := w.Count(); n != 0 {
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
	mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
	one := []manifest.Component{component(t, ns, ns, "app", oneConfigMap)}

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
	mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
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
	stranger := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: ns, Labels: map[string]string{manifest.LabelEnvironment: ns}}}
	if err := c.Create(ctx, stranger); err != nil {
		t.Fatal(err)
	}

	res := mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", oneConfigMap)}, apply.Options{Prune: true})
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
	mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", twoConfigMaps)}, apply.Options{})
	before := w.Count()
	_, err := a.Apply(context.Background(), ns, []manifest.Component{{Name: "app"}}, apply.Options{Prune: true})
	if err == nil || !strings.Contains(err.Error(), "renders no objects") || !strings.Contains(err.Error(), "allow-empty") {
		t.Fatalf("err = %v", err)
	}
	if w.Count() != before || get(t, "v1", "ConfigMap", ns, "old") == nil {
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
	deployment := func(app string) []manifest.Component {
		return []manifest.Component{component(t, ns, ns, "app", strings.ReplaceAll(`
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

	before := w.Count()
	_, err := a.Apply(context.Background(), ns, deployment("v2"), apply.Options{})
	if err == nil || !strings.Contains(err.Error(), "immutable field changed: spec.selector") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v", err)
	}
	if w.Count() != before {
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
	comps := []manifest.Component{component(t, ns, ns, "app", oneConfigMap)}
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

	before := w.Count()
	_, err := a.Apply(ctx, ns, comps, apply.Options{})
	if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), `"kubectl-edit"`) || !strings.Contains(err.Error(), ".data.a") {
		t.Fatalf("err = %v", err)
	}
	if w.Count() != before {
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
	mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", twoConfigMaps+`
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: hunter2}
`)}, apply.Options{})
	before := w.Count()
	plan := mustApply(t, a, ns, []manifest.Component{component(t, ns, ns, "app", `
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
	if w.Count() != before {
		t.Fatalf("dry run wrote %d times", w.Count()-before)
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

// Force recreates only objects whose every refusal is an immutable
// field: a selector change together with an invalid port is a validation
// failure naming both, and nothing is deleted or written.
func TestForceWithAnInvalidObjectDeletesNothing(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	ns := cluster.Namespace(t)
	deployment := func(app, port string) []manifest.Component {
		return []manifest.Component{component(t, ns, ns, "app", strings.NewReplacer("APP", app, "PORT", port).Replace(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: APP}}
  template:
    metadata: {labels: {app: APP}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: PORT}]}]}
`))}
	}
	mustApply(t, a, ns, deployment("v1", "80"), apply.Options{})
	uid := get(t, "apps/v1", "Deployment", ns, "web").GetUID()
	inv := inventoryOf(t, ns)

	before := w.Count()
	_, err := a.Apply(context.Background(), ns, deployment("v2", "70000"), apply.Options{Force: true})
	var verr *apply.ValidationError
	if !errors.As(err, &verr) || len(verr.Failures) != 1 {
		t.Fatalf("want a ValidationError with one failure, got %v", err)
	}
	for _, want := range []string{"component app: Deployment.apps/" + ns + "/web", "spec.selector", "immutable", "containerPort", "nothing was written"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("%d writes, want 0", n)
	}
	if d := get(t, "apps/v1", "Deployment", ns, "web"); d == nil || d.GetUID() != uid {
		t.Fatal("the Deployment was deleted")
	}
	if got := inventoryOf(t, ns); !slices.Equal(got, inv) {
		t.Errorf("inventory = %v, want %v", got, inv)
	}
}

// Immutable fields of other kinds: a ClusterRoleBinding's roleRef (which
// the API server refuses as "cannot change roleRef", not as immutable)
// and a Job's pod template. Without Force: refused naming the field,
// nothing written or deleted; with Force: recreated.
func TestImmutableFieldsOfOtherKinds(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	for _, tc := range []struct {
		name, apiVersion, kind, objNS, field, yaml string
		// before and after are the values of the field (VALUE in yaml).
		before, after string
	}{{
		name: "ClusterRoleBinding", apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", field: "roleRef",
		yaml: `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: NS-readers}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: VALUE}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: readers}]
`,
		before: "view", after: "edit",
	}, {
		name: "Job", apiVersion: "batch/v1", kind: "Job", objNS: ns, field: "spec.template",
		yaml: `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: VALUE}]
`,
		before: "migrate:1", after: "migrate:2",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, w := newApplier(t)
			env := ns + "-" + strings.ToLower(tc.name)
			set := func(v string) []manifest.Component {
				return []manifest.Component{component(t, env, ns, "app", strings.ReplaceAll(tc.yaml, "VALUE", v))}
			}
			name := strings.ReplaceAll(set(tc.before)[0].Objects[0].GetName(), "NS", ns)
			mustApply(t, a, env, set(tc.before), apply.Options{})
			orig := get(t, tc.apiVersion, tc.kind, tc.objNS, name)
			if orig == nil {
				t.Fatal("not created")
			}

			before := w.Count()
			_, err := a.Apply(context.Background(), env, set(tc.after), apply.Options{})
			var verr *apply.ValidationError
			if !errors.As(err, &verr) || len(verr.Failures) != 1 || verr.Failures[0].Field != tc.field {
				t.Fatalf("want a ValidationError for %s, got %v", tc.field, err)
			}
			if !strings.Contains(err.Error(), "immutable field changed: "+tc.field) || !strings.Contains(err.Error(), "--force") {
				t.Errorf("err = %v", err)
			}
			if n := w.Count() - before; n != 0 {
				t.Errorf("%d writes, want 0", n)
			}
			if cur := get(t, tc.apiVersion, tc.kind, tc.objNS, name); cur == nil || cur.GetUID() != orig.GetUID() {
				t.Fatal("deleted without Force")
			}

			res := mustApply(t, a, env, set(tc.after), apply.Options{Force: true})
			for _, c := range res.Changes {
				if c.Action != apply.Recreated || !strings.Contains(c.Reason, tc.field) {
					t.Errorf("%s: %s (%s), want recreated for %s", c.ID, c.Action, c.Reason, tc.field)
				}
			}
			cur := get(t, tc.apiVersion, tc.kind, tc.objNS, name)
			if cur == nil || cur.GetUID() == orig.GetUID() {
				t.Fatal("not recreated")
			}
			if !strings.Contains(fmt.Sprint(cur.Object), tc.after) {
				t.Errorf("recreated without the change: %v", cur.Object)
			}
		})
	}
}

// established reports whether a CRD (as JSON, or a list of CRDs holding
// it) says that the CRD name is established.
func established(body []byte, name string) bool {
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(body); err != nil {
		return false
	}
	crds := []unstructured.Unstructured{u}
	if u.IsList() {
		list, err := u.ToList()
		if err != nil {
			return false
		}
		crds = list.Items
	}
	for _, crd := range crds {
		if crd.GetName() != name {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true
			}
		}
	}
	return false
}

// A CRD and a custom resource in one set: the apply writes the CRD,
// waits until the API server reports it established, and only then
// writes the custom resource. The order is recorded from the requests
// themselves, and the CRD is checked established at the moment the
// custom resource's write is sent.
func TestCRDEstablishedBeforeCustomResource(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	crdName := "widgets." + ns + ".example.com"
	crdPath := "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
	crPath := "/apis/" + ns + ".example.com/v1/namespaces/" + ns + "/widgets/w1"
	var (
		mu     sync.Mutex
		events []string
	)
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	cfg := cluster.Config()
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			write := kubetest.IsWrite(r)
			if write && r.URL.Path == crPath {
				crd := &unstructured.Unstructured{}
				crd.SetAPIVersion("apiextensions.k8s.io/v1")
				crd.SetKind("CustomResourceDefinition")
				if err := cluster.Client(t).Get(context.Background(), client.ObjectKey{Name: crdName}, crd); err != nil {
					t.Errorf("reading the CRD: %v", err)
				}
				body, _ := crd.MarshalJSON()
				record(fmt.Sprintf("write custom resource (CRD established: %v)", established(body, crdName)))
			}
			resp, err := rt.RoundTrip(r)
			switch {
			case err != nil:
			case write && r.URL.Path == crdPath+"/"+crdName:
				record("write CRD")
			case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, crdPath) && r.URL.Query().Get("watch") == "":
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				resp.Body = io.NopCloser(bytes.NewReader(body))
				if rerr == nil && established(body, crdName) {
					record("read CRD established")
				}
			}
			return resp, err
		})
	}
	a, err := apply.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	comps := []manifest.Component{component(t, ns, ns, "widgets", crdYAML+`
---
apiVersion: NS.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {size: 3}
`)}
	mustApply(t, a, ns, comps, apply.Options{})

	mu.Lock()
	defer mu.Unlock()
	first := func(e string) int { return slices.Index(events, e) }
	wrote, est, cr := first("write CRD"), first("read CRD established"), first("write custom resource (CRD established: true)")
	if wrote < 0 || est < 0 || cr < 0 || !(wrote < est && est < cr) {
		t.Fatalf("want the CRD written, read back established, then the custom resource written; requests: %q", events)
	}
	if n := len(slices.DeleteFunc(slices.Clone(events), func(e string) bool { return !strings.HasPrefix(e, "write custom resource") })); n != 1 {
		t.Errorf("the custom resource was written %d times: %q", n, events)
	}
}

// A CRD that is never established (its kind is taken in its group by
// another CRD, so the API server does not accept its names) stops the
// apply, well within the timeout, with an error naming the CRD and why
// it is not established; the custom resource of it is not written.
func TestCRDNeverEstablished(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	ctx := context.Background()
	c := cluster.Client(t)
	// Widget v1 of the group exists already, from elsewhere.
	taken, err := manifest.Parse([]byte(strings.ReplaceAll(crdYAML, "NS", ns)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, taken[0]); err != nil {
		t.Fatal(err)
	}
	crdName := "gizmos." + ns + ".example.com"
	t.Cleanup(func() {
		for _, name := range []string{taken[0].GetName(), crdName} {
			crd := &unstructured.Unstructured{}
			crd.SetAPIVersion("apiextensions.k8s.io/v1")
			crd.SetKind("CustomResourceDefinition")
			crd.SetName(name)
			_ = c.Delete(ctx, crd)
		}
	})
	// The environment brings v2 of Widget with a CRD of another plural.
	comps := []manifest.Component{component(t, ns, ns, "gizmos", `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.NS.example.com}
spec:
  group: NS.example.com
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Widget, listKind: GizmoList}
  versions:
  - name: v2
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: NS.example.com/v2
kind: Widget
metadata: {name: g1, namespace: NS}
spec: {size: 3}
`)}
	const timeout = time.Minute
	start := time.Now()
	_, err = a.Apply(ctx, ns, comps, apply.Options{Timeout: timeout})
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("failed after %s, want well within the %s timeout", took, timeout)
	}
	if err == nil {
		t.Fatal("apply succeeded")
	}
	t.Logf("apply: %v", err)
	for _, want := range []string{
		"environment " + ns + ": cluster definitions:",
		"component gizmos: CustomResourceDefinition.apiextensions.k8s.io/" + crdName + ": not established",
		"NamesAccepted=False (KindConflict)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Nothing of the kind was written, in any version.
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion(ns + ".example.com/v1")
	list.SetKind("WidgetList")
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("a Widget was written: %v", list.Items[0].Object)
	}
}

// Prune deletes a namespace only if plinth created it: one that existed
// before the environment claimed it (here the test's own, as default or
// kube-system would be) is released, not deleted.
func TestPruneDeletesOnlyNamespacesPlinthCreated(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	existing := cluster.Namespace(t)
	env := existing
	fresh := existing + "-new"
	namespaces := `
apiVersion: v1
kind: Namespace
metadata: {name: NS}
---
apiVersion: v1
kind: Namespace
metadata: {name: NS-new}
`
	res := mustApply(t, a, env, []manifest.Component{component(t, env, existing, "app", namespaces)}, apply.Options{})
	wantActions(t, res, map[string]apply.Action{"Namespace/" + existing: apply.Configured, "Namespace/" + fresh: apply.Created})

	res = mustApply(t, a, env, []manifest.Component{component(t, env, existing, "app", oneConfigMap)}, apply.Options{Prune: true})
	var kept *apply.Change
	for i, c := range res.Changes {
		if c.ID.Kind == "Namespace" && c.ID.Name == existing {
			kept = &res.Changes[i]
		}
	}
	if kept == nil || kept.Action != apply.Kept || !strings.Contains(kept.Reason, "existed before plinth applied it") {
		t.Fatalf("the namespace that existed: %+v", kept)
	}
	if ns := get(t, "v1", "Namespace", "", existing); ns == nil || ns.GetDeletionTimestamp() != nil {
		t.Fatal("prune deleted a namespace plinth did not create")
	}
	if ns := get(t, "v1", "Namespace", "", fresh); ns != nil && ns.GetDeletionTimestamp() == nil {
		t.Fatal("the namespace plinth created was not pruned")
	}
	if inv := inventoryOf(t, env); !slices.Equal(inv, []string{"ConfigMap/" + existing + "/keep"}) {
		t.Fatalf("inventory = %v", inv)
	}
}
