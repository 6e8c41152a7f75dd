package drift_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/controlled"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/fixtures"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// Objects of every kind the table names, as a chart would render them,
// with the fields the controllers set already present with the value a
// chart gives them. They match nothing in the cluster: webhooks match
// only a group nobody serves, and fail open.
var controlledKinds = map[string]string{
	"admissionregistration.k8s.io/MutatingWebhookConfiguration": `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: NAME}
webhooks:
- name: one.example.test
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {caBundle: "", service: {name: hook, namespace: NS, path: /mutate}}
  rules: [{apiGroups: [example.test], apiVersions: [v1], operations: [CREATE], resources: [things]}]
- name: two.example.test
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {service: {name: hook, namespace: NS, path: /mutate}}
  rules: [{apiGroups: [example.test], apiVersions: [v1], operations: [UPDATE], resources: [things]}]
`,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration": `
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: NAME}
webhooks:
- name: one.example.test
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {caBundle: "", service: {name: hook, namespace: NS, path: /validate}}
  rules: [{apiGroups: [example.test], apiVersions: [v1], operations: [CREATE], resources: [things]}]
`,
	"apiextensions.k8s.io/CustomResourceDefinition": `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.NAME.example.test}
spec:
  group: NAME.example.test
  scope: Namespaced
  names: {plural: things, singular: thing, kind: Thing, listKind: ThingList}
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig: {caBundle: Cg==, service: {name: hook, namespace: NS, path: /convert}}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v2, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`,
	"apiregistration.k8s.io/APIService": `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1.NAME.example.test}
spec:
  group: NAME.example.test
  version: v1
  groupPriorityMinimum: 100
  versionPriority: 10
  caBundle: Cg==
  service: {name: hook, namespace: NS}
`,
	"/ConfigMap": `
apiVersion: v1
kind: ConfigMap
metadata: {name: NAME, namespace: NS}
data: {service-ca.crt: "", mode: strict}
`,
	"apps/Deployment": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: app, image: nexus.bank.local/nginx:1.27}]}
`,
	"apps/StatefulSet": `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: NAME, namespace: NS}
spec:
  replicas: 2
  serviceName: NAME
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: app, image: nexus.bank.local/nginx:1.27}]}
`,
	"apps/ReplicaSet": `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: NAME, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec: {containers: [{name: app, image: nexus.bank.local/nginx:1.27}]}
`,
	"rbac.authorization.k8s.io/ClusterRole": `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NAME}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {example.test/aggregate-to: NAME}}]
rules: []
`,
}

// selectedBy makes an object one the rule's controller writes to, as the
// upstream manifests mark it; the HPA rule needs an HPA beside it.
var selectedBy = map[string]func(o *unstructured.Unstructured) []*unstructured.Unstructured{
	"cert-manager's cainjector":                                                  annotate("cert-manager.io/inject-ca-from", "NS/serving-cert"),
	"OpenShift's service CA operator":                                            annotate("service.beta.openshift.io/inject-cabundle", "true"),
	"istiod (sidecar injector webhook patcher)":                                  label("istio.io/rev", "default"),
	"istiod (validation webhook controller)":                                     label("istio.io/rev", "default"),
	"Knative's webhooks":                                                         label("app.kubernetes.io/name", "knative-serving"),
	"kube-webhook-certgen (kube-prometheus-stack's admission webhook patch job)": label("app.kubernetes.io/component", "prometheus-operator-webhook"),
	"the HorizontalPodAutoscaler controller (kube-controller-manager)": func(o *unstructured.Unstructured) []*unstructured.Unstructured {
		hpa := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
			"metadata": map[string]any{"name": o.GetName(), "namespace": o.GetNamespace()},
			"spec": map[string]any{
				"scaleTargetRef": map[string]any{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(), "name": o.GetName()},
				"minReplicas":    int64(1), "maxReplicas": int64(9),
			},
		}}
		return []*unstructured.Unstructured{o, hpa}
	},
	// kube-controller-manager runs beside the test API server: the real
	// controller aggregates the rules of the part into the role.
	"the ClusterRole aggregation controller (kube-controller-manager)": func(o *unstructured.Unstructured) []*unstructured.Unstructured {
		part := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
			"metadata": map[string]any{"name": o.GetName() + "-part", "labels": map[string]any{"example.test/aggregate-to": o.GetName()}},
			"rules":    aggregatedRules,
		}}
		return []*unstructured.Unstructured{o, part}
	},
}

