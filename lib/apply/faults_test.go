package apply_test

// Case 23: API server faults in the middle of an apply, injected between
// plinth and the real API server (kubetest.FaultTransport) because the
// server does not produce them on demand.

import (
	"context"
	"fmt"
	"github.com/plinth-platform/plinth/lib/manifest"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/kubetest"
)

// faultyApplier is an Applier whose requests go through a FaultTransport:
// once armed, after `after` successful server-side applies (writes, not
// dry runs), fault strikes the next apply; persistent, every later one
// too. It counts DELETE requests and the attempts at the faulted object.
type faultyApplier struct {
	*apply.Applier
	mu         sync.Mutex // writes may go concurrently
	armed      bool
	after      int
	fault      kubetest.Fault
	persistent bool

	applies  int
	struck   string // name of the first faulted object
	attempts int    // requests for it, retries included
	deletes  int
}

func newFaultyApplier(t *testing.T) *faultyApplier {
	t.Helper()
	f := &faultyApplier{}
	ft := &kubetest.FaultTransport{Pick: f.pick}
	cfg := cluster.Config()
	cfg.WrapTransport = ft.Wrap
	a, err := apply.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.Applier = a
	return f
}

func (f *faultyApplier) pick(r *http.Request) kubetest.Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodDelete {
		f.deletes++
	}
	if !f.armed || !kubetest.IsApply(r) {
		return nil
	}
	name := kubetest.ObjectName(r)
	if f.struck == "" && f.applies < f.after {
		f.applies++
		return nil
	}
	if f.struck == "" {
		f.struck = name
	}
	if name == f.struck {
		f.attempts++
		if f.attempts == 1 || f.persistent {
			return f.fault
		}
		return nil
	}
	if f.persistent {
		return f.fault
	}
	return nil
}

// labelled returns the names of env's ConfigMaps in ns with their UIDs.
func labelled(t *testing.T, env, ns string) map[string]types.UID {
	t.Helper()
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("v1")
	list.SetKind("ConfigMapList")
	if err := cluster.Client(t).List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{manifest.LabelEnvironment: env}); err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, o := range list.Items {
		out[o.GetName()] = o.GetUID()
	}
	return out
}

// cmSet returns ConfigMaps cm-<from>..cm-<to-1> as one component.
func cmSet(t *testing.T, env, ns string, from, to int) []manifest.Component {
	t.Helper()
	var docs []string
	for i := from; i < to; i++ {
		docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d, namespace: NS}\ndata: {i: \"%d\"}\n", i, i))
	}
	return []manifest.Component{component(t, env, ns, "app", strings.Join(docs, "---\n"))}
}

