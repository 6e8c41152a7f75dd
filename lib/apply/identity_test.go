package apply_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// The cluster's marker: the first claiming apply marks the cluster for
// its environment; another environment is refused, naming both, with
// zero writes (by apply, a dry run and drift --correct alike) until it
// adopts the cluster on purpose, after which the first one is refused.
// The package's other tests do not claim (Options.Claim), so this test
// may move the marker of the shared API server.
func TestClusterIdentity(t *testing.T) {
	ns := cluster.Namespace(t)
	ctx := context.Background()
	a, writes := newApplier(t)
	comps := func(env string) []manifest.Component {
		return []manifest.Component{component(t, env, ns, "objects", `
apiVersion: v1
kind: ConfigMap
metadata: {name: info-`+env+`, namespace: NS}
data: {env: `+env+`}
`)}
	}
	marked := func() []string {
		t.Helper()
		cm := &corev1.ConfigMap{}
		if err := cluster.Client(t).Get(ctx, client.ObjectKey{Namespace: inventory.Namespace, Name: clustermark.Name}, cm); err != nil {
			t.Fatalf("the marker: %v", err)
		}
		return clustermark.Environments(cm)
	}
	refused := func(err error, env, markedFor string) {
		t.Helper()
		mismatch, ok := errors.AsType[*clustermark.MismatchError](err)
		if !ok {
			t.Fatalf("%s: want a refusal of the cluster marked for %s, got %v", env, markedFor, err)
		}
		if mismatch.Environment != env || !slices.Equal(mismatch.MarkedFor, []string{markedFor}) {
			t.Errorf("refusal names %s and %v, want %s and %s", mismatch.Environment, mismatch.MarkedFor, env, markedFor)
		}
		for _, want := range []string{"environment " + env, "marked for environment " + markedFor, "plinth-system/plinth-cluster", "--adopt-cluster"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal does not say %q: %v", want, err)
			}
		}
	}

	// The package's cluster may carry a marker of an earlier run of this
	// test (-count): the first environment takes it over on purpose.
	mustApply(t, a, "ident-a", comps("ident-a"), apply.Options{Claim: true, AdoptCluster: true})
	if got := marked(); !slices.Equal(got, []string{"ident-a"}) {
		t.Fatalf("marker = %v, want [ident-a]", got)
	}
	mustApply(t, a, "ident-a", comps("ident-a"), apply.Options{Claim: true})

	writes.Reset()
	for _, opts := range []apply.Options{{Claim: true, Prune: true}, {Claim: true, DryRun: true}} {
		_, err := a.Apply(ctx, "ident-b", comps("ident-b"), opts)
		refused(err, "ident-b", "ident-a")
	}
	checker, err := drift.New(cluster.Config())
	if err != nil {
		t.Fatal(err)
	}
	_, err = checker.Check(ctx, "ident-b", comps("ident-b"), drift.Options{Correct: true, Claim: true})
	refused(err, "ident-b", "ident-a")
	if n := writes.Count(); n != 0 {
		t.Errorf("a refused apply wrote %d times", n)
	}
	if get(t, "v1", "ConfigMap", ns, "info-ident-b") != nil || len(inventoryOf(t, "ident-b")) != 0 {
		t.Error("a refused environment left an object or an inventory")
	}

	// Adopted on purpose: the marker names ident-b alone, and says so.
	res := mustApply(t, a, "ident-b", comps("ident-b"), apply.Options{Claim: true, AdoptCluster: true})
	wantActions(t, res, map[string]apply.Action{"ConfigMap/" + ns + "/info-ident-b": apply.Created})
	if got := marked(); !slices.Equal(got, []string{"ident-b"}) {
		t.Fatalf("marker after adoption = %v, want [ident-b]", got)
	}
	cm := &corev1.ConfigMap{}
	if err := cluster.Client(t).Get(ctx, client.ObjectKey{Namespace: inventory.Namespace, Name: clustermark.Name}, cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations["plinth.dev/marked"]; !strings.HasPrefix(got, "moved from ident-a to ident-b at ") {
		t.Errorf("the marker's history = %q", got)
	}
	_, err = a.Apply(ctx, "ident-a", comps("ident-a"), apply.Options{Claim: true})
	refused(err, "ident-a", "ident-b")

	// A marker emptied by hand marks the cluster for nobody: the next
	// claiming apply takes it, as an unmarked cluster.
	cm.Data = map[string]string{clustermark.EnvironmentsKey: "\n"}
	if err := cluster.Client(t).Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	mustApply(t, a, "ident-a", comps("ident-a"), apply.Options{Claim: true})
	if got := marked(); !slices.Equal(got, []string{"ident-a"}) {
		t.Fatalf("marker after an apply to an emptied marker = %v, want [ident-a]", got)
	}
	mustApply(t, a, "ident-b", comps("ident-b"), apply.Options{Claim: true, AdoptCluster: true})

	// drift --correct claims like apply: the adopted environment corrects.
	if err := cluster.Client(t).Delete(ctx, get(t, "v1", "ConfigMap", ns, "info-ident-b")); err != nil {
		t.Fatal(err)
	}
	report, err := checker.Check(ctx, "ident-b", comps("ident-b"), drift.Options{Correct: true, Claim: true})
	if err != nil || !report.Corrected {
		t.Fatalf("drift --correct of the adopted environment: corrected %v, %v", report != nil && report.Corrected, err)
	}
}
