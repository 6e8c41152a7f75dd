package apply

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
// item's change.
func (a *Applier) applyGroup(ctx context.Context, label string, group []*item, opts Options, res *Result) error {
	var objs []*unstructured.Unstructured
	var recreate []*unstructured.Unstructured
	for _, it := range group {
		switch it.action {
		case Created, Configured:
			objs = append(objs, it.obj)
		case Recreated:
			recreate = append(recreate, it.obj)
		}
	}
	if len(objs)+len(recreate) > 0 {
		opts.progress("%s: applying %d of %d objects", label, len(objs)+len(recreate), len(group))
	}
	for _, o := range recreate {
		if _, err := a.manager.Delete(ctx, o, ssa.DeleteOptions{PropagationPolicy: "Background"}); err != nil {
			return fmt.Errorf("%s: recreating: %w", label, err)
		}
	}
	// Finalizers may hold a deleted object for a while.
	if err := a.manager.WaitForTermination(recreate, ssa.WaitOptions{Interval: time.Second, Timeout: opts.timeout()}); err != nil {
		return fmt.Errorf("%s: recreating: %w", label, err)
	}
	objs = append(objs, recreate...)
	if len(objs) > 0 {
		_, err := a.manager.ApplyAll(ctx, objs, ssa.ApplyOptions{
			WaitInterval: time.Second,
			WaitTimeout:  opts.timeout(),
			Cleanup:      ssa.ApplyCleanupOptions{Annotations: []string{lastApplied}},
		})
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
	}
	res.Changes = append(res.Changes, changesOf(group, false)...)
	return nil
}

// wait waits for the items to be ready by kstatus (CRDs established,
// Namespaces active, workloads available).
func (a *Applier) wait(ctx context.Context, items []*item, opts Options) error {
	if len(items) == 0 {
		return nil
	}
	set := make(object.ObjMetadataSet, 0, len(items))
	for _, it := range items {
		set = append(set, object.UnstructuredToObjMetadata(it.obj))
	}
	return a.manager.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: time.Second, Timeout: opts.timeout()})
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
