package reconciler_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

const (
	// benchObjects ConfigMaps (plus two Namespaces) make the environment
	// of BenchmarkController.
	benchObjects = 3000
	// benchReconciles is how many reconciles of the environment the
	// benchmark runs; memory is sampled every 10th.
	benchReconciles = 100
	// benchIdleUntil ends the period without pushes, counted in
	// reconciles; the pushes come after it.
	benchIdleUntil = 50
	// benchPushes is how many commits the benchmark pushes and times.
	benchPushes = 5
)

// BenchmarkController runs the controller (a controller-runtime manager
// with the Reconciler, in this process, rendering in its sandboxed child) against the
// real kube-apiserver of lib/kubetest and a real git server behind the
// counting proxy of main_test.go, on one Environment whose objects are
// 3,000 small ConfigMaps in two Namespaces it also creates (Interval 1 s,
// DriftInterval 5 s, drift policy report). For profiling the reconciler in
// one process; bench/controller.sh measures the shipped binary instead.
//
// It is one scenario, not a loop: run it with -benchtime 1x (b.N is
// ignored and ns/op suppressed). In order:
//
//  1. the first commit is pushed and applied (reconcile 1);
//  2. until reconcile benchIdleUntil nothing is pushed: the git server
//     must see no fetch (git-upload-pack POST) in that time; the count is
//     reported as fetches-while-unchanged and must be 0;
//  3. benchPushes commits, each changing one ConfigMap, are pushed at
//     random moments; each is timed from the end of the push to the
//     Environment's status.lastAppliedRevision naming it (median:
//     push-to-applied-s), and to the changed ConfigMap's write reaching
//     the API server (push-to-written-s). The reconcile that applied it
//     is split into: waiting for the next poll (wait-s), ls-remote, the
//     Reconciling status write and fetch (git-s), render (render-s),
//     apply: plan and writes (apply-s),
//     and the drift check that follows every apply before the status is
//     written (drift-s), all medians. renders-per-push counts the
//     reconciles that rendered and applied from the first push to the end,
//     per push: 1 when every revision is applied once;
//  4. reconciles go on, unchanged, until reconcile benchReconciles.
//
// After every 10th reconcile, still inside it (the controller waits),
// the benchmark runs runtime.GC() and reads the heap in use
// (runtime.MemStats.HeapInuse), the process's resident set
// (/proc/self/status VmRSS) and the number of goroutines;
// heap-MiB-at-10/-at-100, rss-MiB-at-10/-at-100 and
// goroutines-at-10/-at-100 are those after reconcile 10 and 100 (counted
// from the controller's start: reconcile 1 is the first apply), and the
// log lists every sample. They measure the whole test process: besides
// the controller (its manager, informer caches and the Reconciler's
// state: the rendered objects it keeps for drift checks) it holds the
// benchmark's own client, the git proxy and the git server's HTTP front
// (gittestserver). The renders run as in plinth controller, in a
// sandboxed child process (of the test binary, through lib/pipeline);
// they, kube-apiserver, etcd, the git server's git processes and the
// pushes (the git CLI) are other processes.
//
// Reconciles are counted by a reconcile.Reconciler that wraps the
// Reconciler (registered as SetupWithManager would register it); apply
// and drift go through a rest.Config whose transport marks where apply
// ends and drift begins (each starts with its own discovery requests).
func BenchmarkController(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	benchStart := time.Now()
	installCRD(b)
	ctx := b.Context()
	suffix := benchSuffix()
	nsA, nsB := "ctl-bench-a-"+suffix, "ctl-bench-b-"+suffix

	repo := newBenchRepo(b)
	repo.write("environments/bench/env.cue", benchEnvironment(nsA, nsB, 0))
	first := repo.push("first")

	c, err := client.New(cluster.Config(), client.Options{Scheme: scheme(b)})
	if err != nil {
		b.Fatal(err)
	}
	ns := cluster.Namespace(b)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: ns},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}}
	if err := c.Create(ctx, secret); err != nil {
		b.Fatal(err)
	}
	env := &v1.Environment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: ns},
		Spec: v1.EnvironmentSpec{
			Git:           v1.GitSource{URL: repo.url, Ref: v1.GitRef{Branch: "main"}, SecretRef: &v1.LocalObjectReference{Name: "git-auth"}},
			Environment:   "bench",
			Interval:      metav1.Duration{Duration: time.Second},
			DriftInterval: metav1.Duration{Duration: 5 * time.Second},
		},
	}
	if err := cluster.Share(ctx, env.Spec.Environment); err != nil {
		b.Fatal(err)
	}
	ctl := startBenchController(b, types.NamespacedName{Namespace: ns, Name: env.Name})
	if err := c.Create(ctx, env); err != nil {
		b.Fatal(err)
	}

	// 1. The first commit applied.
	start := time.Now()
	ctl.waitApplied(b, c, env, first, 15*time.Minute)
	b.Logf("first commit applied (%d objects created) in %.1f s", benchObjects+2, time.Since(start).Seconds())

	// 2. No push until reconcile benchIdleUntil: no fetch.
	idleFrom, idleReconciles := time.Now(), ctl.count()
	fetches := repo.proxy.posts.Load()
	ctl.waitReconciles(b, benchIdleUntil, 15*time.Minute)
	unchanged := repo.proxy.posts.Load() - fetches
	idle := time.Since(idleFrom)
	idleReconciles = ctl.count() - idleReconciles
	b.ReportMetric(float64(unchanged), "fetches-while-unchanged")
	b.ReportMetric(float64(idleReconciles), "reconciles-while-unchanged")
	b.ReportMetric(idle.Seconds(), "unchanged-s")
	if unchanged != 0 {
		b.Fatalf("%d fetches in %d reconciles (%.0f s) while the remote head did not move", unchanged, idleReconciles, idle.Seconds())
	}

	// 3. Pushes, one ConfigMap changed each.
	var pushes []benchPush
	pushesFrom := time.Now()
	fetches = repo.proxy.posts.Load()
	for i := 1; i <= benchPushes; i++ {
		// At a random moment of the poll and drift cycle.
		time.Sleep(2*time.Second + mathrand.N(5*time.Second))
		repo.write("environments/bench/env.cue", benchEnvironment(nsA, nsB, i))
		before := time.Now()
		commit := repo.push(fmt.Sprintf("push %d", i))
		pushed := time.Now()
		applied := ctl.waitApplied(b, c, env, commit, 10*time.Minute)
		p := ctl.breakdown(b, before, pushed, applied)
		b.Logf("push %d: applied after %.2f s, written after %.2f s (wait %.2f, git %.2f, render %.2f, apply %.2f: %d requests, drift %.2f: %d requests)",
			i, p.applied, p.written, p.wait, p.git, p.render, p.apply, p.applyRequests, p.drift, p.driftRequests)
		pushes = append(pushes, p)
	}
	b.ReportMetric(float64(repo.proxy.posts.Load()-fetches)/benchPushes, "fetches-per-push")
	for _, m := range []struct {
		unit string
		f    func(benchPush) float64
	}{
		{"push-to-applied-s", func(p benchPush) float64 { return p.applied }},
		{"push-to-written-s", func(p benchPush) float64 { return p.written }},
		{"wait-s", func(p benchPush) float64 { return p.wait }},
		{"git-s", func(p benchPush) float64 { return p.git }},
		{"render-s", func(p benchPush) float64 { return p.render }},
		{"apply-s", func(p benchPush) float64 { return p.apply }},
		{"drift-s", func(p benchPush) float64 { return p.drift }},
		{"apply-requests", func(p benchPush) float64 { return float64(p.applyRequests) }},
		{"drift-requests", func(p benchPush) float64 { return float64(p.driftRequests) }},
	} {
		var xs []float64
		for _, p := range pushes {
			xs = append(xs, m.f(p))
		}
		b.ReportMetric(median(xs), m.unit)
	}

	// 4. Unchanged until reconcile benchReconciles.
	ctl.waitReconciles(b, benchReconciles, 15*time.Minute)
	b.ReportMetric(float64(ctl.rendersSince(pushesFrom))/benchPushes, "renders-per-push")
	samples := ctl.memory()
	// One line: the testing package keeps 10 lines of a benchmark's log.
	var line []string
	for _, s := range samples {
		line = append(line, fmt.Sprintf("%d %.0f %.1f %.1f %d", s.reconcile, s.at.Sub(ctl.started).Seconds(), s.heap, s.rss, s.goroutines))
	}
	b.Logf("memory (after reconcile, s since start, heap in use MiB, RSS MiB, goroutines): %s", strings.Join(line, "; "))
	at := func(n int) benchMemory {
		for _, s := range samples {
			if s.reconcile == n {
				return s
			}
		}
		b.Fatalf("no memory sample after reconcile %d", n)
		return benchMemory{}
	}
	m10, m100 := at(10), at(benchReconciles)
	b.ReportMetric(m10.heap, "heap-MiB-at-10")
	b.ReportMetric(m100.heap, "heap-MiB-at-100")
	b.ReportMetric(m10.rss, "rss-MiB-at-10")
	b.ReportMetric(m100.rss, "rss-MiB-at-100")
	b.ReportMetric(float64(m10.goroutines), "goroutines-at-10")
	b.ReportMetric(float64(m100.goroutines), "goroutines-at-100")
	drifts, driftTime := ctl.driftChecks()
	b.ReportMetric(float64(drifts), "drift-checks")
	b.ReportMetric(driftTime, "drift-check-s")
	b.ReportMetric(time.Since(benchStart).Seconds(), "total-s")
}

