package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/manifest"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// The environment TestFailover applies: revision 1 is small; revision 2
// keeps its objects but one, and adds failoverObjects ConfigMaps over
// failoverNamespaces namespaces, enough that its apply takes long enough
// to be killed half-way; revision 3, pushed while there is no leader,
// removes failoverOrphans of the ConfigMaps the killed leader created
// and failoverUnborn of those it never reached.
const (
	failoverEnv        = "failover"
	failoverObjects    = 400
	failoverNamespaces = 4
	failoverOrphans    = 20
	failoverUnborn     = 5
	// leaseName is the controller's Lease (no --shard).
	leaseName = "plinth-controller"
	// controllerNS holds the Lease, the Environment and the inventory.
	controllerNS = inventory.Namespace
)

// TestFailover runs two real plinth controllers with leader election
// against a real API server that keeps an audit log, kills the leader
// (SIGKILL) in the middle of an apply, and checks from the audit log,
// not from plinth's own account, that the other one takes over and
// converges: every object there with its content, nothing pruned that
// should stay (an object of the previous revision keeps its uid, no
// delete but of the objects that left the environment), nothing lost to
// prune (objects the killed leader created and the next revision drops
// are deleted: the inventory listed them before they were created), and
// nothing applied twice (every object of the environment written once,
// across both processes).
func TestFailover(t *testing.T) {
	cluster, err := kubetest.StartWith(kubetest.Options{Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := installCRDFile(cluster); err != nil {
		t.Fatal(err)
	}
	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := v1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cluster.Config(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// plinth-system exists before the controller runs (the component
	// creates it): it holds the Lease and the Environment.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: controllerNS}}); err != nil {
		t.Fatal(err)
	}

	// Revision 1: namespace failover-keep with ConfigMaps kept-0..2,
	// which revision 2 keeps unchanged, and dropped, which it removes.
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"cue.mod/module.cue":                       "module: \"failover.example/platform\"\nlanguage: version: \"v0.17.0\"\n",
		"environments/" + failoverEnv + "/env.cue": failoverCUE(failoverObjectsOf(1)),
	})
	rev1, err := commitAll(repo, "revision 1")
	if err != nil {
		t.Fatal(err)
	}
	env := &v1.Environment{
		ObjectMeta: metav1.ObjectMeta{Namespace: controllerNS, Name: failoverEnv},
		Spec: v1.EnvironmentSpec{
			Git:         v1.GitSource{URL: "file://" + repo, Ref: v1.GitRef{Branch: "main"}},
			Environment: failoverEnv,
			Interval:    metav1.Duration{Duration: 2 * time.Second},
			// Checked once right after each apply (it only reads under
			// the report policy); not again within the test.
			DriftInterval: metav1.Duration{Duration: 10 * time.Minute},
		},
	}
	if err := c.Create(ctx, env); err != nil {
		t.Fatal(err)
	}

	procs := map[string]*controllerProcess{}
	for _, name := range []string{"plinth-a", "plinth-b"} {
		procs[name] = startControllerProcess(t, cluster, name)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range slices.Sorted(maps.Keys(procs)) {
				t.Logf("log of %s:\n%s", name, procs[name].logTail(40))
			}
		}
	})

	if !waitApplied(t, c, rev1.String(), 90*time.Second) {
		t.Fatalf("revision 1 not applied")
	}
	before := map[string]string{}
	for _, o := range failoverKept() {
		before[o.key()] = uidOf(t, c, o)
	}

	// Whoever holds the Lease, the one that applied revision 1: the
	// last user that wrote it. Only the leader writes it (a standby reads
	// it until it has expired; the loser of the first race to create it
	// got 409). Looked up now, not at the kill, which reading the log
	// would delay.
	events, err := cluster.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	leader := ""
	for _, e := range events {
		if isLeaseWrite(e) && procs[e.User] != nil && e.Code >= 200 && e.Code < 300 {
			leader = e.User
		}
	}
	if leader == "" {
		t.Fatalf("no write of Lease %s/%s by either controller in the audit log", controllerNS, leaseName)
	}

	// Revision 2.
	writeFiles(t, repo, map[string]string{"environments/" + failoverEnv + "/env.cue": failoverCUE(failoverObjectsOf(2))})
	if _, err := commitAll(repo, "revision 2"); err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()

	// Mid-apply: some of revision 2's new ConfigMaps exist, not all.
	var atKill int
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("revision 2's apply did not start within 90 s")
		}
		n := len(newInCluster(t, c))
		if n == failoverObjects {
			t.Fatalf("revision 2's apply wrote all %d ConfigMaps before the test caught it half-way: make failoverObjects bigger", n)
		}
		if n >= failoverObjects/4 {
			atKill = n
			break
		}
	}
	killed := time.Now()
	if err := procs[leader].Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-procs[leader].Done
	dead := time.Now()
	existed := newInCluster(t, c)
	successor := "plinth-a"
	if leader == successor {
		successor = "plinth-b"
	}
	t.Logf("killed %s (the leader) %s after revision 2 was pushed, with %d of %d new ConfigMaps applied (%d once it was dead)",
		leader, killed.Sub(pushed).Round(time.Millisecond), atKill, failoverObjects, len(existed))

	// Revision 3, while nobody leads: without some of the ConfigMaps the
	// killed leader created (orphans, had it recorded only what it had
	// applied) and some it never reached (unborn). The successor applies
	// revision 3 straight away, never revision 2.
	var rev2New []string
	for _, o := range failoverObjectsOf(2) {
		if strings.HasPrefix(o.name, "cm-") {
			rev2New = append(rev2New, o.key())
		}
	}
	slices.Sort(rev2New)
	removed := map[string]bool{}
	orphans := slices.Sorted(maps.Keys(existed))[:failoverOrphans]
	var unborn []string
	for i := len(rev2New) - 1; len(unborn) < failoverUnborn; i-- {
		if !existed[rev2New[i]] {
			unborn = append(unborn, rev2New[i])
		}
	}
	for _, key := range append(slices.Clone(orphans), unborn...) {
		removed[key] = true
	}
	var rev3Objects []failoverObject
	for _, o := range failoverObjectsOf(2) {
		if !removed[o.key()] {
			rev3Objects = append(rev3Objects, o)
		}
	}
	writeFiles(t, repo, map[string]string{"environments/" + failoverEnv + "/env.cue": failoverCUE(rev3Objects)})
	rev3, err := commitAll(repo, "revision 3")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed revision 3 %s after the kill, without %d ConfigMaps the killed leader created and %d it never reached",
		time.Since(killed).Round(time.Millisecond), len(orphans), len(unborn))

	if !waitApplied(t, c, rev3.String(), 90*time.Second) {
		t.Fatalf("revision 3 not applied after the leader was killed")
	}
	ready := time.Now()

	// Every object of revision 3, with its content.
	present := map[string]bool{}
	for _, o := range rev3Objects {
		if o.kind == "Namespace" {
			var ns corev1.Namespace
			if err := c.Get(ctx, client.ObjectKey{Name: o.name}, &ns); err != nil {
				t.Errorf("%s: %v", o.key(), err)
				continue
			}
			present[o.key()] = true
			continue
		}
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: o.namespace, Name: o.name}, &cm); err != nil {
			t.Errorf("%s: %v", o.key(), err)
			continue
		}
		if cm.Data["value"] != o.value {
			t.Errorf("%s: value %q, want %q", o.key(), cm.Data["value"], o.value)
			continue
		}
		present[o.key()] = true
	}
	// Nothing pruned that should stay: revision 1's objects that
	// revisions 2 and 3 keep are the same objects (never deleted and
	// created again).
	for _, o := range failoverKept() {
		if got := uidOf(t, c, o); got != before[o.key()] {
			t.Errorf("%s: uid %s, was %s before the failover: deleted and created again", o.key(), got, before[o.key()])
		}
	}
	// Nothing lost to prune: what left the environment is gone. The
	// killed leader wrote an inventory of revisions 1 and 2 before
	// applying, so its successor knew of the orphans though nobody had
	// recorded them as applied.
	gone := append([]string{"configmaps/failover-keep/dropped"}, orphans...)
	for _, key := range append(gone, unborn...) {
		_, ns, name := splitKey(key)
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); !apierrors.IsNotFound(err) {
			t.Errorf("%s, which left the environment, is still there (or reading it failed: %v)", key, err)
		}
	}

	// The audit log: every write either controller made, the killed
	// leader's requests in flight when it died included (the server
	// completed and logged them). Every write checked came before Ready,
	// which the test has seen: the server logged it as it answered.
	events, err = cluster.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	for key := range existed {
		present[key] = true // the orphans, deleted since
	}
	checkFailoverAudit(t, events, failoverAudit{seen: present, gone: gone, unborn: unborn,
		leader: leader, successor: successor, killed: killed, dead: dead, pushed: pushed, ready: ready})

	// A leader stopped as Kubernetes stops a pod (SIGTERM: a rolling
	// update, a drained node) hands the Lease over as it exits instead of
	// leaving the next replica 15 s without a leader: it leaves the Lease
	// without a holder.
	if err := procs[successor].Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-procs[successor].Done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit within 30 s of SIGTERM:\n%s", successor, procs[successor].logTail(20))
	}
	var lease coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: controllerNS, Name: leaseName}, &lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("after SIGTERM, Lease %s/%s is still held by %s: the next replica waits for it to expire", controllerNS, leaseName, *h)
	}
}

