package drift_test

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/manifest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }

// setup applies yaml (NS replaced by a fresh namespace, which is also the
// environment's name) as component "app" and returns the environment,
// its components and a Checker.
func setup(t *testing.T, yaml string) (string, []manifest.Component, *drift.Checker) {
	t.Helper()
	ns := cluster.Namespace(t)
	objs, err := manifest.Parse([]byte(strings.ReplaceAll(yaml, "NS", ns)))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetLabels(map[string]string{manifest.LabelEnvironment: ns, manifest.LabelComponent: "app"})
	}
	comps := []manifest.Component{{Name: "app", Objects: objs}}
	a, err := apply.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(context.Background(), ns, comps, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	c, err := drift.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	return ns, comps, c
}

func check(t *testing.T, c *drift.Checker, env string, comps []manifest.Component, opts drift.Options) *drift.Report {
	t.Helper()
	r, err := c.Check(context.Background(), env, comps, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// edit changes an object as a person would with kubectl edit: a full
// update by the field manager "kubectl-edit".
func edit(t *testing.T, apiVersion, kind, ns, name string, change func(o *unstructured.Unstructured)) {
	t.Helper()
	update(t, apiVersion, kind, ns, name, "kubectl-edit", change)
}

// update reads an object, changes it and writes it back (a full update)
// as manager. The controller manager writes to objects too (a
// Deployment's status and revision annotation): on a conflict it reads
// the object again and retries, as a person or a controller would.
func update(t *testing.T, apiVersion, kind, ns, name, manager string, change func(o *unstructured.Unstructured)) {
	t.Helper()
	ctx := context.Background()
	c := cluster.Client(t)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(apiVersion)
		o.SetKind(kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o); err != nil {
			return err
		}
		change(o)
		return c.Update(ctx, o, client.FieldOwner(manager))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// items returns the report's objects by ID.
func items(r *drift.Report) map[string]drift.Object {
	out := map[string]drift.Object{}
	for _, c := range r.Components {
		for _, o := range c.Items {
			out[o.ID] = o
		}
	}
	return out
}
