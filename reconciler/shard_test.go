package reconciler_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// TestShards: controllers of shards a and b and of the default shard
// never reconcile each other's Environments; the two replicas of shard a
// elect one leader between them while b's leader works at the same time;
// relabelling an Environment from a to b moves it: b applies it, a
// forgets it and leaves its objects in the cluster.
func TestShards(t *testing.T) {
	r := newRepo(t)
	envs := map[string]string{"shard-a": "a", "shard-b": "b", "unsharded": ""}
	for env := range envs {
		r.env(env, "app-"+env, map[string]string{"settings": "one"})
	}
	first := r.push("first")

	leaderNS := cluster.Namespace(t)
	a1 := startShardController(t, "a1", "a", leaderNS)
	a2 := startShardController(t, "a2", "a", leaderNS)
	b := startShardController(t, "b", "b", leaderNS)
	def := startShardController(t, "default", "", leaderNS)
	all := []*controller{a1, a2, b, def}

	var c client.Client
	objs := map[string]*v1.Environment{}
	for env, shard := range envs {
		c, objs[env] = newEnvironment(t, r, env, func(e *v1.Environment) {
			if shard != "" {
				e.Labels = map[string]string{reconciler.ShardLabel: shard}
			}
		})
	}
	for env, e := range objs {
		waitFor(t, c, e, env+" applied", func(e *v1.Environment) bool {
			return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
		})
	}

	// Each Environment was rendered by its shard's controllers alone.
	owners := map[string][]*controller{"shard-a": {a1, a2}, "shard-b": {b}, "unsharded": {def}}
	for env, own := range owners {
		for _, ctl := range all {
			if n := ctl.rendered(env); n > 0 && !slices.Contains(own, ctl) {
				t.Errorf("controller %s (shard %q) rendered %s, of shard %q, %d times", ctl.name, ctl.reconciler.Shard, env, envs[env], n)
			}
		}
	}
	// One leader per shard: one replica of a worked, the other waited,
	// while b's leader applied shard-b.
	leaderA, standbyA := a1, a2
	if a2.rendered("shard-a") > 0 {
		leaderA, standbyA = a2, a1
	}
	if leaderA.rendered("shard-a") == 0 || standbyA.rendered("shard-a") != 0 {
		t.Fatalf("shard a's replicas rendered shard-a %d and %d times; want exactly one of them working", a1.rendered("shard-a"), a2.rendered("shard-a"))
	}
	if b.rendered("shard-b") == 0 {
		t.Fatal("shard b's leader did not render shard-b")
	}

	// Move shard-a to shard b.
	moved := objs["shard-a"]
	cm := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "app-shard-a", Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	uid := cm.UID
	patch := client.MergeFrom(moved.DeepCopy())
	moved.Labels = map[string]string{reconciler.ShardLabel: "b"}
	if err := c.Patch(context.Background(), moved, patch); err != nil {
		t.Fatal(err)
	}
	// a's leader forgets it: its checkouts go (its cache saw it leave).
	dir := filepath.Join(leaderA.reconciler.WorkDir, moved.Namespace, moved.Name)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard a's leader still has %s 30 s after shard-a moved to b", dir)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rendersA := leaderA.rendered("shard-a")

	// b takes it over: the next commit is applied, by b, not a.
	r.env("shard-a", "app-shard-a", map[string]string{"settings": "two"})
	second := r.push("second: shard-a's settings two")
	waitFor(t, c, moved, "shard-a's second commit applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == second && isTrue(e, v1.ConditionReady)
	})
	if got := configMapValue(t, "app-shard-a", "settings"); got != "two" {
		t.Fatalf("settings = %q", got)
	}
	if b.rendered("shard-a") == 0 {
		t.Error("shard b's leader applied shard-a without rendering it")
	}
	if n := leaderA.rendered("shard-a"); n != rendersA {
		t.Errorf("shard a's leader rendered shard-a %d more times after it moved to b", n-rendersA)
	}
	if n := standbyA.rendered("shard-a") + def.rendered("shard-a"); n != 0 {
		t.Errorf("shard-a rendered %d times by controllers of neither a nor b", n)
	}
	// The move deleted nothing: the object shard a applied is the one b
	// changed, not one b created again after a pruned it.
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "app-shard-a", Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	if cm.UID != uid {
		t.Errorf("ConfigMap app-shard-a/settings was deleted and created again when shard-a moved (uid %s, then %s)", uid, cm.UID)
	}
}

// TestShardNames: the selector, Lease and refusals of shard names.
func TestShardNames(t *testing.T) {
	for _, c := range []struct{ shard, selector, lease string }{
		{"", "!plinth.dev/shard", "plinth-controller"},
		{"batch", "plinth.dev/shard=batch", "plinth-controller-batch"},
		{strings.Repeat("a", reconciler.MaxShardLen), "plinth.dev/shard=" + strings.Repeat("a", 45), "plinth-controller-" + strings.Repeat("a", 45)},
	} {
		sel, err := reconciler.ShardSelector(c.shard)
		if err != nil {
			t.Errorf("shard %q: %v", c.shard, err)
			continue
		}
		if sel.String() != c.selector {
			t.Errorf("shard %q: selector %s, want %s", c.shard, sel, c.selector)
		}
		if id := reconciler.LeaderElectionID(c.shard); id != c.lease || len(id) > 63 {
			t.Errorf("shard %q: Lease %s, want %s", c.shard, id, c.lease)
		}
	}
	for _, c := range []struct{ shard, want string }{
		{"Batch", `shard "Batch": a lowercase RFC 1123 label`},
		{"batch_1", `shard "batch_1": a lowercase RFC 1123 label`},
		{"-batch", `shard "-batch": a lowercase RFC 1123 label`},
		{strings.Repeat("a", 46), "46 characters, at most 45"},
	} {
		if _, err := reconciler.ShardCache(c.shard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("shard %q: error %v, want one saying %q", c.shard, err, c.want)
		}
	}
}
