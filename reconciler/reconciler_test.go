package reconciler_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/notify"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// newEnvironment creates the git-auth Secret and an Environment following
// the repository's main branch, in a namespace of the test.
func newEnvironment(t *testing.T, r *repo, env string, mutate func(*v1.Environment)) (client.Client, *v1.Environment) {
	t.Helper()
	installCRD(t)
	if err := cluster.Share(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cluster.Config(), client.Options{Scheme: scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	ns := cluster.Namespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-auth", Namespace: ns},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}}
	if err := c.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	e := &v1.Environment{
		ObjectMeta: metav1.ObjectMeta{Name: env, Namespace: ns},
		Spec: v1.EnvironmentSpec{
			Git:           v1.GitSource{URL: r.url, Ref: v1.GitRef{Branch: "main"}, SecretRef: &v1.LocalObjectReference{Name: "git-auth"}},
			Environment:   env,
			Interval:      metav1.Duration{Duration: time.Second},
			DriftInterval: metav1.Duration{Duration: time.Second},
		},
	}
	if mutate != nil {
		mutate(e)
	}
	if err := c.Create(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return c, e
}

// waitFor polls the Environment until cond holds (60 s at most).
func waitFor(t *testing.T, c client.Client, e *v1.Environment, what string, cond func(*v1.Environment) bool) *v1.Environment {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	cur := &v1.Environment{}
	for time.Now().Before(deadline) {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(e), cur); err == nil && cond(cur) {
			return cur
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; status: %+v", what, cur.Status)
	return nil
}

func condition(e *v1.Environment, typ string) *metav1.Condition {
	return apimeta.FindStatusCondition(e.Status.Conditions, typ)
}

func isTrue(e *v1.Environment, typ string) bool {
	c := condition(e, typ)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == e.Generation
}

func isFalse(e *v1.Environment, typ, reason string) bool {
	c := condition(e, typ)
	return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason
}

func configMapValue(t *testing.T, ns, name string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := cluster.Client(t).Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return "<" + err.Error() + ">"
	}
	return cm.Data["value"]
}

// A pushed commit is applied and the status names it; the next commit
// too; a commit that does not vet leaves the cluster and the applied
// revision as they were, with Ready=False saying why.
func TestPushApplyAndBadCommit(t *testing.T) {
	r := newRepo(t)
	ns := "app-" + strings.ToLower(t.Name()[4:12])
	r.env("alpha", ns, map[string]string{"settings": "one", "extra": "x"})
	first := r.push("first")
	startController(t, "")
	c, e := newEnvironment(t, r, "alpha", nil)

	cur := waitFor(t, c, e, "the first commit applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
	})
	if got := configMapValue(t, ns, "settings"); got != "one" {
		t.Fatalf("settings = %q", got)
	}
	if cur.Status.Inventory == nil || cur.Status.Inventory.Objects != 3 {
		t.Errorf("inventory = %+v", cur.Status.Inventory)
	}

	r.env("alpha", ns, map[string]string{"settings": "two"})
	second := r.push("second: settings two, extra dropped")
	waitFor(t, c, e, "the second commit applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == second && isTrue(e, v1.ConditionReady)
	})
	if got := configMapValue(t, ns, "settings"); got != "two" {
		t.Fatalf("settings = %q", got)
	}
	if got := configMapValue(t, ns, "extra"); !strings.Contains(got, "not found") {
		t.Fatalf("extra not pruned: %q", got)
	}

	r.write("environments/alpha/env.cue", "package plinth\n\ncluster: version: 1.34\n")
	bad := r.push("bad")
	cur = waitFor(t, c, e, "the bad commit refused", func(e *v1.Environment) bool {
		return e.Status.LastAttemptedRevision == bad && isFalse(e, v1.ConditionReady, "RenderFailed")
	})
	if cur.Status.LastAppliedRevision != second || !isTrue(cur, v1.ConditionStalled) {
		t.Fatalf("status after a bad commit: %+v", cur.Status)
	}
	if msg := condition(cur, v1.ConditionReady).Message; !strings.Contains(msg, "environments/alpha/env.cue") {
		t.Errorf("Ready message does not name the file: %s", msg)
	}
	if got := configMapValue(t, ns, "settings"); got != "two" {
		t.Fatalf("the bad commit changed the cluster: settings = %q", got)
	}
}

// A change by hand: reported (Drifted=True, the value kept) under the
// report policy, reverted under correct.
func TestDriftReportAndCorrect(t *testing.T) {
	r := newRepo(t)
	ns := "app-drift"
	r.env("beta", ns, map[string]string{"settings": "declared"})
	r.push("first")
	hook := newWebhook(t)
	registry := prometheus.NewRegistry()
	ctl := startController(t, "", func(r *reconciler.Reconciler) {
		r.Notifier = &notify.Notifier{}
		r.Targets = []notify.Target{{Name: "owners", URL: hook.server.URL, Format: "json"}}
		r.Metrics = reconciler.NewMetrics(registry)
	})
	c, e := newEnvironment(t, r, "beta", nil)
	waitFor(t, c, e, "applied without drift", func(e *v1.Environment) bool {
		return isTrue(e, v1.ConditionReady) && isFalse(e, v1.ConditionDrifted, "NoDrift")
	})

	cm := &corev1.ConfigMap{}
	cl := cluster.Client(t)
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "settings"}, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["value"] = "by hand"
	if err := cl.Update(context.Background(), cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	cur := waitFor(t, c, e, "drift reported", func(e *v1.Environment) bool { return isTrue(e, v1.ConditionDrifted) })
	if cur.Status.LastDrift == nil || cur.Status.LastDrift.Drifted != 1 || cur.Status.LastDrift.Corrected {
		t.Fatalf("last drift = %+v", cur.Status.LastDrift)
	}
	time.Sleep(2 * time.Second) // more drift checks: report never writes
	if got := configMapValue(t, ns, "settings"); got != "by hand" {
		t.Fatalf("the report policy changed the cluster: %q", got)
	}

	// The platform owners heard of it once, and can read the report.
	drifts := hook.reasons("DriftDetected")
	if len(drifts) != 1 || drifts[0].Environment != "beta" || drifts[0].Drift == nil || drifts[0].Drift.Drifted != 1 {
		t.Fatalf("drift notifications: %+v", drifts)
	}
	rec := httptest.NewRecorder()
	ctl.reconciler.Reports.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/drift/beta.json", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"path": "/data/value"`) || !strings.Contains(rec.Body.String(), `"manager": "kubectl-edit"`) {
		t.Fatalf("drift report: %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	ctl.reconciler.Reports.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/drift/beta", nil))
	if !strings.Contains(rec.Body.String(), "<html") || !strings.Contains(rec.Body.String(), "kubectl-edit") {
		t.Fatalf("drift report page: %s", rec.Body.String())
	}
	// And the metrics say so.
	if got := gauge(t, registry, "plinth_drifted_objects", map[string]string{"environment": "beta", "component": "objects", "state": "drifted"}); got != 1 {
		t.Fatalf("plinth_drifted_objects = %v", got)
	}
	if got := gauge(t, registry, "plinth_last_applied_timestamp_seconds", map[string]string{"environment": "beta"}); got < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Fatalf("plinth_last_applied_timestamp_seconds = %v", got)
	}

	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.DriftPolicy = v1.DriftCorrect
	if err := c.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, e, "drift corrected", func(e *v1.Environment) bool {
		return e.Status.LastDrift != nil && (e.Status.LastDrift.Corrected || isFalse(e, v1.ConditionDrifted, "NoDrift")) && configMapValue(t, ns, "settings") == "declared"
	})
}