var aggregatedRules = []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get"}}}

func annotate(k, v string) func(o *unstructured.Unstructured) []*unstructured.Unstructured {
	return func(o *unstructured.Unstructured) []*unstructured.Unstructured {
		v := strings.ReplaceAll(v, "NS", o.GetNamespace())
		o.SetAnnotations(map[string]string{k: v})
		return []*unstructured.Unstructured{o}
	}
}

func label(k, v string) func(o *unstructured.Unstructured) []*unstructured.Unstructured {
	return func(o *unstructured.Unstructured) []*unstructured.Unstructured {
		o.SetLabels(map[string]string{k: v})
		return []*unstructured.Unstructured{o}
	}
}

// Every row of the table, on the real API server: an older plinth
// asserted the field (as rendered), the controller writes it the way it
// does (its field manager, Apply with force or Update, through the scale
// subresource for an HPA), and then no drift is reported, apply succeeds
// and leaves the controller's value, and drift correction of a hand edit
// elsewhere in the object leaves it too.
func TestControllerFieldsLeftToTheirControllers(t *testing.T) {
	// Not parallel: an APIService without its service makes the
	// aggregator's discovery of that group fail while it exists.
	ca := testCA(t)
	for _, rule := range controlled.Rules {
		mark, ok := selectedBy[rule.Owner]
		if !ok {
			t.Fatalf("rule %q has no test: add to selectedBy", rule.Owner)
		}
		kinds := map[string][]string{}
		var order []string
		for _, f := range rule.Fields {
			if kinds[f.Kind] == nil {
				order = append(order, f.Kind)
			}
			kinds[f.Kind] = append(kinds[f.Kind], f.Path)
		}
		for _, kind := range order {
			t.Run(rule.Owner+"/"+kind, func(t *testing.T) {
				tmpl, ok := controlledKinds[kind]
				if !ok {
					t.Fatalf("no test object of kind %s", kind)
				}
				ns := cluster.Namespace(t)
				objs := parseObjects(t, strings.ReplaceAll(tmpl, "NAME", ns), ns)
				objs = mark(objs[0])
				leftToController(t, ns, objs, rule, kinds[kind], ca)
			})
		}
	}
}