// benchEnvironment is the environment's env.cue: two Namespaces and
// benchObjects ConfigMaps; push changes ConfigMap cm-0 only.
func benchEnvironment(nsA, nsB string, push int) string {
	return fmt.Sprintf(`package plinth

import "list"

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
network: mirrors: images: "nexus.test.local:8443"
objects: {
	for ns in [%[1]q, %[2]q] {(ns): {apiVersion: "v1", kind: "Namespace", metadata: name: ns}}
	for i in list.Range(0, %[3]d, 1) {
		"cm-\(i)": {
			apiVersion: "v1"
			kind:       "ConfigMap"
			metadata: {name: "cm-\(i)", namespace: [%[1]q, %[2]q][mod(i, 2)]}
			data: value: "object \(i)"
			if i == 0 {data: push: "%[4]d"}
		}
	}
}
`, nsA, nsB, benchObjects, push)
}

// benchPush is one timed push, in seconds.
type benchPush struct {
	applied, written                float64
	wait, git, render, apply, drift float64
	applyRequests, driftRequests    int
}

// benchReconcile is what the wrapper saw of one reconcile.
type benchReconcile struct {
	start, end             time.Time
	renderStart, renderEnd time.Time
	// driftStart is the first request of the drift check: in a reconcile
	// that renders, the first discovery request after apply's requests.
	driftStart time.Time
	// written is when the PATCH writing ConfigMap cm-0 was sent.
	written                      time.Time
	applyRequests, driftRequests int
	requestsSinceRender          bool
}

