package kubetest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/kubetest"
)

// An audited cluster logs each write once, with its user (a user of
// KubeconfigAs's own), verb, object, field manager and code; dry runs
// and reads are not writes; a namespace is filed as cluster-scoped.
func TestAuditWrites(t *testing.T) {
	audited, err := kubetest.StartWith(kubetest.Options{Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := audited.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	admin := audited.Client(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}
	if err := admin.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", audited.KubeconfigAs(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	alice, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "audited", Name: "settings"}, Data: map[string]string{"k": "v"}}
	if err := alice.Create(ctx, cm, client.FieldOwner("alice-create")); err != nil {
		t.Fatal(err)
	}
	if err := alice.Get(ctx, client.ObjectKeyFromObject(cm), cm); err != nil {
		t.Fatal(err)
	}
	patch := func(value string, opts ...client.PatchOption) error {
		base := cm.DeepCopy()
		cm.Data["k"] = value
		return alice.Patch(ctx, cm, client.MergeFrom(base), append(opts, client.FieldOwner("alice-patch"))...)
	}
	if err := patch("dry", client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	if err := patch("patched"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}

	events, err := audited.AuditWrites()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sawNamespace := false
	for _, e := range events {
		if e.Resource == "namespaces" && e.Name == "audited" && e.Verb == "create" {
			sawNamespace = e.Namespace == "" && e.Code == 201 && e.User != "alice"
		}
		if e.User != "alice" {
			continue
		}
		got = append(got, fmt.Sprintf("%s %s/%s/%s %s %d", e.Verb, e.Resource, e.Namespace, e.Name, e.FieldManager, e.Code))
		if e.Received.IsZero() || e.Completed.Before(e.Received) {
			t.Errorf("%s: received %s, completed %s", e.Verb, e.Received, e.Completed)
		}
	}
	want := []string{
		"create configmaps/audited/settings alice-create 201",
		"patch configmaps/audited/settings alice-patch 200",
		"delete configmaps/audited/settings  200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("alice's writes in the audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !sawNamespace {
		t.Error("the namespace's creation (by the test's admin, 201, filed with namespace \"\") is not in the audit log")
	}

	// The package's shared cluster keeps no log: asking is an error,
	// not an empty list a test would take for "no writes".
	if _, err := cluster.AuditWrites(); err == nil {
		t.Error("AuditWrites of a cluster started without Options.Audit: no error")
	}
}
