package apply_test

import (
	"bytes"
	"github.com/plinth-platform/plinth/lib/manifest"
	"os/exec"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/kubetest"
)

// benchObjects is the size of the set every operation of BenchmarkApply
// applies.
const benchObjects = 1000

// BenchmarkApply applies the same 1,000 small objects of kubetest.Set
// (ConfigMaps, Secrets, Services, ServiceAccounts, Roles, RoleBindings,
// Deployments) with plinth's apply library and with `kubectl apply
// --server-side`, to the real API server of lib/kubetest, in the test
// process: for profiling (bench/apply.sh measures the shipped binary):
//
//   - first: into a new, empty namespace (every object is created);
//   - noop: again, unchanged, after one apply outside the timer.
//
// An operation of plinth is apply.New and Apply (which plans every
// object, from the listed live copies or by a server-side dry run, before
// writing anything); an
// operation of kubectl is one run of the binary of kubetest.Kubectl,
// $KUBECTL or bin/k8s-v1.34.4/kubectl (make bin/k8s-v1.34.4/kubectl).
// Both start with an empty discovery cache.
//
// Metrics, from kubetest.Requests: requests/object counts the HTTP
// requests of an operation other than discovery (/api, /apis, /api/v1,
// /apis/<group>/<version>, /openapi/..., /version), which
// discovery-requests/op counts. For kubectl they are the "Response" lines
// of its -v=6 log (client-go logs one per request at that level, and
// nothing else about requests). Both
// run without client-side rate limiting in practice: plinth's client here
// has none (like controller-runtime's default configuration) and kubectl
// builds a REST client, with its own token bucket, per object it reads;
// throttled-s/op, reported only when not zero, is the time kubectl says
// it waited for client-go's rate limiter anyway.
func BenchmarkApply(b *testing.B) {
	b.Run("plinth", func(b *testing.B) {
		b.Run("first", func(b *testing.B) { benchPlinth(b, false) })
		b.Run("noop", func(b *testing.B) { benchPlinth(b, true) })
	})
	b.Run("kubectl", func(b *testing.B) {
		kubectl := kubetest.Kubectl(b)
		b.Run("first", func(b *testing.B) { benchKubectl(b, kubectl, false) })
		b.Run("noop", func(b *testing.B) { benchKubectl(b, kubectl, true) })
	})
}

// benchPlinth measures apply.New and Apply of benchSet; noop applies it
// once before the timer and then measures re-applies.
func benchPlinth(b *testing.B, noop bool) {
	var count kubetest.Requests
	cfg := cluster.Config()
	cfg.Wrap(count.Wrap)
	ctx := b.Context()
	applyOnce := func(env string, objs []*unstructured.Unstructured, want apply.Action) {
		a, err := apply.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		res, err := a.Apply(ctx, env, []manifest.Component{{Name: "bench", Objects: objs}}, apply.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		defer b.StartTimer()
		if got := benchActions(res); got[want] != len(objs) {
			b.Fatalf("applied %d objects: %v, want all %s", len(objs), got, want)
		}
	}

	var ns string
	if noop {
		ns = cluster.Namespace(b)
		applyOnce(ns, benchSet(ns), apply.Created)
		count.Reset()
	}
	for b.Loop() {
		env := ns
		if !noop {
			b.StopTimer()
			env = cluster.Namespace(b)
			b.StartTimer()
		}
		want := apply.Created
		if noop {
			want = apply.Unchanged
		}
		// The set is built inside the timer: it is part of what a caller
		// hands to Apply, like the file kubectl reads.
		applyOnce(env, benchSet(env), want)
	}
	count.Report(b, benchObjects)
}

// benchKubectl measures one run of kubectl apply --server-side of
// benchSet written to a file; noop applies it once before the timer.
func benchKubectl(b *testing.B, kubectl string, noop bool) {
	kubeconfig := cluster.Kubeconfig(b)
	var count kubetest.Requests
	run := func(file string) {
		cmd := exec.CommandContext(b.Context(), kubectl, "--kubeconfig", kubeconfig, "--cache-dir", b.TempDir(), "-v=6",
			"apply", "--server-side", "--field-manager=bench", "-f", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		b.StopTimer()
		defer b.StartTimer()
		if err != nil {
			b.Fatalf("%s: %v\n%s", cmd, err, kubetest.Tail(stderr.String(), 20))
		}
		if n := strings.Count(stdout.String(), " serverside-applied\n"); n != benchObjects {
			b.Fatalf("kubectl applied %d objects, want %d:\n%s", n, benchObjects, kubetest.Tail(stdout.String(), 20))
		}
		count.AddKubectlLog(b, stderr.String())
	}
	writeSet := func(ns string) string { return kubetest.WriteYAML(b, benchSet(ns)) }

	var file string
	if noop {
		file = writeSet(cluster.Namespace(b))
		run(file)
		count.Reset()
	}
	for b.Loop() {
		if !noop {
			b.StopTimer()
			file = writeSet(cluster.Namespace(b))
			b.StartTimer()
		}
		run(file)
	}
	count.Report(b, benchObjects)
}

// benchSet returns the benchObjects objects of kubetest.Set in namespace
// env, labelled as environment env.
func benchSet(env string) []*unstructured.Unstructured {
	return kubetest.Set(env, map[string]string{manifest.LabelEnvironment: env}, benchObjects)
}

func benchActions(res *apply.Result) map[apply.Action]int {
	out := map[apply.Action]int{}
	for _, c := range res.Changes {
		out[c.Action]++
	}
	return out
}