// failoverAudit is what checkFailoverAudit checks the audit log against.
type failoverAudit struct {
	// seen are the objects found in the cluster with their content,
	// at the end or when the leader had died.
	seen map[string]bool
	// gone are the objects pruned: each deleted once, by the successor.
	// unborn are those that left before anyone created them: never
	// written.
	gone, unborn []string
	// The killed leader and the one that took over.
	leader, successor string
	// When revision 2 was pushed, the leader killed and reaped, and
	// revision 3 seen Ready.
	pushed, killed, dead, ready time.Time
}

// checkFailoverAudit checks the writes the audit log shows and reports
// the failover's figures.
func checkFailoverAudit(t *testing.T, events []kubetest.AuditEvent, f failoverAudit) {
	t.Helper()
	leader, successor, killed, dead := f.leader, f.successor, f.killed, f.dead
	objects := map[string]bool{}
	for _, o := range failoverObjectsOf(1) {
		objects[o.key()] = true
	}
	for _, o := range failoverObjectsOf(2) {
		objects[o.key()] = true
	}
	// Per object of the environment: its writes (create, update, patch:
	// a server-side apply is a patch, also when it creates the object),
	// and its deletes. The inventory ConfigMap and the Environment's
	// status are not objects of the environment: they are written on
	// every pass by design (the inventory before and after the objects,
	// the status at each step), so they are counted apart.
	writes := map[string][]kubetest.AuditEvent{}
	deletes := map[string][]kubetest.AuditEvent{}
	var acquired, firstStatus time.Time
	perUser := map[string]int{}
	inventoryWrites, statusWrites := map[string]int{}, map[string]int{}
	for _, e := range events {
		if e.User != leader && e.User != successor {
			continue // the controller manager, the test's own client
		}
		ok := e.Code >= 200 && e.Code < 300
		switch {
		case isLeaseWrite(e):
			if e.User == successor && ok && acquired.IsZero() && e.Received.After(killed) {
				acquired = e.Completed
			}
			continue
		case e.Resource == "environments" && e.Subresource == "status":
			statusWrites[e.User]++
			if e.User == successor && ok && firstStatus.IsZero() && e.Received.After(killed) {
				firstStatus = e.Completed
			}
			continue
		case e.Resource == "configmaps" && e.Namespace == controllerNS && e.Name == inventory.Name(failoverEnv):
			inventoryWrites[e.User]++
			continue
		}
		key := auditKey(e)
		if !objects[key] {
			continue
		}
		switch e.Verb {
		case "delete", "deletecollection":
			deletes[key] = append(deletes[key], e)
		default:
			writes[key] = append(writes[key], e)
			if ok && e.Received.After(f.pushed) {
				perUser[e.User]++
			}
		}
	}
	// Nothing applied twice: each object of either revision was written
	// exactly once in the whole test (revision 1's when revision 1 was
	// applied, revision 2's new ones by one controller or the other).
	//
	// A write counts when it took effect, which its code says except for
	// the killed leader's requests in flight at the kill: the server
	// answers those 504 (their client has gone: the handler stops
	// waiting for the storage write) whether or not the write it had
	// started goes through. Which it was, the rest of the log tells:
	//   - the successor then created the object (201 Created): the
	//     object did not exist, so the failed request wrote nothing;
	//   - nobody wrote the object again and it is there with its
	//     content: the failed request wrote it, once, and the successor
	//     found it applied.
	// Any other failed write, or a second successful one, is an error.
	twice, okInFlight, inFlightNothing, inFlightWritten := 0, 0, 0, 0
	for _, key := range slices.Sorted(maps.Keys(objects)) {
		var ok, inFlight, failed []kubetest.AuditEvent
		for _, w := range writes[key] {
			switch {
			case w.Code >= 200 && w.Code < 300:
				ok = append(ok, w)
				if w.User == leader && w.Completed.After(killed) {
					okInFlight++
				}
			case w.User == leader && w.Received.Before(dead) && !w.Completed.Before(killed):
				inFlight = append(inFlight, w)
			default:
				failed = append(failed, w)
			}
		}
		switch {
		case len(failed) > 0:
			t.Errorf("%s: failed writes: %s", key, describe(failed))
		case len(ok) == 1 && len(inFlight) == 0:
		case len(ok) == 1 && ok[0].User == successor && ok[0].Code == 201:
			inFlightNothing += len(inFlight)
		case len(ok) == 0 && len(inFlight) == 1 && f.seen[key]:
			inFlightWritten++
		case len(ok) == 0 && len(inFlight) == 0 && slices.Contains(f.unborn, key):
		case len(ok) == 0 && len(inFlight) == 0:
			t.Errorf("%s: never written", key)
		case slices.Contains(f.unborn, key):
			t.Errorf("%s: left the environment before anyone created it, yet written: %s", key, describe(append(inFlight, ok...)))
		default:
			twice++
			t.Errorf("%s: written more than once: %s", key, describe(append(inFlight, ok...)))
		}
	}
	// Nothing pruned that should stay: the only deletes are of the
	// objects that left, once each, by the new leader (the old one died
	// before its prune step).
	for key, ds := range deletes {
		if !slices.Contains(f.gone, key) {
			t.Errorf("%s: deleted: %s", key, describe(ds))
		}
	}
	for _, key := range f.gone {
		if ds := deletes[key]; len(ds) != 1 || ds[0].User != successor || ds[0].Code != 200 {
			t.Errorf("%s: deletes %s; want one by %s", key, describe(ds), successor)
		}
	}

	// The process killed was the one applying, and the other one
	// finished: both wrote part of revision 2.
	if perUser[leader] == 0 || perUser[successor] == 0 {
		t.Errorf("writes of revision 2's objects: %d by %s (killed as the leader), %d by %s: want both", perUser[leader], leader, perUser[successor], successor)
	}
	t.Logf("audit log: %d objects of the environment; successful writes since revision 2 was pushed: %d by %s (the killed leader), %d by %s; "+
		"the killed leader's writes in flight at the kill: %d answered 2xx after it, %d answered 504 and wrote nothing (%s created the object), %d answered 504 and wrote the object (nobody wrote it again); %d objects written more than once",
		len(objects), perUser[leader], leader, perUser[successor], successor, okInFlight, inFlightNothing, successor, inFlightWritten, twice)
	t.Logf("audit log, excluded by design: inventory writes %v, Environment status writes %v", inventoryWrites, statusWrites)
	if acquired.IsZero() || firstStatus.IsZero() {
		t.Errorf("no Lease write or status write by %s after the kill in the audit log", successor)
		return
	}
	t.Logf("failover: kill → %s holds the Lease %s → its first reconcile (status write) %s → Ready with revision 3 %s",
		successor, acquired.Sub(killed).Round(time.Millisecond), firstStatus.Sub(killed).Round(time.Millisecond), f.ready.Sub(killed).Round(time.Millisecond))
}