// The git server unreachable (connections refused, a 500, a server that
// never answers within the git timeout, a host that does not resolve): Ready=False, the last
// revision kept and named, zero writes to the cluster (so nothing is
// pruned, though the repository meanwhile dropped an object); back, it
// recovers. While the remote head does not move, nothing is fetched.
func TestGitServerDown(t *testing.T) {
	r := newRepo(t)
	ns := "app-gitdown"
	r.env("gamma", ns, map[string]string{"settings": "one", "extra": "x"})
	first := r.push("first")
	var counted kubetest.Writes
	startController(t, "", func(rc *reconciler.Reconciler) { rc.Config = countWrites(&counted); rc.GitTimeout = 2 * time.Second })
	c, e := newEnvironment(t, r, "gamma", nil)
	waitFor(t, c, e, "applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
	})

	fetches := r.proxy.posts.Load()
	time.Sleep(3 * time.Second) // several intervals with the head unchanged
	if n := r.proxy.posts.Load() - fetches; n != 0 {
		t.Errorf("%d fetches while the remote head did not move", n)
	}

	counted.Reset()
	for _, outage := range []struct {
		name, reason, want string
		start, stop        func()
	}{
		{"connection refused", "GitUnavailable", "connection refused", r.proxy.down, r.proxy.up},
		{"HTTP 500", "GitUnavailable", "500", func() { r.proxy.status.Store(500) }, func() { r.proxy.status.Store(0) }},
		{"no answer", "GitUnavailable", "no answer within 2s", func() { r.proxy.hang.Store(true) }, func() { r.proxy.hang.Store(false) }},
	} {
		t.Run(outage.name, func(t *testing.T) {
			outage.start()
			cur := waitFor(t, c, e, "git unavailable", func(e *v1.Environment) bool { return isFalse(e, v1.ConditionReady, outage.reason) })
			msg := condition(cur, v1.ConditionReady).Message
			if !strings.Contains(msg, outage.want) || !strings.Contains(msg, "the cluster stays at revision "+first[:12]+", applied at ") {
				t.Errorf("Ready message: %s", msg)
			}
			if cur.Status.LastAppliedRevision != first {
				t.Fatalf("last applied revision lost: %+v", cur.Status)
			}
			if n := counted.Count(); n != 0 {
				t.Errorf("%d writes to the cluster while git was unavailable", n)
			}
			outage.stop()
			waitFor(t, c, e, "recovered", func(e *v1.Environment) bool { return isTrue(e, v1.ConditionReady) })
		})
	}

	// A host that does not resolve, while the repository drops an object.
	r.env("gamma", ns, map[string]string{"settings": "one"})
	r.push("extra dropped")
	patch := client.MergeFrom(e.DeepCopy())
	e.Spec.Git.URL = "http://git.plinth-test.invalid/envs.git"
	if err := c.Patch(context.Background(), e, patch); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, e, "an unresolvable host reported", func(e *v1.Environment) bool {
		return e.Status.ObservedGeneration == e.Generation && isFalse(e, v1.ConditionReady, "GitUnavailable")
	})
	if got := configMapValue(t, ns, "extra"); got != "x" {
		t.Fatalf("pruned while git was unavailable: %q", got)
	}
	if n := counted.Count(); n != 0 {
		t.Errorf("%d writes to the cluster while git was unavailable", n)
	}
}

