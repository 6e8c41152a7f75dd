package apply_test

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// One Applier for many applies, as the controller keeps one per
// environment: a CRD deleted between two applies is not served any more
// to the second, which creates it again with its custom resource. (A
// client keeps the resource it mapped a kind to: reused as is, it would
// dry-run the Widget against the deleted resource and refuse the set
// with "404 page not found".)
func TestApplierReusedAfterCRDDeleted(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []manifest.Component{component(t, ns, ns, "widgets", crdYAML+`
---
apiVersion: NS.example.com/v1
kind: Widget
metadata: {name: w1, namespace: NS}
spec: {size: 3}
`)}
	mustApply(t, a, ns, comps, apply.Options{})

	crdName := "widgets." + ns + ".example.com"
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	crd.SetName(crdName)
	if err := cluster.Client(t).Delete(context.Background(), crd); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); get(t, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crdName) != nil; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the CRD is not deleted")
		}
	}

	res := mustApply(t, a, ns, comps, apply.Options{})
	wantActions(t, res, map[string]apply.Action{
		"CustomResourceDefinition.apiextensions.k8s.io/" + crdName: apply.Created,
		"Widget." + ns + ".example.com/" + ns + "/w1":              apply.Created,
	})
}