// describe lists writes for an error message.
func describe(ws []kubetest.AuditEvent) string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s by %s (field manager %q) received %s, completed %s, answered %d",
			w.Verb, w.User, w.FieldManager, w.Received.Format("15:04:05.000000"), w.Completed.Format("15:04:05.000000"), w.Code))
	}
	return strings.Join(out, "; ")
}

func isLeaseWrite(e kubetest.AuditEvent) bool {
	return e.Resource == "leases" && e.APIGroup == "coordination.k8s.io" && e.Namespace == controllerNS && e.Name == leaseName
}

// auditKey names an object as failoverObject.key does.
func auditKey(e kubetest.AuditEvent) string {
	return e.Resource + "/" + e.Namespace + "/" + e.Name
}

// failoverObject is an object of the environment.
type failoverObject struct {
	kind, namespace, name, value string
}

// key is "resource/namespace/name", as the audit log names it.
func (o failoverObject) key() string {
	return strings.ToLower(o.kind) + "s/" + o.namespace + "/" + o.name
}

func (o failoverObject) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Version: "v1", Kind: o.kind}
}

// failoverKept are revision 1's objects that revision 2 keeps, unchanged.
func failoverKept() []failoverObject {
	out := []failoverObject{{kind: "Namespace", name: "failover-keep"}}
	for i := range 3 {
		out = append(out, failoverObject{kind: "ConfigMap", namespace: "failover-keep", name: fmt.Sprintf("kept-%d", i), value: "kept"})
	}
	return out
}

