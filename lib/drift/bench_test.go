package drift_test

import (
	"bytes"
	"errors"
	"github.com/plinth-platform/plinth/lib/manifest"
	"os/exec"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/kubetest"
)

// benchObjects is the size of the set BenchmarkDrift checks.
const benchObjects = 1000

// BenchmarkDrift checks the same 1,000 small, unchanged objects
// (kubetest.Set, as in lib/apply's BenchmarkApply: ServiceAccounts,
// ConfigMaps, Secrets, headless Services, Roles, RoleBindings,
// Deployments) with plinth's drift check and with `kubectl diff
// --server-side`, against the real API server of lib/kubetest
// in the test process, for profiling (bench/apply.sh measures the shipped
// binary's drift check). Before the timer each sub-benchmark applies
// the set with lib/apply into a new namespace (also the environment's
// name), as component "bench".
//
// An operation of plinth is drift.New and Check (8 requests in flight,
// the default), which must report no drift; an operation of kubectl is
// one run of `kubectl diff --server-side --field-manager=plinth -f
// set.yaml`, which must exit 0 (no difference). kubectl is
// kubetest.Kubectl: $KUBECTL or bin/k8s-v1.34.4/kubectl (make
// bin/k8s-v1.34.4/kubectl). Both start with an empty discovery cache.
//
// Metrics, from kubetest.Requests as in BenchmarkApply: requests/object
// counts the HTTP requests of an operation other than discovery (/api,
// /apis, /api/v1, /apis/<group>/<version>, /openapi/..., /version), which
// discovery-requests/op counts; kubectl's are the "Response" lines of its
// -v=6 log. throttled-s/op, reported only when not zero, is the time
// kubectl says it waited for client-go's rate limiter.
func BenchmarkDrift(b *testing.B) {
	b.Run("plinth", benchPlinth)
	b.Run("kubectl", func(b *testing.B) { benchKubectl(b, kubetest.Kubectl(b)) })
}

// benchApplied applies benchSet with lib/apply into a new namespace and
// returns it: the environment the operations check.
func benchApplied(b *testing.B) string {
	env := cluster.Namespace(b)
	a, err := apply.New(cluster.Config())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Apply(b.Context(), env, benchComponents(env), apply.Options{}); err != nil {
		b.Fatal(err)
	}
	return env
}

func benchComponents(env string) []manifest.Component {
	return []manifest.Component{{Name: "bench", Objects: benchSet(env)}}
}

func benchPlinth(b *testing.B) {
	env := benchApplied(b)
	var count kubetest.Requests
	cfg := cluster.Config()
	cfg.Wrap(count.Wrap)
	ctx := b.Context()
	for b.Loop() {
		c, err := drift.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The set is built inside the timer, like the file kubectl reads.
		r, err := c.Check(ctx, env, benchComponents(env), drift.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if r.Summary.Drift() || r.Summary.Objects != benchObjects {
			var out bytes.Buffer
			_ = r.WriteText(&out)
			b.Fatalf("checked %d objects, want %d without drift:\n%s", r.Summary.Objects, benchObjects, kubetest.Tail(out.String(), 40))
		}
		b.StartTimer()
	}
	count.Report(b, benchObjects)
}

func benchKubectl(b *testing.B, kubectl string) {
	env := benchApplied(b)
	kubeconfig := cluster.Kubeconfig(b)
	file := kubetest.WriteYAML(b, benchSet(env))
	// No --force-conflicts: plinth owns every field of the set, so the
	// dry-run apply as plinth has nothing to conflict with.
	var count kubetest.Requests
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), kubectl, "--kubeconfig", kubeconfig, "--cache-dir", b.TempDir(), "-v=6",
			"diff", "--server-side", "--field-manager=plinth", "-f", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		b.StopTimer()
		// Exit status 1: a difference; above 1: kubectl or diff failed.
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			b.Fatalf("%s found a difference, want none:\n%s\n%s", cmd, kubetest.Tail(stdout.String(), 40), kubetest.Tail(stderr.String(), 5))
		}
		if err != nil {
			b.Fatalf("%s: %v\n%s", cmd, err, kubetest.Tail(stderr.String(), 20))
		}
		count.AddKubectlLog(b, stderr.String())
		b.StartTimer()
	}
	count.Report(b, benchObjects)
}

// benchSet returns the benchObjects objects of kubetest.Set in namespace
// env, labelled as environment env and component "bench": the set of
// lib/apply's BenchmarkApply.
func benchSet(env string) []*unstructured.Unstructured {
	labels := map[string]string{manifest.LabelEnvironment: env, manifest.LabelComponent: "bench"}
	return kubetest.Set(env, labels, benchObjects)
}
