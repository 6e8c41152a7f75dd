package controlled_test

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/controlled"
)

func parse(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &o.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

const injected = `
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: admission-webhook-mutating-webhook-configuration
  annotations: {cert-manager.io/inject-ca-from: kubeflow/admission-webhook-cert}
webhooks:
- name: a.kubeflow.org
  clientConfig: {caBundle: "", service: {name: s, namespace: kubeflow}}
- name: b.kubeflow.org
  clientConfig: {service: {name: s, namespace: kubeflow}}
`

// Strip removes the field from every list item that has it, and says where.
func TestStripWebhookCABundles(t *testing.T) {
	objs := parse(t, injected)
	got := controlled.For(objs).Strip(objs[0])
	if want := []string{"/webhooks/0/clientConfig/caBundle"}; !slices.Equal(got, want) {
		t.Fatalf("removed %v, want %v", got, want)
	}
	hooks, _, _ := unstructured.NestedSlice(objs[0].Object, "webhooks")
	for _, h := range hooks {
		if _, ok := h.(map[string]any)["clientConfig"].(map[string]any)["caBundle"]; ok {
			t.Errorf("caBundle left in %v", h)
		}
	}
}

// Without the annotation, a webhook's caBundle is the chart's to set.
func TestUnselectedObjectKeepsItsFields(t *testing.T) {
	objs := parse(t, injected)
	objs[0].SetAnnotations(nil)
	if got := controlled.For(objs).Strip(objs[0]); len(got) != 0 {
		t.Fatalf("removed %v from a webhook nobody injects into", got)
	}
}

// Replicas belong to an HPA only when one targets the workload.
func TestReplicasOfScaledWorkloadsOnly(t *testing.T) {
	objs := parse(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system}
spec: {replicas: 2}
`, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: istio-system}
spec: {replicas: 2}
`, `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: istiod, namespace: istio-system}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: istiod}}
`)
	s := controlled.For(objs)
	if got := s.Strip(objs[0]); !slices.Equal(got, []string{"/spec/replicas"}) {
		t.Errorf("scaled: removed %v", got)
	}
	if got := s.Strip(objs[1]); len(got) != 0 {
		t.Errorf("not scaled: removed %v", got)
	}
}

func TestOwnsMatchesListItemsAndBelow(t *testing.T) {
	objs := parse(t, injected)
	s := controlled.For(objs)
	for path, want := range map[string]bool{
		"/webhooks/1/clientConfig/caBundle":     true,
		"/webhooks/0/clientConfig/caBundle":     true,
		"/webhooks/0/clientConfig/service/name": false,
		"/webhooks/x/clientConfig/caBundle":     false,
		"/webhooks/0/clientConfig":              false,
		"/metadata/annotations":                 false,
	} {
		if got := s.Owns(objs[0], path); got != want {
			t.Errorf("Owns(%s) = %v, want %v", path, got, want)
		}
	}
}

// Every row says who, how and where it is documented, and names fields
// as JSON pointers of a kind with a group.
func TestRulesAreComplete(t *testing.T) {
	for _, r := range controlled.Rules {
		if r.Owner == "" || r.Manager == "" || r.Source == "" || (r.Operation != "Apply" && r.Operation != "Update") || len(r.Fields) == 0 {
			t.Errorf("incomplete rule %+v", r)
		}
		for _, f := range r.Fields {
			if f.Path == "" || f.Path[0] != '/' || !containsSlash(f.Kind) {
				t.Errorf("rule %s: field %+v", r.Owner, f)
			}
		}
	}
}

func containsSlash(s string) bool { return slices.Contains([]byte(s), '/') }
