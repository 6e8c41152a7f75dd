package apply

import (
	"context"
	"fmt"
	"slices"

	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// staleChanges decides, for each object of the previous inventory that
// the set no longer has, whether prune deletes it (Deleted) or leaves it
// (Kept, with the reason). Objects already gone are left out. A namespace
// is deleted only if plinth created it (created, from the inventory): one
// that existed before (default, kube-system, a team's) is released.
func (a *Applier) staleChanges(ctx context.Context, stale []inventory.Entry, created []string, opts Options) ([]Change, error) {
	var out []Change
	for _, e := range stale {
		cur := &unstructured.Unstructured{}
		cur.SetAPIVersion(e.APIVersion())
		cur.SetKind(e.Kind)
		err := a.client.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, cur)
		if apierrors.IsNotFound(err) || cluster.NotServed(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.ID, err)
		}
		c := Change{Component: e.Component, ID: e.ID, Action: Deleted}
		switch {
		case cur.GetAnnotations()[AnnotationPrune] == "disabled":
			c.Action, c.Reason, c.released = Kept, "annotated "+AnnotationPrune+": disabled; no longer managed", true
		case cur.GetLabels()[manifest.LabelEnvironment] != opts.env:
			c.Action, c.Reason, c.released = Kept, "no longer labelled "+manifest.LabelEnvironment+"="+opts.env+"; no longer managed", true
		case cur.GetDeletionTimestamp() != nil:
			continue
		case isNamespace(e.ID) && !slices.Contains(created, e.Name):
			c.Action, c.Reason, c.released = Kept, "namespace "+e.Name+" existed before plinth applied it; prune deletes only namespaces plinth created", true
		case !opts.Prune:
			c.Action, c.Reason = Kept, "not in the environment any more; apply with --prune to delete it"
		}
		out = append(out, c)
	}
	return out, nil
}

// prune deletes the stale objects marked Deleted, namespaced objects
// before cluster-scoped ones and CRDs last (deleting a CRD deletes its
// custom resources).
func (a *Applier) prune(ctx context.Context, env string, changes []Change) error {
	order := slices.Clone(changes)
	rank := func(c Change) int {
		switch {
		case c.ID.Kind == "CustomResourceDefinition":
			return 2
		case c.ID.Namespace == "":
			return 1
		}
		return 0
	}
	slices.SortStableFunc(order, func(x, y Change) int { return rank(x) - rank(y) })
	for _, c := range order {
		if c.Action != Deleted {
			continue
		}
		obj := &unstructured.Unstructured{}
		obj.SetAPIVersion(c.ID.APIVersion())
		obj.SetKind(c.ID.Kind)
		obj.SetNamespace(c.ID.Namespace)
		obj.SetName(c.ID.Name)
		_, err := a.manager.Delete(ctx, obj, ssa.DeleteOptions{
			PropagationPolicy: "Background",
			// ssa checks both again on the object it is about to delete.
			Inclusions: map[string]string{manifest.LabelEnvironment: env},
			Exclusions: map[string]string{AnnotationPrune: "disabled"},
		})
		if err != nil && !cluster.NotServed(err) {
			return fmt.Errorf("component %s: %w", c.Component, err)
		}
	}
	return nil
}
