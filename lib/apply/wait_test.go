package apply_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/render"
)

// With Wait, a layer that never becomes ready (a Deployment, and no
// controller runs here) stops the apply before the layers that depend on
// it; without Wait they are applied in order all the same.
func TestWaitStopsAtALayerNotReady(t *testing.T) {
	t.Parallel()
	a, _ := newApplier(t)
	ns := cluster.Namespace(t)
	comps := []render.Rendered{
		component(t, ns, ns, "backend", `
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
	if err == nil || !strings.Contains(err.Error(), "components backend") {
		t.Fatalf("err = %v", err)
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
	config := func(v string) []render.Rendered {
		return []render.Rendered{component(t, ns, ns, "app", `
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