// Case 23: an apply that drops cm-00..02 and adds cm-10..19 to an
// environment of cm-00..09, with prune, meets a fault after 5 of the 10
// creations (with one request in flight plinth writes one object at a
// time, in the set's order: the fault strikes cm-15). The apply fails
// naming cm-15; no DELETE is sent (no prune after a failure); the
// inventory lists every object of the environment that exists. The next
// apply, without fault, converges: exactly the set exists (cm-00..02
// pruned, nothing recreated), and the inventory is exactly the set.
// The last case writes 8 at a time, as plinth does by default: which
// object the fault strikes and which others were written meanwhile
// depend on timing, so it checks only what must hold whatever the order.
//
// The faults, and what client-go (v0.37) makes of them:
//   - 503 without Retry-After: not retried; one attempt.
//   - 429 with Retry-After, every time: client-go retries any 429 or 5xx
//     answer carrying Retry-After, PATCH included (its body is bytes it can
//     resend), at most 10 times: 11 attempts, then the 429 is the error.
//     Retry-After: 0 keeps the test fast; a real server sends 1 or more.
//   - connection reset before the request reaches the server: a write is
//     not retried (client-go retries resets for GET only); cm-15 is not
//     created.
//   - connection reset after the server applied the request: the object
//     exists although its apply failed; the inventory written before the
//     first write lists it.
//   - deadline: the apply's context expires as the request for cm-15 is
//     made; the request never reaches the server.
func TestFaultMidApplyConverges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		fault      kubetest.Fault
		persistent bool
		deadline   bool
		want       string // in the error
		attempts   int    // requests for cm-15 in the failed apply
		created    bool   // cm-15 exists after the failed apply
		concurrent bool   // default concurrency: only the invariants are checked
	}{
		{name: "503", fault: kubetest.Status(http.StatusServiceUnavailable, -1), want: "injected fault: 503", attempts: 1},
		{name: "429 retry-after", fault: kubetest.Status(http.StatusTooManyRequests, 0), persistent: true, want: "injected fault: 429", attempts: 11},
		{name: "reset before server", fault: kubetest.ResetBeforeServer(), want: "connection reset by peer", attempts: 1},
		{name: "reset after server", fault: kubetest.ResetAfterServer(), want: "connection reset by peer", attempts: 1, created: true},
		{name: "deadline", fault: kubetest.Hang(), deadline: true, want: "context deadline exceeded", attempts: 1},
		{name: "503 concurrent", fault: kubetest.Status(http.StatusServiceUnavailable, -1), want: "injected fault: 503", attempts: 1, concurrent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newFaultyApplier(t)
			env := cluster.Namespace(t)
			ns := env
			mustApply(t, a.Applier, env, cmSet(t, env, ns, 0, 10), apply.Options{})
			uids := labelled(t, env, ns)

			ctx := context.Background()
			a.after, a.fault, a.persistent, a.armed = 5, tc.fault, tc.persistent, true
			if tc.deadline {
				exp := kubetest.NewExpiringContext()
				ctx = exp
				hang := tc.fault
				a.fault = func(r *http.Request, next http.RoundTripper) (*http.Response, error) {
					exp.Expire()
					return hang(r, next)
				}
			}
			next := cmSet(t, env, ns, 3, 20)
			opts := apply.Options{Prune: true, Concurrency: 1}
			if tc.concurrent {
				opts.Concurrency = 0
			}
			_, err := a.Apply(ctx, env, next, opts)
			a.armed = false
			if err == nil {
				t.Fatal("apply succeeded despite the fault")
			}
			t.Logf("failed apply: %v", err)
			for _, want := range []string{"environment " + env, "ConfigMap/" + ns + "/" + a.struck, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q: %v", want, err)
				}
			}
			if tc.concurrent {
				if a.struck == "" || a.attempts != tc.attempts {
					t.Errorf("fault struck %q after %d attempts, want one attempt", a.struck, a.attempts)
				}
			} else if a.struck != "cm-15" || a.attempts != tc.attempts {
				t.Errorf("fault struck %q after %d attempts, want cm-15 after %d", a.struck, a.attempts, tc.attempts)
			}
			if a.deletes != 0 {
				t.Errorf("%d DELETE requests in the failed apply, want none", a.deletes)
			}
			live := labelled(t, env, ns)
			inv := inventoryOf(t, env)
			for name := range live {
				if !slices.Contains(inv, "ConfigMap/"+ns+"/"+name) {
					t.Errorf("%s exists but is not in the inventory %v", name, inv)
				}
			}
			if !tc.concurrent {
				for i := range 15 {
					if _, ok := live[fmt.Sprintf("cm-%02d", i)]; !ok {
						t.Errorf("cm-%02d missing after the failed apply", i)
					}
				}
				if _, ok := live["cm-15"]; ok != tc.created {
					t.Errorf("cm-15 exists: %v, want %v", ok, tc.created)
				}
				for i := 16; i < 20; i++ {
					if _, ok := live[fmt.Sprintf("cm-%02d", i)]; ok {
						t.Errorf("cm-%02d created after the fault", i)
					}
				}
			} else if _, ok := live[a.struck]; ok {
				t.Errorf("%s, whose write failed before the server, exists", a.struck)
			}
			for name, uid := range live {
				if old, ok := uids[name]; ok && old != uid {
					t.Errorf("%s recreated by the failed apply", name)
				}
			}
			uids = live

			a.deletes = 0
			res := mustApply(t, a.Applier, env, next, apply.Options{Prune: true})
			live = labelled(t, env, ns)
			var want []string
			for i := 3; i < 20; i++ {
				want = append(want, fmt.Sprintf("cm-%02d", i))
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for name := range live {
					if !yield(name) {
						return
					}
				}
			})
			if !slices.Equal(got, want) {
				t.Errorf("after the next apply: %v, want %v", got, want)
			}
			for name, uid := range uids {
				if now, ok := live[name]; ok && now != uid {
					t.Errorf("%s recreated by the next apply", name)
				}
			}
			if a.deletes != 3 {
				t.Errorf("the next apply sent %d DELETEs, want 3 (cm-00..02)", a.deletes)
			}
			for i := range 3 {
				if act := actions(res)[fmt.Sprintf("ConfigMap/%s/cm-%02d", ns, i)]; act != apply.Deleted {
					t.Errorf("cm-%02d: %q, want deleted", i, act)
				}
			}
			for i := range want {
				want[i] = "ConfigMap/" + ns + "/" + want[i]
			}
			inv = inventoryOf(t, env)
			slices.Sort(inv)
			if !slices.Equal(inv, want) {
				t.Errorf("inventory after the next apply = %v\nwant %v", inv, want)
			}
		})
	}
}

