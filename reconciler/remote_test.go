package reconciler_test

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// kubeConfigSecret creates Secret name with the kubeconfig under key and
// points the Environment's spec.kubeConfig at it.
func kubeConfigSecret(t *testing.T, name, key string, kubeconfig []byte) func(*v1.Environment) {
	return func(e *v1.Environment) {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.Namespace}, Data: map[string][]byte{key: kubeconfig}}
		if err := cluster.Client(t).Create(context.Background(), secret); err != nil {
			t.Fatal(err)
		}
		e.Spec.KubeConfig = &v1.KubeConfigReference{SecretRef: v1.SecretKeyReference{Name: name}}
		if key != "value" {
			e.Spec.KubeConfig.SecretRef.Key = key
		}
	}
}

// exists reports whether a ConfigMap exists in the cluster of c.
func exists(t *testing.T, c client.Client, ns, name string) bool {
	t.Helper()
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// Two real API servers: the controller runs against A (the management
// cluster); an Environment in A whose kubeConfig Secret points at B is
// applied to B: its objects, inventory and marker are in B, none in A,
// and its status and events are in A. With B stopped, the next commit
// leaves it Ready=False ClusterUnreachable while an Environment of A
// applies that same commit; with B back, it converges.
func TestRemoteCluster(t *testing.T) {
	b, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Error(err)
		}
	})
	kubeconfig, err := os.ReadFile(b.Kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	inB, inA := b.Client(t), cluster.Client(t)

	r := newRepo(t)
	r.env("remote", "remote-objects", map[string]string{"settings": "one"})
	r.env("neighbour", "neighbour-objects", map[string]string{"settings": "one"})
	first := r.push("first")
	startController(t, "")
	c, remote := newEnvironment(t, r, "remote", kubeConfigSecret(t, "cluster-b", "value", kubeconfig))
	_, neighbour := newEnvironment(t, r, "neighbour", nil)

	cur := waitFor(t, c, remote, "the remote environment applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
	})
	if cur.Status.Inventory == nil || cur.Status.Inventory.Objects != 2 {
		t.Errorf("status in A: inventory %+v", cur.Status.Inventory)
	}
	if !exists(t, inB, "remote-objects", "settings") || !exists(t, inB, inventory.Namespace, inventory.Name("remote")) {
		t.Error("B lacks the remote environment's objects or inventory")
	}
	if exists(t, inA, "remote-objects", "settings") || exists(t, inA, inventory.Namespace, inventory.Name("remote")) {
		t.Error("A has objects or the inventory of the environment applied to B")
	}
	marker := &corev1.ConfigMap{}
	if err := inB.Get(context.Background(), client.ObjectKey{Namespace: inventory.Namespace, Name: clustermark.Name}, marker); err != nil {
		t.Fatalf("B's marker: %v", err)
	}
	if got := clustermark.Environments(marker); len(got) != 1 || got[0] != "remote" {
		t.Errorf("B is marked for %v, want [remote]", got)
	}
	var events corev1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(remote.Namespace)); err != nil {
		t.Fatal(err)
	}
	applied := false
	for _, ev := range events.Items {
		applied = applied || ev.Reason == "Applied" && ev.InvolvedObject.Name == remote.Name
	}
	if !applied {
		t.Error("no Applied event on the Environment in A")
	}
	waitFor(t, c, neighbour, "the neighbour applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
	})

	// B stops: the remote environment fails alone; A's goes on.
	if err := b.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	r.env("remote", "remote-objects", map[string]string{"settings": "two"})
	r.env("neighbour", "neighbour-objects", map[string]string{"settings": "two"})
	second := r.push("second")
	cur = waitFor(t, c, remote, "ClusterUnreachable", func(e *v1.Environment) bool {
		return isFalse(e, v1.ConditionReady, "ClusterUnreachable")
	})
	if msg := condition(cur, v1.ConditionReady).Message; !strings.Contains(msg, "connection refused") || cur.Status.LastAppliedRevision != first {
		t.Errorf("while B is down: Ready says %q, last applied %s", msg, cur.Status.LastAppliedRevision)
	}
	waitFor(t, c, neighbour, "the neighbour applied the second commit while B is down", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == second && isTrue(e, v1.ConditionReady)
	})
	if got := configMapValue(t, "neighbour-objects", "settings"); got != "two" {
		t.Errorf("A's environment: settings = %q", got)
	}

	// B is back: the remote environment converges.
	if err := b.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, remote, "the remote environment converged", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == second && isTrue(e, v1.ConditionReady)
	})
	cm := &corev1.ConfigMap{}
	if err := inB.Get(context.Background(), client.ObjectKey{Namespace: "remote-objects", Name: "settings"}, cm); err != nil || cm.Data["value"] != "two" {
		t.Errorf("B's settings after it came back: %v %v", cm.Data, err)
	}

	// A second Environment pointed at B by mistake: B is marked for
	// remote, so nothing of intruder is written there.
	r.env("intruder", "intruder-objects", map[string]string{"settings": "one"})
	r.push("intruder")
	_, intruder := newEnvironment(t, r, "intruder", kubeConfigSecret(t, "cluster-b-too", "value", kubeconfig))
	cur = waitFor(t, c, intruder, "ClusterMismatch", func(e *v1.Environment) bool {
		return isFalse(e, v1.ConditionReady, "ClusterMismatch")
	})
	if msg := condition(cur, v1.ConditionReady).Message; !strings.Contains(msg, "refusing to write environment intruder to a cluster marked for environment remote") {
		t.Errorf("ClusterMismatch says %q", msg)
	}
	if exists(t, inB, "intruder-objects", "settings") || exists(t, inB, inventory.Namespace, inventory.Name("intruder")) {
		t.Error("B holds objects or an inventory of an environment it is not marked for")
	}
}

// A kubeconfig that would run a program or read a file of the
// controller's pod is refused, naming the Secret and what to do, and the
// Environment waits (KubeConfigInvalid) with nothing applied anywhere; no
// part of the kubeconfig shows in the status.
func TestRemoteKubeConfigRefused(t *testing.T) {
	const sentinel = "t0ken-s3ntinel-91c2"
	kubeconfig := []byte(`apiVersion: v1
kind: Config
clusters: [{name: b, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: ` + sentinel + `, tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token, exec: {apiVersion: client.authentication.k8s.io/v1, command: steal}}}]
contexts: [{name: b, context: {cluster: b, user: u}}]
current-context: b
`)
	r := newRepo(t)
	r.env("refusedkc", "refused-objects", map[string]string{"settings": "one"})
	r.push("first")
	startController(t, "")
	c, e := newEnvironment(t, r, "refusedkc", kubeConfigSecret(t, "cluster-x", "kubeconfig", kubeconfig))
	cur := waitFor(t, c, e, "KubeConfigInvalid", func(e *v1.Environment) bool {
		return isFalse(e, v1.ConditionReady, "KubeConfigInvalid")
	})
	msg := condition(cur, v1.ConditionReady).Message
	for _, want := range []string{"secret " + e.Namespace + "/cluster-x", "user u runs a program (exec steal)", "user u reads tokenFile from a file"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Ready's message does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, sentinel) {
		t.Errorf("the kubeconfig's token shows in the status: %s", msg)
	}
	if exists(t, cluster.Client(t), "refused-objects", "settings") {
		t.Error("an Environment with a refused kubeconfig was applied to the controller's own cluster")
	}
}
