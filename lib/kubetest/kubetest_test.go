package kubetest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }

// A restarted API server keeps its data (etcd runs on), its address and
// its certificates: a client made before the restart works after it.
func TestRestartKeepsDataAndClients(t *testing.T) {
	ctx := context.Background()
	c := cluster.Client(t)
	ns := cluster.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before", Namespace: ns}, Data: map[string]string{"k": "v"}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err == nil {
		t.Fatal("request to a stopped API server succeeded")
	}
	if err := cluster.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	var got corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &got); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Fatalf("data after restart = %v", got.Data)
	}
}

// The controller manager runs: a Deployment gets its ReplicaSet, which the
// garbage collector deletes with the Deployment, and a deleted namespace
// is emptied and finalized.
func TestControllerManager(t *testing.T) {
	ctx := context.Background()
	c := cluster.Client(t)
	ns := cluster.Namespace(t)
	dep := deployment(ns, "web")
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	rs := waitReplicaSet(t, c, ns, "web")
	if err := c.Delete(ctx, dep); err != nil { // background propagation
		t.Fatal(err)
	}
	waitGone(t, c, rs)

	// Every namespace gets the ServiceAccount "default" and the CA.
	for _, o := range []client.Object{
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kube-root-ca.crt"}},
	} {
		waitExists(t, c, o)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "left", Namespace: ns}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap of a finalized namespace: %v, want not found", err)
	}
}

// The controller manager reconnects to a restarted API server by itself.
func TestControllerManagerAfterRestart(t *testing.T) {
	ctx := context.Background()
	c := cluster.Client(t)
	ns := cluster.Namespace(t)
	// The server's process exits: the controller manager's watches and
	// connections break.
	if err := cluster.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := cluster.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, deployment(ns, "after")); err != nil {
		t.Fatal(err)
	}
	waitReplicaSet(t, c, ns, "after")
}

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}

// waitReplicaSet waits for the ReplicaSet the Deployment controller makes
// for the Deployment ns/name.
func waitReplicaSet(t *testing.T, c client.Client, ns, name string) *appsv1.ReplicaSet {
	t.Helper()
	var found *appsv1.ReplicaSet
	eventually(t, 30*time.Second, "a ReplicaSet for Deployment "+ns+"/"+name, func() (bool, error) {
		var list appsv1.ReplicaSetList
		if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		for i, rs := range list.Items {
			if owner := metav1.GetControllerOf(&rs); owner != nil && owner.Kind == "Deployment" && owner.Name == name {
				found = &list.Items[i]
			}
		}
		return found != nil, nil
	})
	return found
}

func waitExists(t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("%T %s/%s to exist", o, o.GetNamespace(), o.GetName()), func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o)
		return err == nil, nil
	})
}

func waitGone(t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	eventually(t, 60*time.Second, fmt.Sprintf("%T %s/%s to be gone", o, o.GetNamespace(), o.GetName()), func() (bool, error) {
		err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o)
		return apierrors.IsNotFound(err), nil
	})
}

// eventually polls cond every 100 ms until it holds, failing the test
// after timeout (or at cond's error).
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return cond()
	})
	if err != nil {
		t.Fatalf("waiting %s for %s: %v", timeout, what, err)
	}
}

// assetsWithout returns a directory holding the test binaries but the one
// named (links to those of Assets).
func assetsWithout(t *testing.T, missing string) string {
	t.Helper()
	assets, err := kubetest.Assets()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, bin := range []string{"kube-apiserver", "etcd", "kube-controller-manager"} {
		if bin == missing {
			continue
		}
		if err := os.Symlink(filepath.Join(assets, bin), filepath.Join(dir, bin)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A directory of binaries without kube-controller-manager (an older
// bin/k8s-*, envtest's own assets) fails Start, saying how to build it;
// it never runs the tests without a controller manager.
func TestStartWithoutControllerManager(t *testing.T) {
	dir := assetsWithout(t, "kube-controller-manager")
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	c, err := kubetest.Start()
	if err == nil {
		c.Stop()
		t.Fatal("started without kube-controller-manager")
	}
	for _, want := range []string{"no kube-controller-manager in " + dir, "run `make testbin`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// A controller manager that exits while starting fails Start with the
// end of its log.
func TestControllerManagerFailingToStart(t *testing.T) {
	dir := assetsWithout(t, "kube-controller-manager")
	script := "#!/bin/sh\necho 'E1206 flag provided but not defined: -leader-elect' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "kube-controller-manager"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBEBUILDER_ASSETS", dir)
	c, err := kubetest.Start()
	if err == nil {
		c.Stop()
		t.Fatal("started with a controller manager that exits")
	}
	t.Log(err)
	for _, want := range []string{"kube-controller-manager exited while starting: exit status 3", "kube-controller-manager.log:\nE1206 flag provided but not defined: -leader-elect"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// The token controller signs a service account token with envtest's
// signing key, which the API server accepts, and hands out the CA of the
// API server's serving certificate with it.
func TestServiceAccountToken(t *testing.T) {
	ctx := context.Background()
	c := cluster.Client(t)
	ns := cluster.Namespace(t)
	if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "robot-token", Namespace: ns, Annotations: map[string]string{corev1.ServiceAccountNameKey: "robot"}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(secret.Data[corev1.ServiceAccountTokenKey]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no token in the Secret after 30s")
		}
		time.Sleep(100 * time.Millisecond)
		if err := c.Get(ctx, client.ObjectKeyFromObject(secret), secret); err != nil {
			t.Fatal(err)
		}
	}
	cfg := cluster.Config()
	if string(secret.Data[corev1.ServiceAccountRootCAKey]) != string(cfg.CAData) {
		t.Error("the token's ca.crt is not the CA of the API server's certificate")
	}
	robot := &rest.Config{
		Host:            cfg.Host,
		BearerToken:     string(secret.Data[corev1.ServiceAccountTokenKey]),
		TLSClientConfig: rest.TLSClientConfig{CAData: secret.Data[corev1.ServiceAccountRootCAKey]},
	}
	rc, err := client.New(robot, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	review := &authenticationv1.SelfSubjectReview{}
	if err := rc.Create(ctx, review); err != nil {
		t.Fatalf("the API server refuses the token: %v", err)
	}
	if want := "system:serviceaccount:" + ns + ":robot"; review.Status.UserInfo.Username != want {
		t.Errorf("authenticated as %q, want %q", review.Status.UserInfo.Username, want)
	}
}
