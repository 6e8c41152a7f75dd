package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// lastApplied is kubectl's client-side apply annotation: a copy of the
// object, Secret values included. Apply removes it from objects it changes.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// applyStages writes the planned changes: cluster definitions (CRDs,
// Namespaces, ClusterRoles, as Flux does) first, then the components
// layer by layer.
func (a *Applier) applyStages(ctx context.Context, items []*item, opts Options, res *Result) error {
	var defs []*item
	layers := map[int][]*item{}
	for _, it := range items {
		if utils.IsClusterDefinition(it.obj) {
			defs = append(defs, it)
		} else {
			layers[it.layer] = append(layers[it.layer], it)
		}
	}
	if err := a.applyGroup(ctx, "cluster definitions", defs, opts, res); err != nil {
		return err
	}
	// Custom resources and namespaced objects need their CRDs established
	// and namespaces active, whether or not the caller waits for readiness.
	if err := a.wait(ctx, changed(defs), opts); err != nil {
		return fmt.Errorf("cluster definitions: %w", err)
	}
	for _, l := range slices.Sorted(maps.Keys(layers)) {
		group := layers[l]
		label := "components " + strings.Join(componentsOf(group), ", ")
		// Objects in a namespace that a controller creates from an object
		// of this layer (a Profile) go after the rest of the layer.
		var now, later []*item
		for _, it := range group {
			if it.waitNamespace != "" {
				later = append(later, it)
			} else {
				now = append(now, it)
			}
		}
		if err := a.applyGroup(ctx, label, now, opts, res); err != nil {
			return err
		}
		for _, ns := range namespacesAwaited(later) {
			opts.progress("%s: waiting for namespace %s (Kubeflow's profile controller creates it)", label, ns)
			if err := a.waitForNamespace(ctx, ns, opts.timeout()); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
		}
		if err := a.applyGroup(ctx, label, later, opts, res); err != nil {
			return err
		}
		if opts.Wait {
			opts.progress("%s: waiting for %d objects to be ready", label, len(group))
			if err := a.wait(ctx, group, opts); err != nil {
				return fmt.Errorf("%s: %w", label, err)
			}
		}
	}
	return nil
}

// applyGroup applies the items of one stage that the plan found new or
// changed, recreating those with immutable changes, and records every
// item's change. Each is one server-side apply; only objects whose live
// copy carries metadata to remove first (kubectl's last-applied
// configuration, a Helm release's annotations on an adopted object) go
// through ssa's ApplyAll, which cleans it up.
func (a *Applier) applyGroup(ctx context.Context, label string, group []*item, opts Options, res *Result) error {
	var objs, cleanup, adopted, recreate []*unstructured.Unstructured
	for _, it := range group {
		switch {
		case it.action == Recreated:
			recreate = append(recreate, it.obj)
		case it.action != Created && it.action != Configured:
		case it.adopted != "":
			adopted = append(adopted, it.obj)
		case it.live != nil && it.live.GetAnnotations()[lastApplied] != "":
			cleanup = append(cleanup, it.obj)
		default:
			objs = append(objs, it.obj)
		}
	}
	if n := len(objs) + len(cleanup) + len(adopted) + len(recreate); n > 0 {
		opts.progress("%s: applying %d of %d objects", label, n, len(group))
	}
	for _, o := range recreate {
		if _, err := a.manager.Delete(ctx, o, ssa.DeleteOptions{PropagationPolicy: "Background"}); err != nil {
			return fmt.Errorf("%s: recreating: %w", label, err)
		}
	}
	// Finalizers may hold a deleted object for a while.
	for _, o := range recreate {
		if err := a.waitForDeletion(ctx, o, opts.timeout()); err != nil {
			return fmt.Errorf("%s: recreating: %w", label, err)
		}
	}
	if err := a.cluster.Apply(ctx, append(objs, recreate...), opts.concurrency()); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	// Objects taken over from Helm lose the release's annotations, so that
	// Helm no longer counts them as its own.
	for _, batch := range []struct {
		objs    []*unstructured.Unstructured
		cleanup []string
	}{
		{cleanup, []string{lastApplied}},
		{adopted, []string{lastApplied, helmReleaseName, helmReleaseNamespace}},
	} {
		if len(batch.objs) == 0 {
			continue
		}
		_, err := a.manager.ApplyAll(ctx, batch.objs, ssa.ApplyOptions{
			WaitInterval: time.Second,
			WaitTimeout:  opts.timeout(),
			Cleanup:      ssa.ApplyCleanupOptions{Annotations: batch.cleanup},
		})
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
	}
	res.Changes = append(res.Changes, changesOf(group, false)...)
	return nil
}

