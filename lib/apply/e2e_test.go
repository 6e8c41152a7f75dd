package apply_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/fixtures"
	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/render"
	"github.com/plinth-platform/plinth/lib/source"
)

// renderExample renders one of the repository's example environments.
func renderExample(t *testing.T, name string, opts render.Options) []manifest.Component {
	t.Helper()
	env, err := platform.Resolve(filepath.Join("..", ".."), name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Valid() {
		t.Fatalf("%s is not valid: %v", name, p.Findings)
	}
	r, err := render.Render(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r.Components
}

// The dev environment (rendered from this repository alone) applies, and
// applies again without a change or a write.
func TestDevEndToEnd(t *testing.T) {
	t.Parallel()
	a, w := newApplier(t)
	comps := renderExample(t, "dev", render.Options{Lock: &source.Lock{Version: 1}})
	res := mustApply(t, a, "dev", comps, apply.Options{Prune: true})
	total := 0
	for _, c := range comps {
		total += len(c.Objects)
	}
	if len(res.Changes) != total {
		t.Fatalf("%d changes for %d objects", len(res.Changes), total)
	}
	for _, c := range res.Changes {
		if c.Action != apply.Created {
			t.Errorf("%s %s, want created", c.ID, c.Action)
		}
	}
	assertReady(t, comps)
	before := w.Count()
	res = mustApply(t, a, "dev", comps, apply.Options{Prune: true})
	for _, c := range res.Changes {
		if c.Action != apply.Unchanged {
			t.Errorf("second apply: %s %s", c.ID, c.Action)
		}
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("second apply wrote %d times", n)
	}
}

// prod, from the fixture charts and Kubeflow manifests (CRD-heavy
// monitoring and GPU operator, Kubeflow with tenant Profiles), applies end
// to end and again without a change, while the controller manager's
// controllers work on it (ReplicaSets, Pods, status, aggregated roles).
// Then one component leaves the environment: prune deletes its objects,
// the garbage collector what its workloads made and the namespace
// controller its namespace with everything in it; the drift check finds
// the rest as applied. The test cluster runs no pods, so no webhook
// servers and no operators: the set leaves out webhook configurations
// (they would send every later request to a Service with no pods), and
// the test plays Kubeflow's profile controller: it creates the namespace
// of each Profile.
func TestProdEndToEnd(t *testing.T) {
	t.Parallel()
	vendorDir, lock := fixtures.Vendor(t, catalogSources, "prod")
	comps := renderExample(t, "prod", render.Options{VendorDir: vendorDir, Lock: lock})
	for i := range comps {
		var kept []*unstructured.Unstructured
		for _, o := range comps[i].Objects {
			switch o.GetKind() {
			case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
				continue
			}
			kept = append(kept, o)
		}
		comps[i].Objects = kept
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go playProfileController(ctx, t)

	a, w := newApplier(t)
	// The other tests' inventories may have made plinth-system already,
	// which prod declares too (its controller lives there).
	existed := get(t, "v1", "Namespace", "", "plinth-system") != nil
	res := mustApply(t, a, "prod", comps, apply.Options{Prune: true, Timeout: time.Minute})
	counts := map[apply.Action]int{}
	for _, c := range res.Changes {
		if existed && c.ID.String() == "Namespace/plinth-system" {
			if c.Action != apply.Configured {
				t.Errorf("%s: %s, want configured (it existed)", c.ID, c.Action)
			}
			counts[apply.Created]++
			continue
		}
		counts[c.Action]++
	}
	t.Logf("prod: %v", counts)
	total := 0
	for _, c := range comps {
		total += len(c.Objects)
	}
	if counts[apply.Created] != total || total < 900 {
		t.Errorf("first apply of prod: %v, want %d creations", counts, total)
	}
	assertReady(t, comps)

	before := w.Count()
	var planned string
	res = mustApply(t, a, "prod", comps, apply.Options{Prune: true, Timeout: time.Minute, Progress: func(s string) {
		if strings.HasPrefix(s, "planned ") {
			planned = s
		}
	}})
	// The list is the plan: the live copies show nearly every object
	// unchanged (PLINTH_VERIFY_PLAN dry-runs them too and agrees). Those
	// left are 3 Secrets written with stringData and 3 workloads of the
	// GPU operator's chart that render revisionHistoryLimit: null.
	var n, listed, dryRuns int
	if _, err := fmt.Sscanf(planned, "planned %d objects: %d unchanged as listed, %d dry runs", &n, &listed, &dryRuns); err != nil || dryRuns > 6 {
		t.Errorf("second apply: %q, want at most 6 dry runs (err %v)", planned, err)
	}
	t.Log(planned)
	for _, c := range res.Changes {
		if c.Action != apply.Unchanged {
			t.Errorf("second apply: %s %s", c.ID, c.Action)
		}
	}
	if n := w.Count() - before; n != 0 {
		t.Errorf("second apply wrote %d times", n)
	}

	kept := pruneComponent(t, a, comps, "rancher")

	c, err := drift.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := c.Check(context.Background(), "prod", kept, drift.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drift check after the prune: %d objects in %s", r.Summary.Objects, time.Since(start).Round(100*time.Millisecond))
	if r.Summary.Drift() {
		for _, comp := range r.Components {
			for _, o := range comp.Items {
				t.Errorf("drift check after the prune: component %s: %s %s %+v", comp.Name, o.ID, o.State, o.Fields)
			}
		}
	}
	want := 0
	for _, comp := range kept {
		want += len(comp.Objects)
	}
	if r.Summary.Objects != want || want >= total {
		t.Errorf("drift check after the prune: %d objects checked, want %d (of %d before)", r.Summary.Objects, want, total)
	}
}

// pruneComponent applies prod without the component name, pruning, and
// checks that its objects go, with what the controllers made for them
// (ReplicaSets, Pods) and its namespaces; it returns the other
// components.
func pruneComponent(t *testing.T, a *apply.Applier, comps []manifest.Component, name string) []manifest.Component {
	t.Helper()
	ctx := context.Background()
	c := cluster.Client(t)
	var kept []manifest.Component
	var pruned []*unstructured.Unstructured
	var namespaces []string
	for _, comp := range comps {
		if comp.Name != name {
			kept = append(kept, comp)
			continue
		}
		pruned = comp.Objects
		for _, o := range comp.Objects {
			if o.GetKind() == "Namespace" {
				namespaces = append(namespaces, o.GetName())
			}
		}
	}
	if len(pruned) == 0 || len(namespaces) != 1 {
		t.Fatalf("component %s has %d objects, %d namespaces; the test wants objects and one namespace of its own", name, len(pruned), len(namespaces))
	}
	ns := namespaces[0]

	// What the controllers made: a ReplicaSet per Deployment (the
	// Deployment controller), Pods of the ReplicaSets and Jobs (the
	// ReplicaSet and Job controllers), the namespace's ServiceAccount
	// "default" and ConfigMap kube-root-ca.crt. They must exist before the
	// prune for their going to mean anything.
	var made []client.Object
	deadline := time.Now().Add(time.Minute)
	for {
		var rss appsv1.ReplicaSetList
		var pods corev1.PodList
		if err := c.List(ctx, &rss, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := c.List(ctx, &pods, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		made = made[:0]
		owners := map[string]bool{}
		for i := range rss.Items {
			made = append(made, &rss.Items[i])
			if o := metav1.GetControllerOf(&rss.Items[i]); o != nil {
				owners[o.Kind] = true
			}
		}
		for i := range pods.Items {
			made = append(made, &pods.Items[i])
			if o := metav1.GetControllerOf(&pods.Items[i]); o != nil {
				owners[o.Kind] = true
			}
		}
		if owners["Deployment"] && owners["ReplicaSet"] && owners["Job"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespace %s: no ReplicaSet of a Deployment, Pod of a ReplicaSet and Pod of a Job after a minute (owners: %v)", ns, owners)
		}
		time.Sleep(200 * time.Millisecond)
	}
	made = append(made,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kube-root-ca.crt"}})
	for _, o := range made[len(made)-2:] {
		if err := c.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			t.Fatalf("before the prune: %v", err)
		}
	}

	start := time.Now()
	res := mustApply(t, a, "prod", kept, apply.Options{Prune: true, Timeout: time.Minute})
	deleted := 0
	for _, ch := range res.Changes {
		want := apply.Unchanged
		if ch.Component == name {
			want = apply.Deleted
			deleted++
		}
		if ch.Action != want {
			t.Errorf("apply without %s: %s %s, want %s", name, ch.ID, ch.Action, want)
		}
	}
	if deleted != len(pruned) {
		t.Errorf("apply without %s: %d deletions, want %d", name, deleted, len(pruned))
	}
	for _, e := range inventoryOf(t, "prod") {
		for _, o := range pruned {
			if e == manifest.IDOf(o).String() {
				t.Errorf("inventory still lists %s", e)
			}
		}
	}

	// Gone: the component's objects, what was made for them, and the
	// namespace itself (emptied and finalized).
	for _, o := range pruned {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(o.GroupVersionKind())
		u.SetNamespace(o.GetNamespace())
		u.SetName(o.GetName())
		made = append(made, u)
	}
	deadline = time.Now().Add(2 * time.Minute)
	for _, o := range made {
		for {
			err := c.Get(ctx, client.ObjectKeyFromObject(o), o)
			if apierrors.IsNotFound(err) || apimeta.IsNoMatchError(err) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%T %s/%s still there 2 minutes after the prune (deletion %v, finalizers %v)",
					o, o.GetNamespace(), o.GetName(), o.GetDeletionTimestamp(), o.GetFinalizers())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("prune of %s: %d objects and %d made by controllers gone in %s", name, len(pruned), len(made)-len(pruned), time.Since(start).Round(100*time.Millisecond))
	return kept
}

// catalogSources lists the sources of an environment's catalog.
func catalogSources(p *platform.Platform) ([]source.Source, error) {
	comps, err := p.Catalog()
	if err != nil {
		return nil, err
	}
	return render.Sources(comps), nil
}

// playProfileController creates the namespace of every Kubeflow Profile,
// as the profile controller would, until ctx ends.
func playProfileController(ctx context.Context, t *testing.T) {
	for ctx.Err() == nil {
		time.Sleep(500 * time.Millisecond)
		// A new client each time: the first ones start before the
		// Profile CRD exists.
		c, err := client.New(cluster.Config(), client.Options{})
		if err != nil {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("kubeflow.org/v1")
		list.SetKind("ProfileList")
		if err := c.List(ctx, list); err != nil {
			continue
		}
		for _, p := range list.Items {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.GetName()}}
			if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) && ctx.Err() == nil {
				t.Logf("profile controller: %v", err)
			}
		}
	}
}

// assertReady checks that every object that needs no controller to be
// ready (everything but workloads, jobs, PVCs and custom resources whose
// operators would report status) is ready by kstatus.
func assertReady(t *testing.T, comps []manifest.Component) {
	t.Helper()
	needsController := map[string]bool{
		"Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true,
		"PersistentVolumeClaim": true, "PodDisruptionBudget": true, "HorizontalPodAutoscaler": true,
	}
	checked := 0
	for _, c := range comps {
		for _, o := range c.Objects {
			group := o.GroupVersionKind().Group
			builtin := group == "" || group == "apps" || group == "rbac.authorization.k8s.io" || group == "apiextensions.k8s.io" ||
				group == "networking.k8s.io" || group == "scheduling.k8s.io" || group == "storage.k8s.io" || group == "policy" || group == "batch" || group == "autoscaling"
			if needsController[o.GetKind()] || !builtin {
				continue
			}
			cur := get(t, o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
			if cur == nil {
				t.Errorf("component %s: %s/%s/%s missing", c.Name, o.GetKind(), o.GetNamespace(), o.GetName())
				continue
			}
			s, err := status.Compute(cur)
			if err != nil || s.Status != status.CurrentStatus {
				t.Errorf("component %s: %s/%s/%s not ready: %v %v", c.Name, o.GetKind(), o.GetNamespace(), o.GetName(), s, err)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no object checked for readiness")
	}
}