// The case from the issue, with Kubeflow's own webhook: rendered with
// caBundle "" and cert-manager.io/inject-ca-from, the CA cainjector
// injects is not drift, survives apply and survives drift --correct.
func TestCAInjectedIntoKubeflowWebhookSurvives(t *testing.T) {
	dir := fixtures.Dir(t)
	ns := cluster.Namespace(t)
	data, err := os.ReadFile(filepath.Join(dir, "kubeflow-manifests/applications/admission-webhook/upstream/base/mutating-webhook-configuration.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Kustomize's vars as Kubeflow's kustomization sets them.
	objs := parseObjects(t, strings.ReplaceAll(string(data), "$(podDefaultsDeploymentName)", "admission-webhook-deployment"), ns)
	hook := objs[0]
	hook.SetName(ns + "-" + hook.GetName())
	// As overlays/cert-manager annotates it; the webhook matches only
	// namespaces labelled as Kubeflow profiles, and tests make none.
	hook.SetAnnotations(map[string]string{"cert-manager.io/inject-ca-from": ns + "/admission-webhook-cert"})
	webhooks, _, _ := unstructured.NestedSlice(hook.Object, "webhooks")
	for _, w := range webhooks {
		m := w.(map[string]any)
		cc := m["clientConfig"].(map[string]any)
		if cc["caBundle"] != "" {
			t.Fatalf("fixture changed: caBundle = %v", cc["caBundle"])
		}
		cc["service"].(map[string]any)["namespace"] = ns // as kustomize's namespace sets it
	}
	_ = unstructured.SetNestedSlice(hook.Object, webhooks, "webhooks")
	leftToController(t, ns, objs, controlled.Rules[0], []string{"/webhooks/*/clientConfig/caBundle"}, testCA(t))
}

// leftToController runs the scenario for objs (the first is the object
// the rule's fields are in) and the rule's paths of its kind.
func leftToController(t *testing.T, env string, objs []*unstructured.Unstructured, rule controlled.Rule, paths []string, ca func(*testing.T) string) {
	t.Helper()
	ctx := context.Background()
	target := objs[0]
	t.Cleanup(func() {
		if target.GetNamespace() == "" {
			_ = cluster.Client(t).Delete(context.Background(), target.DeepCopy())
		}
	})
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[manifest.LabelEnvironment] = env
		labels[manifest.LabelComponent] = "app"
		o.SetLabels(labels)
	}
	comps := []manifest.Component{{Name: "app", Objects: objs}}

	// plinth before this table: the fields applied as rendered.
	for _, o := range objs {
		old := o.DeepCopy()
		//lint:ignore SA1019 server-side apply of unstructured objects, as plinth did
		if err := cluster.Client(t).Patch(ctx, old, client.Apply, client.FieldOwner("plinth"), client.ForceOwnership); err != nil {
			t.Fatalf("applying as an older plinth: %v", err)
		}
	}
	want := controllerWrites(t, target, rule, paths, ca)

	a, err := apply.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	c, err := drift.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	if r := check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift reported after %s wrote its fields: %s", rule.Owner, reportJSON(t, r))
	}
	if _, err := a.Apply(ctx, env, comps, apply.Options{}); err != nil {
		t.Fatalf("apply after %s wrote its fields: %v", rule.Owner, err)
	}
	assertValues(t, target, want, "after apply")
	if r := check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift reported after apply: %s", reportJSON(t, r))
	}

	// A hand edit elsewhere in the object, then drift --correct.
	edit(t, target.GetAPIVersion(), target.GetKind(), target.GetNamespace(), target.GetName(), func(o *unstructured.Unstructured) {
		labels := o.GetLabels()
		labels[manifest.LabelComponent] = "edited"
		o.SetLabels(labels)
	})
	r := check(t, c, env, comps, drift.Options{Correct: true})
	if r.Summary.Drifted != 1 || !r.Corrected {
		t.Fatalf("the hand edit: %s", reportJSON(t, r))
	}
	assertValues(t, target, want, "after drift --correct")
	if r := check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift after correcting: %s", reportJSON(t, r))
	}
}

