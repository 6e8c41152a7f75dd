package reconciler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// inFlight counts renders running at once, per environment and in all.
type inFlight struct {
	mu       sync.Mutex
	now, max int
	per      map[string]int
	perMax   map[string]int
}

func (f *inFlight) enter(env string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.per == nil {
		f.per, f.perMax = map[string]int{}, map[string]int{}
	}
	f.now++
	f.max = max(f.max, f.now)
	f.per[env]++
	f.perMax[env] = max(f.perMax[env], f.per[env])
}

func (f *inFlight) leave(env string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now--
	f.per[env]--
}

// Sixty environments created at once: they queue behind the concurrency
// cap (never more renders at once than it allows, and more than one) and
// every one is applied.
func TestManyEnvironmentsDueAtOnce(t *testing.T) {
	const envs, concurrency = 60, 3
	r := newRepo(t)
	for i := range envs {
		r.env(fmt.Sprintf("many-%02d", i), fmt.Sprintf("app-many-%02d", i), map[string]string{"settings": "one"})
	}
	head := r.push("sixty environments")
	var flight inFlight
	startController(t, "", func(rc *reconciler.Reconciler) {
		rc.Concurrency = concurrency
		rc.Render = func(ctx context.Context, req pipeline.Request) (*pipeline.Set, error) {
			env := req.Env.Name
			flight.enter(env)
			defer flight.leave(env)
			time.Sleep(50 * time.Millisecond) // long enough for renders to overlap when they may
			return pipeline.Objects(ctx, req, pipeline.DefaultLimits())
		}
	})
	var c client.Client
	var all []*v1.Environment
	for i := range envs {
		var e *v1.Environment
		c, e = newEnvironment(t, r, fmt.Sprintf("many-%02d", i), func(e *v1.Environment) {
			e.Spec.DriftInterval = metav1.Duration{Duration: 10 * time.Second}
		})
		all = append(all, e)
	}
	for _, e := range all {
		waitFor(t, c, e, e.Name+" applied", func(e *v1.Environment) bool {
			return e.Status.LastAppliedRevision == head && isTrue(e, v1.ConditionReady)
		})
	}
	flight.mu.Lock()
	defer flight.mu.Unlock()
	if flight.max > concurrency || flight.max < 2 {
		t.Errorf("%d renders at once; want between 2 and the cap of %d", flight.max, concurrency)
	}
}

// A reconcile over its spec.timeout: Ready=False TimedOut saying so, the
// status written though the time is up, retried one at a time (never two
// reconciles of one environment at once), while another environment of
// the same controller is applied.
func TestReconcileOverItsTimeout(t *testing.T) {
	r := newRepo(t)
	r.env("slow", "app-slow", map[string]string{"settings": "one"})
	r.env("fast", "app-fast", map[string]string{"settings": "one"})
	head := r.push("slow and fast")
	var flight inFlight
	startController(t, "", func(rc *reconciler.Reconciler) {
		rc.Concurrency = 2
		rc.Render = func(ctx context.Context, req pipeline.Request) (*pipeline.Set, error) {
			env := req.Env.Name
			flight.enter(env)
			defer flight.leave(env)
			if env == "slow" {
				<-ctx.Done() // a render that would never end
				return nil, fmt.Errorf("environment slow: %w", ctx.Err())
			}
			return pipeline.Objects(ctx, req, pipeline.DefaultLimits())
		}
	})
	c, slow := newEnvironment(t, r, "slow", func(e *v1.Environment) { e.Spec.Timeout = metav1.Duration{Duration: 2 * time.Second} })
	_, fast := newEnvironment(t, r, "fast", nil)
	cur := waitFor(t, c, slow, "the timeout reported", func(e *v1.Environment) bool { return isFalse(e, v1.ConditionReady, "TimedOut") })
	if msg := condition(cur, v1.ConditionReady).Message; !strings.Contains(msg, "RenderFailed: the reconcile exceeded its timeout of 2s (spec.timeout)") {
		t.Errorf("Ready message: %s", msg)
	}
	if isTrue(cur, v1.ConditionStalled) {
		t.Error("a timeout is retried, not Stalled")
	}
	waitFor(t, c, fast, "the other environment applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == head && isTrue(e, v1.ConditionReady)
	})
	time.Sleep(5 * time.Second) // retries with backoff
	flight.mu.Lock()
	defer flight.mu.Unlock()
	if flight.perMax["slow"] != 1 {
		t.Errorf("%d reconciles of one environment at once", flight.perMax["slow"])
	}
}
