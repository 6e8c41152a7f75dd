package apply_test

import (
	"context"
	"fmt"
	"github.com/plinth-platform/plinth/lib/manifest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plinth-platform/plinth/lib/apply"
)

// The API server stops in the middle of an apply and comes back: the
// apply fails, and a second apply (of a set that dropped objects the
// first one had already created) converges: no orphan, a complete
// inventory. Not parallel: it stops the package's API server while the
// parallel tests wait. One request in flight, so that the writes go in
// the set's order and the outage strikes half way.
func TestApplyInterruptedByAPIServerOutage(t *testing.T) {
	a, w := newApplier(t)
	env := cluster.Namespace(t)
	ns := env + "-app"
	var docs []string
	docs = append(docs, "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS}\n")
	for i := range 30 {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d, namespace: NS}\ndata: {i: \"%d\"}\n", i, i))
	}
	first := []manifest.Component{component(t, env, ns, "app", strings.Join(docs, "---\n"))}

	var once sync.Once
	stopped := false
	w.After = func(n int64) {
		if n == 10 {
			once.Do(func() {
				if err := cluster.StopAPIServer(); err != nil {
					t.Errorf("stopping the API server: %v", err)
				}
				stopped = true
			})
		}
	}
	// Whatever happens, the other tests get their API server back.
	t.Cleanup(func() {
		if stopped {
			if err := cluster.StartAPIServer(); err != nil {
				t.Errorf("restarting the API server: %v", err)
			}
		}
	})
	_, err := a.Apply(context.Background(), env, first, apply.Options{Concurrency: 1})
	w.After = nil
	if err == nil {
		t.Fatal("apply succeeded although the API server stopped")
	}
	t.Logf("interrupted: %v", err)
	if err := cluster.StartAPIServer(); err != nil {
		t.Fatalf("restarting the API server: %v", err)
	}
	stopped = false

	// The outage left some objects created and others not.
	created := 0
	for i := range 30 {
		if get(t, "v1", "ConfigMap", ns, fmt.Sprintf("cm-%02d", i)) != nil {
			created++
		}
	}
	if created == 0 || created == 30 {
		t.Fatalf("%d of 30 ConfigMaps exist after the outage; the test wants an apply stopped half way", created)
	}
	if get(t, "v1", "ConfigMap", ns, "cm-00") == nil {
		t.Fatal("cm-00 should have been created before the outage (apply order is by name)")
	}
	if inv := inventoryOf(t, env); len(inv) != 31 {
		t.Fatalf("inventory after the outage has %d entries, want all 31 the apply may have created", len(inv))
	}

	// The environment drops cm-00..cm-04, which the interrupted apply created.
	second := []manifest.Component{component(t, env, ns, "app", strings.Join(append(docs[:1:1], docs[6:]...), "---\n"))}
	res := mustApply(t, a, env, second, apply.Options{Prune: true})
	for i := range 30 {
		name := fmt.Sprintf("cm-%02d", i)
		exists := get(t, "v1", "ConfigMap", ns, name) != nil
		if i < 5 && exists {
			t.Errorf("%s is an orphan: the environment dropped it", name)
		}
		if i >= 5 && !exists {
			t.Errorf("%s missing after the second apply", name)
		}
	}
	var want []string
	for _, c := range res.Changes {
		if c.Action != apply.Deleted {
			want = append(want, c.ID.String())
		}
	}
	slices.Sort(want)
	got := inventoryOf(t, env)
	slices.Sort(got)
	if len(got) != 26 || !slices.Equal(got, want) {
		t.Fatalf("inventory = %v\nwant the 26 objects of the environment", got)
	}
}
