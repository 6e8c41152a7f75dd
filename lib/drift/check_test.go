package drift_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/manifest"
)

const app = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS}
data: {mode: strict, level: "3"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nexus.bank.local/nginx:1.27
        ports: [{containerPort: 8080}]
        resources: {requests: {cpu: "0.5", memory: 1Gi}, limits: {cpu: "1", memory: 1024Mi}}
`

// A field changed by hand is reported once, with the manager, operation
// and time of the change; nothing else is.
func TestEditReportedWithWhoAndWhen(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app)
	if r := check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift right after apply: %+v", r.Summary)
	}
	before := time.Now().Add(-time.Second)
	edit(t, "v1", "ConfigMap", env, "settings", func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, "lenient", "data", "mode")
	})
	r := check(t, c, env, comps, drift.Options{})
	if r.Summary.Drifted != 1 || r.Summary.Missing != 0 || r.Summary.Objects != 2 {
		t.Fatalf("summary = %+v", r.Summary)
	}
	o := items(r)["ConfigMap/"+env+"/settings"]
	if o.State != drift.StateDrifted || len(o.Fields) != 1 {
		t.Fatalf("object = %+v", o)
	}
	f := o.Fields[0]
	if f.Path != "/data/mode" || f.Before != `"strict"` || f.After != `"lenient"` {
		t.Errorf("field = %+v", f)
	}
	if f.Manager != "kubectl-edit" || f.Operation != "Update" || f.Time == nil || f.Time.Before(before.Truncate(time.Second)) {
		t.Errorf("attribution = %s %s %v", f.Manager, f.Operation, f.Time)
	}
}

// A deleted object is missing.
func TestDeletedObjectIsMissing(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: env}}
	if err := cluster.Client(t).Delete(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	r := check(t, c, env, comps, drift.Options{})
	if r.Summary.Missing != 1 || r.Summary.Drifted != 0 || items(r)["ConfigMap/"+env+"/settings"].State != drift.StateMissing {
		t.Fatalf("report = %+v", r)
	}
}

// A changed Secret value is reported by key, the values redacted.
func TestSecretValueMasked(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: NS}
stringData: {password: hunter2, user: app}
`)
	edit(t, "v1", "Secret", env, "db", func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, "Y29ycmVjdC1ob3JzZQ==", "data", "password")
	})
	r := check(t, c, env, comps, drift.Options{})
	o := items(r)["Secret/"+env+"/db"]
	if len(o.Fields) != 1 || o.Fields[0].Path != "/data/password" || o.Fields[0].Before != drift.Redacted || o.Fields[0].After != drift.Redacted || o.Fields[0].Manager != "kubectl-edit" {
		t.Fatalf("secret drift = %+v", o)
	}
	data, _ := json.Marshal(r)
	for _, v := range []string{"hunter2", "aHVudGVyMg", "correct-horse", "Y29ycmVjdC1ob3JzZQ", "YXBw"} {
		if strings.Contains(string(data), v) {
			t.Errorf("report contains %q: %s", v, data)
		}
	}
}

// What the server does to objects is not drift: defaults (Deployment
// strategy, protocol, pod defaults, a CRD schema's defaults), quantity
// normalisation (0.5 → 500m, 1024Mi → 1Gi), stringData → data,
// creationTimestamp: null in templates, empty lists and maps, int vs
// float, namespace on cluster-scoped objects, fields other managers
// (admission webhooks, controllers) add that plinth does not set, the
// rules of an aggregated ClusterRole, status, and an HPA's metrics in the
// order given (memory before cpu) with a quantity to normalise.
func TestServerChangesAreNotDrift(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app+`
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: NS}
spec:
  serviceName: db
  replicas: 1.0
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}, creationTimestamp: null}
    spec:
      imagePullSecrets: []
      containers: [{name: db, image: nexus.bank.local/postgres:16, env: []}]
  volumeClaimTemplates:
  - metadata: {name: data, creationTimestamp: null}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 10Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: NS}
stringData: {token: abc}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-reader, namespace: NS}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: empty, namespace: NS, annotations: {}}
data: {}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: NS-aggregate}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {aggregate-to: NS}}]
rules: []
---
`+gadgetCRD+`apiVersion: NS.example.com/v1
kind: Gadget
metadata: {name: g, namespace: NS}
spec: {mode: slow}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: NS}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
  - type: Resource
    resource: {name: cpu, target: {type: AverageValue, averageValue: 0.5}}
`)
	// The aggregation controller (kube-controller-manager's) fills an
	// aggregated ClusterRole's rules from the ClusterRoles it selects,
	// here one someone else made.
	ctx := context.Background()
	cl := cluster.Client(t)
	piece := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: env + "-piece", Labels: map[string]string{"aggregate-to": env}},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}
	if err := cl.Create(ctx, piece); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the aggregation controller to fill "+env+"-aggregate", func() bool {
		var agg rbacv1.ClusterRole
		err := cl.Get(ctx, client.ObjectKey{Name: env + "-aggregate"}, &agg)
		return err == nil && len(agg.Rules) == 1 && slices.Equal(agg.Rules[0].Resources, []string{"pods"})
	})
	// An admission webhook or controller adds what plinth does not set.
	edit(t, "apps/v1", "Deployment", env, "web", func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, "injected", "metadata", "annotations", "sidecar.istio.io/status")
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		containers = append(containers, map[string]any{"name": "istio-proxy", "image": "nexus.bank.local/istio/proxyv2:1.29.0"})
		_ = unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers")
	})
	// A controller (the Deployment controller) writes status and its
	// revision annotation, for the edited Deployment too.
	waitFor(t, "the Deployment controller to observe the edit", func() bool {
		var d appsv1.Deployment
		err := cl.Get(ctx, client.ObjectKey{Namespace: env, Name: "web"}, &d)
		return err == nil && d.Status.ObservedGeneration == d.Generation && d.Generation > 1 &&
			d.Annotations["deployment.kubernetes.io/revision"] != ""
	})

	r := check(t, c, env, comps, drift.Options{})
	if r.Summary.Drift() {
		data, _ := json.MarshalIndent(r, "", "  ")
		t.Fatalf("false drift:\n%s", data)
	}
	if r.Summary.Objects != 11 {
		t.Fatalf("checked %d objects", r.Summary.Objects)
	}
}