type benchMemory struct {
	reconcile  int
	at         time.Time
	heap, rss  float64 // MiB
	goroutines int
}

// benchController is the controller of the benchmark: a manager running
// the Reconciler through a wrapper that counts and times its reconciles
// of the benchmark's Environment.
type benchController struct {
	inner   *reconciler.Reconciler
	key     types.NamespacedName
	logs    string
	started time.Time

	mu        sync.Mutex
	n         int
	cur       *benchReconcile
	rendering []*benchReconcile // the reconciles that rendered
	drifts    []time.Duration   // reconciles without render that checked drift
	samples   []benchMemory
}

func (c *benchController) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if req.NamespacedName != c.key {
		return c.inner.Reconcile(ctx, req)
	}
	rec := &benchReconcile{start: time.Now()}
	c.mu.Lock()
	c.cur = rec
	c.mu.Unlock()
	res, err := c.inner.Reconcile(ctx, req)
	c.mu.Lock()
	rec.end = time.Now()
	c.cur = nil
	n := c.n + 1
	switch {
	case !rec.renderStart.IsZero():
		c.rendering = append(c.rendering, rec)
	case !rec.driftStart.IsZero():
		c.drifts = append(c.drifts, rec.end.Sub(rec.driftStart))
	}
	c.mu.Unlock()
	if n%10 == 0 {
		c.sample(n)
	}
	// Counted once sampled: waitReconciles(n) finds the sample of n.
	c.mu.Lock()
	c.n = n
	c.mu.Unlock()
	return res, err
}

// sample records the process's memory after reconcile n.
func (c *benchController) sample(n int) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := benchMemory{reconcile: n, at: time.Now(), heap: float64(ms.HeapInuse) / (1 << 20), rss: benchRSS(), goroutines: runtime.NumGoroutine()}
	c.mu.Lock()
	c.samples = append(c.samples, s)
	c.mu.Unlock()
}

func (c *benchController) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *benchController) memory() []benchMemory {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.samples)
}