// failoverObjectsOf returns the objects of a revision.
func failoverObjectsOf(revision int) []failoverObject {
	out := failoverKept()
	if revision == 1 {
		return append(out, failoverObject{kind: "ConfigMap", namespace: "failover-keep", name: "dropped", value: "dropped"})
	}
	for n := range failoverNamespaces {
		out = append(out, failoverObject{kind: "Namespace", name: fmt.Sprintf("failover-%d", n)})
	}
	for i := range failoverObjects {
		out = append(out, failoverObject{kind: "ConfigMap", namespace: fmt.Sprintf("failover-%d", i%failoverNamespaces),
			name: fmt.Sprintf("cm-%03d", i), value: fmt.Sprintf("revision 2, object %d", i)})
	}
	return out
}

// failoverCUE is env.cue of an environment of these objects.
func failoverCUE(objects []failoverObject) string {
	var b strings.Builder
	b.WriteString(`package plinth

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
network: mirrors: images: "nexus.failover.local:8443"
objects: {
`)
	for _, o := range objects {
		if o.kind == "Namespace" {
			fmt.Fprintf(&b, "\t%q: {apiVersion: \"v1\", kind: \"Namespace\", metadata: name: %q}\n", "ns-"+o.name, o.name)
		} else {
			fmt.Fprintf(&b, "\t%q: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: %q, namespace: %q}, data: value: %q}\n",
				o.namespace+"-"+o.name, o.name, o.namespace, o.value)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func uidOf(t *testing.T, c client.Client, o failoverObject) string {
	t.Helper()
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(o.gvk())
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: o.namespace, Name: o.name}, m); err != nil {
		t.Fatalf("%s: %v", o.key(), err)
	}
	return string(m.UID)
}

// newInCluster returns the keys of revision 2's new ConfigMaps in the
// cluster.
func newInCluster(t *testing.T, c client.Client) map[string]bool {
	t.Helper()
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMapList"})
	if err := c.List(context.Background(), list, client.MatchingLabels{manifest.LabelEnvironment: failoverEnv}); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range list.Items {
		if strings.HasPrefix(m.Name, "cm-") {
			out[failoverObject{kind: "ConfigMap", namespace: m.Namespace, name: m.Name}.key()] = true
		}
	}
	return out
}

// splitKey splits a key into resource, namespace and name.
func splitKey(key string) (resource, namespace, name string) {
	parts := strings.SplitN(key, "/", 3)
	return parts[0], parts[1], parts[2]
}

// waitApplied waits until the Environment is Ready with revision rev
// applied.
func waitApplied(t *testing.T, c client.Client, rev string, timeout time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var e v1.Environment
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: controllerNS, Name: failoverEnv}, &e); err != nil {
			continue
		}
		if e.Status.LastAppliedRevision == rev && apimeta.IsStatusConditionTrue(e.Status.Conditions, v1.ConditionReady) {
			return true
		}
	}
	return false
}

