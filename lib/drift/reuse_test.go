package drift_test

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/drift"
)

// One Checker for many checks, as the controller keeps one per
// environment: a CRD deleted by hand between two checks makes the CRD
// and its custom resource missing in the second. (A client keeps the
// resource it mapped a kind to: reused as is, it would dry-run the
// Widget against the deleted resource, and the check would fail with
// "the server could not find the requested resource".)
func TestCheckerReusedAfterCRDDeleted(t *testing.T) {
	t.Parallel()
	env, comps, c := setup(t, `
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
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: NS.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {size: 3}
`)
	if r := check(t, c, env, comps, drift.Options{}); r.Summary.Drift() {
		t.Fatalf("drift right after the apply: %+v", r.Summary)
	}

	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	crd.SetName("widgets." + env + ".example.com")
	cl := cluster.Client(t)
	if err := cl.Delete(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the CRD deleted", func() bool {
		return apierrors.IsNotFound(cl.Get(context.Background(), client.ObjectKeyFromObject(crd), crd.DeepCopy()))
	})

	r := check(t, c, env, comps, drift.Options{})
	if r.Summary.Missing != 2 || r.Summary.Drifted != 0 {
		t.Fatalf("summary = %+v, want the CRD and the Widget missing", r.Summary)
	}
}