// waitForDeletion waits until a deleted object is gone.
func (a *Applier) waitForDeletion(ctx context.Context, obj *unstructured.Unstructured, timeout time.Duration) error {
	id := manifest.IDOf(obj)
	var finalizers []string
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(obj.GroupVersionKind())
		err := a.client.Get(ctx, client.ObjectKeyFromObject(obj), cur)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		finalizers = cur.GetFinalizers()
		return false, err
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: waiting for its deletion: %w", id, ctx.Err())
	case len(finalizers) > 0:
		return fmt.Errorf("%s: deleted but still there after %s, held by finalizers %s", id, timeout, strings.Join(finalizers, ", "))
	}
	return fmt.Errorf("%s: deleted but still there after %s: %w", id, timeout, err)
}

// wait waits for the items to be ready by kstatus (CRDs established,
// Namespaces active, workloads available). It stops as soon as one has
// failed (a failed Job, a CRD whose names conflict), and then, or on
// the timeout, names every object not ready and why.
func (a *Applier) wait(ctx context.Context, items []*item, opts Options) error {
	if len(items) == 0 {
		return nil
	}
	set := make(object.ObjMetadataSet, 0, len(items))
	for _, it := range items {
		set = append(set, object.UnstructuredToObjMetadata(it.obj))
	}
	err := a.manager.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: time.Second, Timeout: opts.timeout(), FailFast: true})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for %d objects to be ready: %w", len(items), ctx.Err())
	}
	if msg := a.notReady(ctx, items, opts.timeout()); msg != "" {
		return errors.New(msg)
	}
	return err
}

// notReady describes the items that are not ready now, "" when all are.
func (a *Applier) notReady(ctx context.Context, items []*item, timeout time.Duration) string {
	var lines []string
	failed := 0
	for _, it := range items {
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(it.obj.GroupVersionKind())
		prefix := "component " + it.component + ": " + it.id.String()
		if err := a.client.Get(ctx, client.ObjectKeyFromObject(it.obj), cur); err != nil {
			lines = append(lines, prefix+": "+err.Error())
			continue
		}
		st, err := status.Compute(cur)
		switch {
		case err != nil:
			lines = append(lines, prefix+": status unknown: "+err.Error())
		case st.Status == status.CurrentStatus:
		case it.id.Kind == "CustomResourceDefinition" && it.id.Group == "apiextensions.k8s.io":
			if st.Status == status.FailedStatus {
				failed++
			}
			lines = append(lines, prefix+": not established: "+crdConditions(cur))
		default:
			if st.Status == status.FailedStatus {
				failed++
			}
			lines = append(lines, fmt.Sprintf("%s: %s: %s", prefix, st.Status, st.Message))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	head := fmt.Sprintf("%d of %d objects not ready within %s", len(lines), len(items), timeout)
	if failed > 0 {
		head = fmt.Sprintf("%d of %d objects failed", failed, len(items))
		if n := len(lines) - failed; n > 0 {
			head += fmt.Sprintf(", %d more not ready yet", n)
		}
	}
	return head + ": " + strings.Join(lines, "; ")
}

// crdConditions describes the conditions of a CRD that are not true
// (NamesAccepted, Established), or says it has none yet.
func crdConditions(crd *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	var parts []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m == nil || m["status"] == "True" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%v=%v (%v): %v", m["type"], m["status"], m["reason"], m["message"]))
	}
	if len(parts) == 0 {
		return "no Established condition yet"
	}
	return strings.Join(parts, "; ")
}

// waitForNamespace waits until a namespace another controller creates exists.
func (a *Applier) waitForNamespace(ctx context.Context, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		err := a.client.Get(ctx, client.ObjectKey{Name: name}, &corev1.Namespace{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("namespace %s did not appear within %s (is Kubeflow's profile controller running?): %w", name, timeout, err)
	}
	return nil
}

func changed(items []*item) []*item {
	var out []*item
	for _, it := range items {
		if it.action != Unchanged {
			out = append(out, it)
		}
	}
	return out
}

func componentsOf(items []*item) []string {
	var names []string
	for _, it := range items {
		if !slices.Contains(names, it.component) {
			names = append(names, it.component)
		}
	}
	slices.Sort(names)
	return names
}

func namespacesAwaited(items []*item) []string {
	var names []string
	for _, it := range items {
		if it.waitNamespace != "" && !slices.Contains(names, it.waitNamespace) {
			names = append(names, it.waitNamespace)
		}
	}
	slices.Sort(names)
	return names
}