// driftChecks returns the number of drift checks in reconciles that did
// not render, and their median duration in seconds.
func (c *benchController) driftChecks() (int, float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var xs []float64
	for _, d := range c.drifts {
		xs = append(xs, d.Seconds())
	}
	return len(xs), median(xs)
}

// rendersSince counts the reconciles that rendered (and applied) since t.
func (c *benchController) rendersSince(t time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, rec := range c.rendering {
		if !rec.renderStart.Before(t) {
			n++
		}
	}
	return n
}

// render wraps the controller's render (the pipeline, in its sandbox
// child) to time it.
func (c *benchController) render(ctx context.Context, req pipeline.Request) (*pipeline.Set, error) {
	c.mu.Lock()
	if c.cur != nil {
		c.cur.renderStart = time.Now()
	}
	c.mu.Unlock()
	r, err := pipeline.Objects(ctx, req, pipeline.DefaultLimits())
	c.mu.Lock()
	if c.cur != nil {
		c.cur.renderEnd = time.Now()
	}
	c.mu.Unlock()
	return r, err
}

// wrap is the transport wrapper of the Reconciler's rest.Config, which
// only apply and drift use.
func (c *benchController) wrap(rt http.RoundTripper) http.RoundTripper {
	return benchRoundTrip(func(req *http.Request) (*http.Response, error) {
		now := time.Now()
		discovery := kubetest.IsDiscovery(req.URL.Path)
		c.mu.Lock()
		if rec := c.cur; rec != nil {
			switch {
			case rec.renderStart.IsZero():
				// No render: a drift check.
				if rec.driftStart.IsZero() {
					rec.driftStart = now
				}
				rec.driftRequests++
			case !rec.driftStart.IsZero():
				rec.driftRequests++
			case discovery && rec.requestsSinceRender:
				rec.driftStart = now
				rec.driftRequests++
			default:
				rec.applyRequests++
				rec.requestsSinceRender = rec.requestsSinceRender || !discovery
				if req.Method == http.MethodPatch && strings.HasSuffix(req.URL.Path, "/configmaps/cm-0") &&
					!req.URL.Query().Has("dryRun") && rec.written.IsZero() {
					rec.written = now
				}
			}
		}
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// breakdown splits the push pushed (its push started at before) and
// applied at applied into the parts of the reconcile that applied it.
func (c *benchController) breakdown(b *testing.B, before, pushed, applied time.Time) benchPush {
	b.Helper()
	p := benchPush{applied: applied.Sub(pushed).Seconds()}
	// The status is written inside the reconcile: the wrapper records it
	// a moment after the status shows the commit.
	var rec *benchReconcile
	for deadline := time.Now().Add(time.Minute); rec == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.fatalf(b, "no reconcile rendered the push")
		}
		c.mu.Lock()
		for _, r := range c.rendering {
			if !r.renderStart.Before(before) {
				rec = r
				break
			}
		}
		c.mu.Unlock()
	}
	secs := func(from, to time.Time) float64 {
		if from.IsZero() || to.IsZero() {
			return -1 // not seen
		}
		return to.Sub(from).Seconds()
	}
	// A reconcile may have started before the push ended and still
	// seen the new head: no wait then.
	p.wait = max(secs(pushed, rec.start), 0)
	from := rec.start
	if pushed.After(from) {
		from = pushed
	}
	p.git = secs(from, rec.renderStart)
	p.render = secs(rec.renderStart, rec.renderEnd)
	p.apply = secs(rec.renderEnd, rec.driftStart)
	p.drift = secs(rec.driftStart, rec.end)
	p.written = secs(pushed, rec.written)
	p.applyRequests, p.driftRequests = rec.applyRequests, rec.driftRequests
	return p
}

// waitApplied polls the Environment until its last applied revision is
// commit and returns when it saw it.
func (c *benchController) waitApplied(b *testing.B, cl client.Client, env *v1.Environment, commit string, timeout time.Duration) time.Time {
	b.Helper()
	deadline := time.Now().Add(timeout)
	cur := &v1.Environment{}
	for time.Now().Before(deadline) {
		if err := cl.Get(b.Context(), client.ObjectKeyFromObject(env), cur); err == nil && cur.Status.LastAppliedRevision == commit {
			return time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.fatalf(b, "revision %s not applied after %s; status: %+v", commit, timeout, cur.Status)
	return time.Time{}
}

// waitReconciles waits until the Environment was reconciled n times.
func (c *benchController) waitReconciles(b *testing.B, n int, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.count() >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.fatalf(b, "%d reconciles after %s, want %d", c.count(), timeout, n)
}

func (c *benchController) fatalf(b *testing.B, format string, args ...any) {
	b.Helper()
	logs, _ := os.ReadFile(c.logs)
	b.Fatalf(format+"\ncontroller log (end):\n%s", append(args, kubetest.Tail(string(logs), 30))...)
}

// startBenchController starts a manager with the Reconciler as the
// plinth controller sets it up (metrics, events, drift reports; no
// notification targets), rendering in this process; its log goes to a
// file, not to memory.
func startBenchController(b *testing.B, key types.NamespacedName) *benchController {
	b.Helper()
	c := &benchController{key: key, logs: filepath.Join(b.TempDir(), "controller.log"), started: time.Now()}
	logFile, err := os.Create(c.logs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logFile.Close() })
	mgr, err := ctrl.NewManager(cluster.Config(), ctrl.Options{
		Scheme:     scheme(b),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Logger:     zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)),
		Controller: config.Controller{SkipNameValidation: &skipNameValidation},
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg := cluster.Config()
	cfg.Wrap(c.wrap)
	c.inner = &reconciler.Reconciler{
		Client:  mgr.GetClient(),
		Config:  cfg,
		WorkDir: b.TempDir(),
		Events:  mgr.GetEventRecorder("plinth-controller"),
		Reports: &reconciler.Reports{},
		Metrics: reconciler.NewMetrics(prometheus.NewRegistry()),
		Render:  c.render,
	}
	// As Reconciler.SetupWithManager, with the wrapper.
	if err := ctrl.NewControllerManagedBy(mgr).For(&v1.Environment{}).Named("environment").Complete(c); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			b.Errorf("manager: %v", err)
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
	return c
}

// benchRepo is the environments repository on a real git server behind
// the counting proxy of main_test.go (repo, whose helpers take a
// *testing.T, in a form a benchmark can use).
type benchRepo struct {
	b     *testing.B
	proxy *proxy
	local *git.Repository
	dir   string
	// url is the proxy's, for the controller; pushURL the git server's,
	// with the credentials.
	url, pushURL string
}

func newBenchRepo(b *testing.B) *benchRepo {
	b.Helper()
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		b.Fatal(err)
	}
	srv.AutoCreate().Auth(gitUser, gitPassword)
	if err := srv.StartHTTP(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.StopHTTP(); os.RemoveAll(srv.Root()) })
	target, err := url.Parse(srv.HTTPAddress())
	if err != nil {
		b.Fatal(err)
	}
	// proxy.t (nil: a benchmark has no *testing.T) serves only when
	// listening on 127.0.0.1:0 fails, which then panics.
	p := &proxy{target: target}
	p.up()
	b.Cleanup(p.down)
	dir := b.TempDir()
	local, err := git.PlainInit(dir, false)
	if err != nil {
		b.Fatal(err)
	}
	push := *target
	push.User = url.UserPassword(gitUser, gitPassword)
	r := &benchRepo{b: b, proxy: p, local: local, dir: dir, url: p.url() + "/envs.git", pushURL: push.String() + "/envs.git"}
	r.write("cue.mod/module.cue", "module: \"test.example/envs\"\nlanguage: version: \"v0.17.0\"\n")
	return r
}

func (r *benchRepo) write(path, content string) {
	full := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.b.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.b.Fatal(err)
	}
}

// push commits everything, pushes it as main and returns the commit.
func (r *benchRepo) push(msg string) string {
	wt, err := r.local.Worktree()
	if err != nil {
		r.b.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.b.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.invalid", When: time.Now()}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		r.b.Fatal(err)
	}
	// With the git CLI: go-git's push leaves its connection to the git
	// server open (3 goroutines of this process per push), which would
	// count against the controller.
	cmd := exec.CommandContext(r.b.Context(), "git", "-C", r.dir, "push", "--force", "--quiet", r.pushURL, "HEAD:refs/heads/main")
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		r.b.Fatalf("git push: %v\n%s", err, out)
	}
	return h.String()
}

type benchRoundTrip func(*http.Request) (*http.Response, error)

func (f benchRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// benchRSS is the process's resident set in MiB (VmRSS).
func benchRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return -1
			}
			return kb / 1024
		}
	}
	return -1
}

func benchSuffix() string {
	buf := make([]byte, 3)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return -1
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