// controllerWrites writes a value at every path the way the rule's
// controller does and returns the values written by concrete path.
func controllerWrites(t *testing.T, target *unstructured.Unstructured, rule controlled.Rule, paths []string, ca func(*testing.T) string) map[string]any {
	t.Helper()
	ctx := context.Background()
	cl := cluster.Client(t)
	live := get(t, target)
	want := map[string]any{}
	var patch map[string]any // for Apply: only the fields written, with list keys
	if rule.Operation == "Apply" {
		patch = map[string]any{"apiVersion": target.GetAPIVersion(), "kind": target.GetKind(),
			"metadata": map[string]any{"name": target.GetName(), "namespace": target.GetNamespace()}}
	}
	for _, p := range paths {
		value := controllerValue(t, p, ca)
		setEvery(live.Object, strings.Split(p, "/")[1:], "", value, want, patch)
	}
	if len(want) == 0 {
		t.Fatalf("no field at %v in %s", paths, manifest.IDOf(target))
	}
	switch {
	case rule.Manager == "clusterrole-aggregation-controller":
		// The real one: wait for it.
		waitFor(t, "the aggregation controller to aggregate the rules", func() bool {
			got, _ := at(get(t, target).Object, []string{"rules"})
			return jsonEqual(got, aggregatedRules)
		})
	case rule.Owner == "the HorizontalPodAutoscaler controller (kube-controller-manager)":
		// Through the scale subresource, as the HPA controller does.
		cs, err := kubernetes.NewForConfig(cluster.Config())
		if err != nil {
			t.Fatal(err)
		}
		scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: target.GetName(), Namespace: target.GetNamespace()}, Spec: autoscalingv1.ScaleSpec{Replicas: 5}}
		opts := metav1.UpdateOptions{FieldManager: rule.Manager}
		switch target.GetKind() {
		case "Deployment":
			_, err = cs.AppsV1().Deployments(target.GetNamespace()).UpdateScale(ctx, target.GetName(), scale, opts)
		case "StatefulSet":
			_, err = cs.AppsV1().StatefulSets(target.GetNamespace()).UpdateScale(ctx, target.GetName(), scale, opts)
		case "ReplicaSet":
			_, err = cs.AppsV1().ReplicaSets(target.GetNamespace()).UpdateScale(ctx, target.GetName(), scale, opts)
		}
		if err != nil {
			t.Fatalf("scaling as the HPA: %v", err)
		}
	case rule.Operation == "Apply":
		o := &unstructured.Unstructured{Object: patch}
		//lint:ignore SA1019 server-side apply of unstructured objects, as the controller does
		if err := cl.Patch(ctx, o, client.Apply, client.FieldOwner(rule.Manager), client.ForceOwnership); err != nil {
			t.Fatalf("applying as %s: %v", rule.Manager, err)
		}
	default:
		// As controllers do: read, change, update, again on a conflict
		// (the API server updates a new CRD's status meanwhile).
		update(t, target.GetAPIVersion(), target.GetKind(), target.GetNamespace(), target.GetName(), rule.Manager, func(o *unstructured.Unstructured) {
			for _, p := range paths {
				setEvery(o.Object, strings.Split(p, "/")[1:], "", controllerValue(t, p, ca), map[string]any{}, nil)
			}
		})
	}
	assertValues(t, target, want, "as the controller wrote it")
	return want
}

// controllerValue is what a controller writes at a field of the table.
func controllerValue(t *testing.T, path string, ca func(*testing.T) string) any {
	switch {
	case strings.HasSuffix(path, "/caBundle"):
		return base64.StdEncoding.EncodeToString([]byte(ca(t)))
	case strings.HasSuffix(path, "/service-ca.crt"):
		return ca(t)
	case strings.HasSuffix(path, "/failurePolicy"):
		return "Fail"
	case strings.HasSuffix(path, "/service/path"):
		return "/defaulting"
	case path == "/rules":
		return aggregatedRules
	case strings.HasSuffix(path, "/rules"):
		return []any{map[string]any{"apiGroups": []any{"example.test"}, "apiVersions": []any{"*"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"things", "things/status"}, "scope": "*"}}
	case path == "/spec/replicas":
		return int64(5)
	}
	t.Fatalf("no controller value for %s", path)
	return nil
}

// setEvery sets value at tokens under node (every item for "*"),
// recording each concrete path in want and, for list items, the item's
// name in patch so that an apply configuration keys them.
func setEvery(node any, tokens []string, at string, value any, want map[string]any, patch map[string]any) {
	tok := tokens[0]
	switch v := node.(type) {
	case map[string]any:
		if len(tokens) == 1 {
			v[tok] = value
			want[at+"/"+tok] = value
			if patch != nil {
				patch[tok] = value
			}
			return
		}
		child, ok := v[tok]
		if !ok {
			child = map[string]any{}
			v[tok] = child
		}
		var sub map[string]any
		if patch != nil {
			if _, isList := child.([]any); isList {
				if _, ok := patch[tok]; !ok {
					patch[tok] = []any{}
				}
				setList(child.([]any), tokens[1:], at+"/"+tok, value, want, patch, tok)
				return
			}
			sub, _ = patch[tok].(map[string]any)
			if sub == nil {
				sub = map[string]any{}
				patch[tok] = sub
			}
		}
		setEvery(child, tokens[1:], at+"/"+tok, value, want, sub)
	case []any:
		setList(v, tokens, at, value, want, nil, "")
	}
}