// controllerProcess is a plinth controller: the test binary as
// "plinth", which testscript.Main put on $PATH, as its own process.
type controllerProcess struct {
	*kubetest.Child
	logPath string
}

// startControllerProcess starts plinth controller with leader election,
// as user name (its own client certificate, so the audit log tells the
// two apart), with its own work directory; it is stopped when the test
// ends, and killed with the test binary however that ends.
func startControllerProcess(t *testing.T, cluster *kubetest.Cluster, name string) *controllerProcess {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("plinth", "controller",
		"--kubeconfig="+cluster.KubeconfigAs(t, name),
		"--leader-elect", "--leader-election-namespace="+controllerNS,
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0", "--report-bind-address=",
		"--work-dir="+filepath.Join(dir, "work"))
	cmd.Env = append(os.Environ(), "PLINTH_CACHE_DIR="+filepath.Join(dir, "cache"))
	logPath := filepath.Join(dir, "controller.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	child, err := kubetest.StartChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	p := &controllerProcess{Child: child, logPath: logPath}
	t.Cleanup(func() {
		select {
		case <-p.Done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.Done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.Done
		}
	})
	return p
}

// logTail returns the last n lines of the process's log.
func (p *controllerProcess) logTail(n int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	return kubetest.Tail(strings.TrimSpace(string(data)), n)
}

// commitAll commits every file of dir, as git-commit does, and returns
// the commit. The first commit creates the repository, on branch main.
func commitAll(dir, message string) (plumbing.Hash, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return plumbing.ZeroHash, err
	}
	sig := &object.Signature{Name: "plinth test", Email: "test@example.invalid", When: time.Now()}
	return wt.Commit(message, &git.CommitOptions{Author: sig, Committer: sig})
}

// installCRDFile installs the Environment CRD (generated by make
// generate), as kube-crd does, and waits until it is served.
func installCRDFile(cluster *kubetest.Cluster) error {
	paths, _ := filepath.Glob("../../overlays/plinth-controller/crd/*.yaml")
	if len(paths) == 0 {
		return errors.New("the Environment CRD is missing: run make generate")
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		return err
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &crd.Object); err != nil {
		return err
	}
	c, err := client.New(cluster.Config(), client.Options{})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.Create(ctx, crd); err != nil {
		return fmt.Errorf("creating the CRD: %w", err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("plinth.dev/v1alpha1")
	list.SetKind("EnvironmentList")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		// A new client each time: one made before the CRD was served
		// keeps a mapping of kinds without it.
		if c2, err := client.New(cluster.Config(), client.Options{}); err == nil && c2.List(ctx, list) == nil {
			return nil
		}
	}
	return errors.New("the Environment CRD is not served")
}