// Fields others own on purpose are left out by the environment's ignore
// rules: here replicas that an HorizontalPodAutoscaler (the controller
// manager) sets.
func TestIgnoreRule(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app)
	update(t, "apps/v1", "Deployment", env, "web", "kube-controller-manager", func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, int64(5), "spec", "replicas")
	})
	r := check(t, c, env, comps, drift.Options{})
	f := items(r)["Deployment.apps/"+env+"/web"].Fields
	if len(f) != 1 || f[0].Path != "/spec/replicas" || f[0].Before != "2" || f[0].After != "5" || f[0].Manager != "kube-controller-manager" {
		t.Fatalf("without the rule: %+v", f)
	}
	for _, rule := range []manifest.IgnoreRule{
		{Component: "app", Path: "/spec/replicas", Manager: "kube-controller-manager"},
		{Component: "app", Path: "/spec", Kind: "Deployment", Name: "web"},
	} {
		r = check(t, c, env, comps, drift.Options{Ignore: []manifest.IgnoreRule{rule}})
		if r.Summary.Drift() || r.Summary.IgnoredFields != 1 {
			t.Errorf("rule %+v: %+v", rule, r.Summary)
		}
	}
	for _, rule := range []manifest.IgnoreRule{
		{Component: "other", Path: "/spec/replicas"},
		{Component: "app", Path: "/spec/replicas", Manager: "someone-else"},
		{Component: "app", Path: "/spec/rep"},
		{Component: "app", Path: "/spec/replicas", Kind: "StatefulSet"},
	} {
		if r = check(t, c, env, comps, drift.Options{Ignore: []manifest.IgnoreRule{rule}}); r.Summary.Drifted != 1 {
			t.Errorf("rule %+v should not match: %+v", rule, r.Summary)
		}
	}
}

// Correct re-applies the drifted and missing objects only; the next
// check finds no drift. Without Correct nothing is written.
func TestCorrect(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app)
	edit(t, "v1", "ConfigMap", env, "settings", func(o *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(o.Object, "lenient", "data", "mode")
	})
	d := &unstructured.Unstructured{}
	d.SetAPIVersion("apps/v1")
	d.SetKind("Deployment")
	d.SetNamespace(env)
	d.SetName("web")
	if err := cluster.Client(t).Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	// A check that does not correct never writes.
	var writes kubetest.Writes
	cfg := cluster.Config()
	cfg.WrapTransport = writes.Wrap
	reporter, err := drift.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := check(t, reporter, env, comps, drift.Options{})
	if r.Summary.Drifted != 1 || r.Summary.Missing != 1 || r.Corrected {
		t.Fatalf("before: %+v", r.Summary)
	}
	if n := writes.Count(); n != 0 {
		t.Fatalf("a report-only check wrote %d times", n)
	}
	r = check(t, c, env, comps, drift.Options{Correct: true})
	if !r.Corrected || !items(r)["ConfigMap/"+env+"/settings"].Corrected || !items(r)["Deployment.apps/"+env+"/web"].Corrected {
		t.Fatalf("correct: %+v", r)
	}
	if r = check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("after correct: %+v", items(r))
	}
}

// Objects labelled as the environment's but not in its inventory are
// unmanaged; inventory objects the environment dropped are stale.
func TestUnmanagedAndStale(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, app)
	stray := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "copied", Namespace: env, Labels: map[string]string{manifest.LabelEnvironment: env}}}
	if err := cluster.Client(t).Create(context.Background(), stray); err != nil {
		t.Fatal(err)
	}
	smaller := []manifest.Component{{Name: "app", Objects: comps[0].Objects[1:]}} // without the ConfigMap
	r := check(t, c, env, smaller, drift.Options{})
	got := items(r)
	if got["ConfigMap/"+env+"/copied"].State != drift.StateUnmanaged || got["ConfigMap/"+env+"/settings"].State != drift.StateStale {
		t.Fatalf("report = %+v", got)
	}
	if r.Summary.Unmanaged != 1 || r.Summary.Stale != 1 || r.Summary.Objects != 1 {
		t.Fatalf("summary = %+v", r.Summary)
	}
}

// waitFor polls cond for up to 30 s: what a controller of the cluster does
// takes its time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// gadgetCRD defines Gadget (NS.example.com/v1), whose spec.size and
// spec.mode the API server defaults, followed by a document separator.
const gadgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.NS.example.com}
spec:
  group: NS.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
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
            properties:
              size: {type: integer, default: 3}
              mode: {type: string, default: fast}
---
`