func setList(items []any, tokens []string, at string, value any, want map[string]any, parent map[string]any, key string) {
	for i, item := range items {
		var sub map[string]any
		if parent != nil {
			list := parent[key].([]any)
			name := item.(map[string]any)["name"]
			for _, e := range list {
				if e.(map[string]any)["name"] == name {
					sub = e.(map[string]any)
				}
			}
			if sub == nil {
				sub = map[string]any{"name": name}
				parent[key] = append(list, sub)
			}
		}
		setEvery(item, tokens[1:], at+"/"+strconv.Itoa(i), value, want, sub)
	}
}

// assertValues checks the live object holds the values the controller wrote.
func assertValues(t *testing.T, target *unstructured.Unstructured, want map[string]any, when string) {
	t.Helper()
	live := get(t, target)
	for path, w := range want {
		got, ok := at(live.Object, strings.Split(path, "/")[1:])
		if !ok || !jsonEqual(got, w) {
			t.Errorf("%s: %s %s = %v, want the controller's %v", when, manifest.IDOf(target), path, got, w)
		}
	}
}

func at(node any, tokens []string) (any, bool) {
	for _, tok := range tokens {
		switch v := node.(type) {
		case map[string]any:
			var ok bool
			if node, ok = v[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i >= len(v) {
				return nil, false
			}
			node = v[i]
		default:
			return nil, false
		}
	}
	return node, true
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func get(t *testing.T, o *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := cluster.Client(t).Get(context.Background(), client.ObjectKeyFromObject(o), live); err != nil {
		t.Fatal(err)
	}
	return live
}

func parseObjects(t *testing.T, yaml, ns string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := manifest.Parse([]byte(strings.ReplaceAll(yaml, "NS", ns)))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func reportJSON(t *testing.T, r *drift.Report) string {
	t.Helper()
	data, _ := json.Marshal(r.Components)
	return string(data)
}

// testCA makes one self-signed CA for the test, as PEM.
func testCA(t *testing.T) func(*testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "plinth test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemData := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return func(*testing.T) string { return pemData }
}

// istiod's validating webhook is created failing open, as rendered, and
// istiod's Fail is kept afterwards: plinth creates it with the initial
// value and never applies it again.
func TestInitialValueOnCreateOnly(t *testing.T) {
	ctx := context.Background()
	ns := cluster.Namespace(t)
	objs := parseObjects(t, strings.ReplaceAll(controlledKinds["admissionregistration.k8s.io/ValidatingWebhookConfiguration"], "NAME", ns), ns)
	hook := objs[0]
	t.Cleanup(func() { _ = cluster.Client(t).Delete(context.Background(), hook.DeepCopy()) })
	hook.SetLabels(map[string]string{"istio.io/rev": "default", manifest.LabelEnvironment: ns, manifest.LabelComponent: "istio"})
	comps := []manifest.Component{{Name: "istio", Objects: objs}}
	a, err := apply.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, ns, comps, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	assertValues(t, hook, map[string]any{"/webhooks/0/failurePolicy": "Ignore"}, "created")
	var istiod controlled.Rule
	for _, r := range controlled.Rules {
		if r.Owner == "istiod (validation webhook controller)" {
			istiod = r
		}
	}
	want := controllerWrites(t, hook, istiod, []string{"/webhooks/*/failurePolicy"}, testCA(t))
	if _, err := a.Apply(ctx, ns, comps, apply.Options{}); err != nil {
		t.Fatalf("apply after istiod set Fail: %v", err)
	}
	assertValues(t, hook, want, "after apply")
	c, err := drift.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	if r := check(t, c, ns, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift: %s", reportJSON(t, r))
	}
}