// Two controllers: only the leader renders and applies.
func TestOnlyTheLeaderApplies(t *testing.T) {
	r := newRepo(t)
	r.env("delta", "app-leader", map[string]string{"settings": "one"})
	first := r.push("first")
	leaderNS := cluster.Namespace(t)
	a := startController(t, leaderNS)
	b := startController(t, leaderNS)
	c, e := newEnvironment(t, r, "delta", nil)
	waitFor(t, c, e, "applied", func(e *v1.Environment) bool { return e.Status.LastAppliedRevision == first })
	time.Sleep(2 * time.Second)
	ra, rb := a.renders.Load(), b.renders.Load()
	if (ra == 0) == (rb == 0) {
		t.Fatalf("renders: %d and %d; want exactly one controller working", ra, rb)
	}
}

// Wrong credentials, in a Secret or in the URL: Ready=False; the
// password appears in no status, event or log line.
func TestSecretsStayOut(t *testing.T) {
	r := newRepo(t)
	r.env("epsilon", "app-secret", map[string]string{"settings": "one"})
	r.push("first")
	ctl := startController(t, "")
	const inSecret, inURL = "wrong-pa55-LEAK-me-1", "wrong-pa55-LEAK-me-2"
	c, e1 := newEnvironment(t, r, "epsilon", nil)
	secret := &corev1.Secret{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: e1.Namespace, Name: "git-auth"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["password"] = []byte(inSecret)
	if err := c.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	_, e2 := newEnvironment(t, r, "epsilon", func(e *v1.Environment) {
		e.Spec.Git.URL = strings.Replace(r.url, "http://", "http://"+gitUser+":"+inURL+"@", 1)
		e.Spec.Git.SecretRef = nil
	})
	var everything strings.Builder
	for _, e := range []*v1.Environment{e1, e2} {
		cur := waitFor(t, c, e, "credentials refused", func(e *v1.Environment) bool {
			cond := condition(e, v1.ConditionReady)
			return cond != nil && cond.Status == metav1.ConditionFalse
		})
		for _, cond := range cur.Status.Conditions {
			everything.WriteString(cond.Message + "\n")
		}
		var events corev1.EventList
		if err := c.List(context.Background(), &events, client.InNamespace(e.Namespace)); err != nil {
			t.Fatal(err)
		}
		for _, ev := range events.Items {
			everything.WriteString(ev.Message + "\n")
		}
	}
	everything.WriteString(ctl.logs.String())
	for _, secret := range []string{inSecret, inURL, gitPassword} {
		if strings.Contains(everything.String(), secret) {
			t.Fatalf("a git password leaked:\n%s", everything.String())
		}
	}
	if !strings.Contains(everything.String(), "GitUnavailable") && !strings.Contains(everything.String(), "authentication") {
		t.Fatalf("the failure is not recorded:\n%s", everything.String())
	}
}

// webhook is a real HTTP endpoint collecting plinth's JSON notifications.
type webhook struct {
	server *httptest.Server
	mu     sync.Mutex
	events []notifyEvent
}

type notifyEvent struct {
	Environment string         `json:"environment"`
	Reason      string         `json:"reason"`
	Drift       *drift.Summary `json:"drift"`
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var e notifyEvent
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
	}))
	t.Cleanup(w.server.Close)
	return w
}