// A single 429 with Retry-After is absorbed by client-go, which waits
// the second it asks for and sends the apply again: plinth's apply
// succeeds, having sent the faulted object's apply twice, and every
// object exists once.
func TestSingle429IsRetriedByClientGo(t *testing.T) {
	t.Parallel()
	a := newFaultyApplier(t)
	env := cluster.Namespace(t)
	a.after, a.fault, a.armed = 3, kubetest.Status(http.StatusTooManyRequests, 1), true
	res := mustApply(t, a.Applier, env, cmSet(t, env, env, 0, 6), apply.Options{Prune: true, Concurrency: 1})
	a.armed = false
	if a.struck != "cm-03" || a.attempts != 2 {
		t.Fatalf("fault struck %q, %d attempts; want cm-03, 2 (the 429, then client-go's retry)", a.struck, a.attempts)
	}
	for _, c := range res.Changes {
		if c.Action != apply.Created {
			t.Errorf("%s: %s", c.ID, c.Action)
		}
	}
	if live := labelled(t, env, env); len(live) != 6 {
		t.Errorf("%d ConfigMaps, want 6: %v", len(live), live)
	}
	if inv := inventoryOf(t, env); len(inv) != 6 {
		t.Errorf("inventory = %v", inv)
	}
}

// Case 23, the last write: the inventory update after a successful apply
// and prune fails (503). The apply fails naming the inventory; the pruned
// objects are gone while the inventory still lists them (it only ever
// lists more than exists, never less); the next apply converges to an
// inventory of exactly the set, without a DELETE (nothing is left to
// delete).
func TestFaultOnFinalInventoryWrite(t *testing.T) {
	t.Parallel()
	a := newFaultyApplier(t)
	env := cluster.Namespace(t)
	mustApply(t, a.Applier, env, cmSet(t, env, env, 0, 6), apply.Options{})

	ft := &kubetest.FaultTransport{}
	cfg := cluster.Config()
	cfg.WrapTransport = ft.Wrap
	b, err := apply.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	invWrites, deletes := 0, 0
	ft.Pick = func(r *http.Request) kubetest.Fault {
		if r.Method == http.MethodDelete {
			deletes++
		}
		// The inventory is updated twice: before the first write (the
		// union) and after the prune (the set). The second fails.
		if r.Method == http.MethodPut && kubetest.ObjectName(r) == "plinth-inventory-"+env {
			if invWrites++; invWrites == 2 {
				return kubetest.Status(http.StatusServiceUnavailable, -1)
			}
		}
		return nil
	}
	next := cmSet(t, env, env, 2, 8)
	_, err = b.Apply(context.Background(), env, next, apply.Options{Prune: true})
	if err == nil || !strings.Contains(err.Error(), "inventory of environment "+env) {
		t.Fatalf("err = %v, want the inventory write's failure", err)
	}
	if deletes != 2 || len(labelled(t, env, env)) != 6 {
		t.Fatalf("%d DELETEs, %d objects; want cm-00..01 pruned, 6 left", deletes, len(labelled(t, env, env)))
	}
	if inv := inventoryOf(t, env); len(inv) != 8 {
		t.Fatalf("inventory = %v, want the union of both sets (8)", inv)
	}

	ft.Pick, deletes = nil, 0
	mustApply(t, b, env, next, apply.Options{Prune: true})
	var want []string
	for i := 2; i < 8; i++ {
		want = append(want, fmt.Sprintf("ConfigMap/%s/cm-%02d", env, i))
	}
	inv := inventoryOf(t, env)
	slices.Sort(inv)
	if !slices.Equal(inv, want) {
		t.Errorf("inventory = %v\nwant %v", inv, want)
	}
	if deletes != 0 || len(labelled(t, env, env)) != 6 {
		t.Errorf("next apply: %d DELETEs, %d objects; want 0 and 6", deletes, len(labelled(t, env, env)))
	}
}
