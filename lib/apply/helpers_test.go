package apply_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/manifest"
)

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newApplier returns an Applier for the test cluster and its write counter.
func newApplier(t *testing.T) (*apply.Applier, *kubetest.Writes) {
	t.Helper()
	w := &kubetest.Writes{}
	cfg := cluster.Config()
	cfg.WrapTransport = w.Wrap
	a, err := apply.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, w
}

// component parses YAML documents into a rendered component, replacing
// NS with ns and labelling every object with the environment, as render
// does.
func component(t *testing.T, env, ns, name, yaml string, dependsOn ...string) manifest.Component {
	t.Helper()
	objs, err := manifest.Parse([]byte(strings.ReplaceAll(yaml, "NS", ns)))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[manifest.LabelEnvironment] = env
		labels[manifest.LabelComponent] = name
		o.SetLabels(labels)
	}
	return manifest.Component{Name: name, DependsOn: dependsOn, Objects: objs}
}

// get fetches an object, nil when it does not exist.
func get(t *testing.T, apiVersion, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	err := cluster.Client(t).Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, o)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil
		}
		t.Fatal(err)
	}
	return o
}

// inventoryOf returns the inventory of env as "Kind/namespace/name" strings.
func inventoryOf(t *testing.T, env string) []string {
	t.Helper()
	inv, err := inventory.Read(context.Background(), cluster.Client(t), env)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range inv.Entries {
		out = append(out, e.ID.String())
	}
	return out
}

// actions returns "ID action" per change, for comparing results.
func actions(r *apply.Result) map[string]apply.Action {
	out := map[string]apply.Action{}
	for _, c := range r.Changes {
		out[c.ID.String()] = c.Action
	}
	return out
}

func mustApply(t *testing.T, a *apply.Applier, env string, comps []manifest.Component, opts apply.Options) *apply.Result {
	t.Helper()
	res, err := a.Apply(context.Background(), env, comps, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func wantActions(t *testing.T, r *apply.Result, want map[string]apply.Action) {
	t.Helper()
	got := actions(r)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q (all: %v)", id, got[id], w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d changes, want %d: %v", len(got), len(want), got)
	}
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj, fields...)
}
