package apply_test

import (
	"context"
	"errors"
	"github.com/plinth-platform/plinth/lib/manifest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
)

// With Wait, a layer that never becomes ready (a Deployment, and no
// controller runs here) stops the apply before the layers that depend on
// it, when the timeout is over, naming the object that is not ready (and
// not the one that is); without Wait they are applied in order all the
// same.
func TestWaitStopsAtALayerNotReady(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []manifest.Component{
		component(t, ns, ns, "backend", `
apiVersion: v1
kind: ConfigMap
metadata: {name: backend, namespace: NS}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: NS}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: postgres}]}
`),
		component(t, ns, ns, "frontend", `
apiVersion: v1
kind: ConfigMap
metadata: {name: frontend, namespace: NS}
`, "backend"),
	}
	_, err := a.Apply(context.Background(), ns, comps, apply.Options{Wait: true, Timeout: 3 * time.Second})
	if err == nil {
		t.Fatal("apply succeeded")
	}
	t.Logf("apply: %v", err)
	for _, want := range []string{
		"environment " + ns + ": components backend: 1 of 2 objects not ready within 3s",
		"component backend: Deployment.apps/" + ns + "/db: InProgress",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ConfigMap") {
		t.Errorf("error names the ready ConfigMap: %v", err)
	}
	if get(t, "apps/v1", "Deployment", ns, "db") == nil {
		t.Fatal("the first layer was not applied")
	}
	if get(t, "v1", "ConfigMap", ns, "frontend") != nil {
		t.Fatal("the second layer was applied although the first is not ready")
	}
	mustApply(t, a, ns, comps, apply.Options{})
	if get(t, "v1", "ConfigMap", ns, "frontend") == nil {
		t.Fatal("without Wait the second layer was not applied")
	}
}

// Recreating an object for an immutable change waits for its finalizers.
func TestForceRecreateWaitsForFinalizers(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	config := func(v string) []manifest.Component {
		return []manifest.Component{component(t, ns, ns, "app", `
apiVersion: v1
kind: ConfigMap
metadata: {name: frozen, namespace: NS}
immutable: true
data: {v: "`+v+`"}
`)}
	}
	mustApply(t, a, ns, config("1"), apply.Options{})
	ctx := context.Background()
	c := cluster.Client(t)
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "frozen"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Finalizers = []string{"example.com/hold"}
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	uid := cm.UID

	// Another controller releases the object two seconds after the delete.
	released := make(chan time.Time, 1)
	go func() {
		for {
			time.Sleep(200 * time.Millisecond)
			cur := &corev1.ConfigMap{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "frozen"}, cur); err != nil || cur.DeletionTimestamp == nil {
				continue
			}
			time.Sleep(2 * time.Second)
			cur.Finalizers = nil
			if err := c.Update(ctx, cur); err != nil {
				t.Errorf("releasing: %v", err)
			}
			released <- time.Now()
			return
		}
	}()
	res := mustApply(t, a, ns, config("2"), apply.Options{Force: true, Timeout: time.Minute})
	done := time.Now()
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/frozen": apply.Recreated})
	select {
	case at := <-released:
		if done.Before(at) {
			t.Fatal("apply returned before the finalizer was removed")
		}
	default:
		t.Fatal("apply returned before the finalizer was removed")
	}
	got := get(t, "v1", "ConfigMap", ns, "frozen")
	if got.GetUID() == uid || got.Object["data"].(map[string]any)["v"] != "2" {
		t.Fatalf("not recreated with the new data: %v", got.Object)
	}
}

const jobAndDeployment = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: migrate}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
`

// A Job that fails stops the wait at once, while the Deployment of the
// same layer is still progressing: the apply fails well before the
// timeout, naming the Job and its failure and the Deployment not ready,
// and the next layer is not applied. The Job controller fails the Job:
// its pod cannot run in the test cluster (no scheduler, no kubelet), so
// its deadline of one second passes (DeadlineExceeded).
func TestWaitFailsFastOnAFailedJob(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	failing := strings.Replace(jobAndDeployment, "spec:\n  template:", "spec:\n  activeDeadlineSeconds: 1\n  template:", 1)
	if failing == jobAndDeployment {
		t.Fatal("no Job spec to set a deadline in")
	}
	comps := []manifest.Component{
		component(t, ns, ns, "jobs", failing),
		component(t, ns, ns, "frontend", `
apiVersion: v1
kind: ConfigMap
metadata: {name: frontend, namespace: NS}
`, "jobs"),
	}
	ctx := context.Background()

	const timeout = 2 * time.Minute
	start := time.Now()
	_, err := a.Apply(ctx, ns, comps, apply.Options{Wait: true, Timeout: timeout})
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("failed after %s, want well before the %s timeout", took, timeout)
	}
	if err == nil {
		t.Fatal("apply succeeded")
	}
	t.Logf("apply: %v", err)
	for _, want := range []string{
		"environment " + ns + ": components jobs: 1 of 2 objects failed, 1 more not ready yet",
		"component jobs: Job.batch/" + ns + "/migrate: Failed: Job Failed",
		"component jobs: Deployment.apps/" + ns + "/web: InProgress",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if get(t, "v1", "ConfigMap", ns, "frontend") != nil {
		t.Error("the next layer was applied after a failed Job")
	}
	job := get(t, "batch/v1", "Job", ns, "migrate")
	conds, _, _ := unstructured.NestedSlice(job.Object, "status", "conditions")
	failed := false
	for _, c := range conds {
		c, _ := c.(map[string]any)
		failed = failed || c["type"] == "Failed" && c["status"] == "True" && c["reason"] == "DeadlineExceeded"
	}
	if !failed {
		t.Errorf("the Job did not fail by its deadline: %v", conds)
	}
}

// Cancelling the context while the apply waits for a layer that will not
// be ready (the timeout is ten minutes) returns at once, with the
// context's error.
func TestWaitStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []manifest.Component{component(t, ns, ns, "jobs", jobAndDeployment)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelled := make(chan time.Time, 1)
	opts := apply.Options{Wait: true, Timeout: 10 * time.Minute, Progress: func(line string) {
		if strings.Contains(line, "waiting for") {
			go func() {
				time.Sleep(time.Second)
				cancelled <- time.Now()
				cancel()
			}()
		}
	}}
	_, err := a.Apply(ctx, ns, comps, opts)
	returned := time.Now()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "components jobs: waiting for 2 objects to be ready") {
		t.Errorf("err = %v", err)
	}
	select {
	case at := <-cancelled:
		if d := returned.Sub(at); d > 30*time.Second {
			t.Errorf("returned %s after the cancellation", d)
		}
	default:
		t.Fatal("returned before the wait was cancelled")
	}
}