func (w *webhook) reasons(reason string) []notifyEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notifyEvent
	for _, e := range w.events {
		if e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// gauge reads one sample of a metric family from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metrics
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// A Secret changed by hand: the drift is reported (Drifted=True, the
// key named) and its values, old or new, plain or base64, appear in no
// status, event, log line, notification or report.
func TestSecretDriftStaysMasked(t *testing.T) {
	const declared, byHand = "declared-S3CRET-value-1", "by-hand-S3CRET-value-2"
	r := newRepo(t)
	ns := "app-secretdrift"
	r.write("environments/zeta/env.cue", `package plinth

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
network: mirrors: images: "nexus.test.local:8443"
objects: {
	"`+ns+`": {apiVersion: "v1", kind: "Namespace", metadata: name: "`+ns+`"}
	db: {apiVersion: "v1", kind: "Secret", metadata: {name: "db", namespace: "`+ns+`"}, stringData: password: "`+declared+`"}
}
`)
	r.push("a Secret")
	hook := newWebhook(t)
	ctl := startController(t, "", func(r *reconciler.Reconciler) {
		r.Notifier = &notify.Notifier{}
		r.Targets = []notify.Target{{Name: "owners", URL: hook.server.URL, Format: "json"}}
	})
	c, e := newEnvironment(t, r, "zeta", nil)
	waitFor(t, c, e, "applied without drift", func(e *v1.Environment) bool {
		return isTrue(e, v1.ConditionReady) && isFalse(e, v1.ConditionDrifted, "NoDrift")
	})
	secret := &corev1.Secret{}
	cl := cluster.Client(t)
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data["password"] = []byte(byHand)
	if err := cl.Update(context.Background(), secret, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	cur := waitFor(t, c, e, "drift reported", func(e *v1.Environment) bool { return isTrue(e, v1.ConditionDrifted) })

	var everything strings.Builder
	for _, cond := range cur.Status.Conditions {
		everything.WriteString(cond.Message + "\n")
	}
	var events corev1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(e.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		everything.WriteString(ev.Message + "\n")
	}
	for _, path := range []string{"/drift/zeta.json", "/drift/zeta"} {
		rec := httptest.NewRecorder()
		ctl.reconciler.Reports.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		everything.WriteString(rec.Body.String())
	}
	hook.mu.Lock()
	payloads, _ := json.Marshal(hook.events)
	hook.mu.Unlock()
	everything.Write(payloads)
	everything.WriteString(ctl.logs.String())

	if !strings.Contains(everything.String(), `"path": "/data/password"`) {
		t.Fatalf("the drifted key is not reported:\n%s", everything.String())
	}
	for _, value := range []string{declared, byHand} {
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), base64.RawStdEncoding.EncodeToString([]byte(value))} {
			if strings.Contains(everything.String(), form) {
				t.Fatalf("a Secret value (%q) leaked:\n%s", form, everything.String())
			}
		}
	}
}

// A deleted Environment is forgotten: the directory of its checkouts
// leaves the work directory, with the controller's memory of it.
func TestDeletedEnvironmentIsForgotten(t *testing.T) {
	r := newRepo(t)
	ns := "app-" + strings.ToLower(t.Name()[4:12])
	r.env("eta", ns, map[string]string{"settings": "one"})
	first := r.push("first")
	registry := prometheus.NewRegistry()
	ctl := startController(t, "", func(r *reconciler.Reconciler) { r.Metrics = reconciler.NewMetrics(registry) })
	c, e := newEnvironment(t, r, "eta", nil)
	waitFor(t, c, e, "the first commit applied and checked", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady) && e.Status.LastDrift != nil
	})
	remembered := func() (series int, report int) {
		families, err := registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "environment" && l.GetValue() == "eta" {
						series++
					}
				}
			}
		}
		rec := httptest.NewRecorder()
		ctl.reconciler.Reports.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/drift/eta.json", nil))
		return series, rec.Code
	}
	if series, code := remembered(); series == 0 || code != http.StatusOK {
		t.Fatalf("before the deletion: %d metric series of eta, its drift report %d", series, code)
	}
	dir := filepath.Join(ctl.reconciler.WorkDir, e.Namespace, e.Name)
	if _, err := os.Stat(filepath.Join(dir, first)); err != nil {
		t.Fatalf("the applied revision's checkout: %v", err)
	}
	if err := c.Delete(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if series, code := remembered(); series != 0 || code != http.StatusNotFound {
				t.Errorf("after the deletion: %d metric series of eta, its drift report %d", series, code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 30 s after the Environment was deleted", dir)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
