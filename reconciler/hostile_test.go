package reconciler_test

import (
	"context"
	"github.com/plinth-platform/plinth/lib/manifest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// countWrites returns the test cluster's config with its writes counted.
func countWrites(w *kubetest.Writes) *rest.Config {
	cfg := rest.CopyConfig(cluster.Config())
	cfg.Wrap(w.Wrap)
	return cfg
}

// TestBadCommitsWriteNothing is the shared rule for bad input, through
// the controller: each commit below is refused with Ready=False naming
// the environment and the file or object; the apply and drift clients
// make zero writes (so nothing is pruned, though every bad commit also
// drops an object); the inventory, the objects and the last applied
// revision stay as the good commit left them.
func TestBadCommitsWriteNothing(t *testing.T) {
	r := newRepo(t)
	ns := "app-hostile"
	good := map[string]string{"settings": "one", "keep": "kept"}
	r.env("hostile", ns, good)
	first := r.push("good")
	var counted kubetest.Writes
	startController(t, "", func(rc *reconciler.Reconciler) { rc.Config = countWrites(&counted) })
	// Under the correct policy, so that it is proven not to take over
	// another environment's object either.
	c, e := newEnvironment(t, r, "hostile", func(e *v1.Environment) { e.Spec.DriftPolicy = v1.DriftCorrect })
	waitFor(t, c, e, "the good commit applied", func(e *v1.Environment) bool {
		return e.Status.LastAppliedRevision == first && isTrue(e, v1.ConditionReady)
	})
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "foreign", Namespace: ns, Labels: map[string]string{manifest.LabelEnvironment: "other"}},
		Data: map[string]string{"value": "theirs"}}
	if err := cluster.Client(t).Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ns, "hostile", "settings", "keep", "foreign")
	counted.Reset()

	const body = "package plinth\n\ncluster: {version: \"1.34.4\", runtime: \"containerd\", nodes: {controlPlane: 1, workers: 1}}\nnetwork: mirrors: images: \"nexus.test.local:8443\"\n"
	objects := "objects: [{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"settings\", namespace: \"" + ns + "\"}, data: value: \"two\"}]\n"
	for _, tc := range []struct {
		name     string
		files    map[string]string // content, or "-> target" for a symlink
		reason   string
		want     []string
		notWant  string
		terminal bool
	}{
		{
			name:   "symlink to a file outside the repository",
			files:  map[string]string{"environments/hostile/env.cue": body + objects, "environments/hostile/values.cue": "-> /etc/passwd"},
			reason: "SourceRefused", want: []string{"environments/hostile/values.cue is a symlink"}, notWant: "root:x:", terminal: true,
		},
		{
			name:   "directory symlink to ..",
			files:  map[string]string{"environments/hostile/env.cue": body + objects, "environments/hostile/up": "-> .."},
			reason: "SourceRefused", want: []string{"environments/hostile/up is a symlink"}, terminal: true,
		},
		{
			name:   "structural cycle",
			files:  map[string]string{"environments/hostile/env.cue": body + objects + "x: y: x\n"},
			reason: "RenderFailed", want: []string{"environment hostile", "x.y: structural cycle"}, terminal: true,
		},
		{
			name:   "incomplete value",
			files:  map[string]string{"environments/hostile/env.cue": strings.Replace(body, `"1.34.4"`, "string", 1) + objects},
			reason: "RenderFailed", want: []string{"environment hostile", "cluster.version: incomplete value"}, terminal: true,
		},
		{
			name:   "CUE tool task",
			files:  map[string]string{"environments/hostile/env.cue": body + objects, "environments/hostile/run_tool.cue": "package plinth\n\nimport \"tool/exec\"\n\ncommand: own: exec.Run & {cmd: [\"touch\", \"/tmp/plinth-owned\"]}\n"},
			reason: "RenderFailed", want: []string{"environments/hostile/run_tool.cue:3:8", "plinth never runs CUE tool tasks"}, terminal: true,
		},
		{
			name:   "CUE module import",
			files:  map[string]string{"environments/hostile/env.cue": "package plinth\n\nimport \"evil.example.com/lib@v0\"\n\n_x: lib.x\n" + body[len("package plinth\n"):] + objects},
			reason: "RenderFailed", want: []string{"environments/hostile/env.cue:3:8", "import only CUE's standard library"}, terminal: true,
		},
		{
			name: "an invalid object among valid ones",
			files: map[string]string{"environments/hostile/env.cue": body + "objects: [\n" +
				"\t{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"settings\", namespace: \"" + ns + "\"}, data: value: \"two\"},\n" +
				"\t{apiVersion: \"v1\", kind: \"Service\", metadata: {name: \"bad\", namespace: \"" + ns + "\"}, spec: ports: [{port: 70000}]},\n]\n"},
			reason: "ValidationFailed", want: []string{"environment hostile", "Service", "bad", "spec.ports[0].port", "nothing was written"}, terminal: true,
		},
		{
			name: "an object of another environment",
			files: map[string]string{"environments/hostile/env.cue": body + "objects: [\n" +
				"\t{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"foreign\", namespace: \"" + ns + "\"}, data: value: \"mine\"},\n]\n"},
			reason: "ValidationFailed", want: []string{"environment hostile", "ConfigMap/" + ns + "/foreign", "belongs to environment other", "apply: adopt: true"}, terminal: true,
		},
		{
			name:   "everything removed",
			files:  map[string]string{"environments/hostile/env.cue": body + "objects: []\n"},
			reason: "ValidationFailed", want: []string{"environment hostile renders no objects"}, terminal: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, content := range tc.files {
				path := filepath.Join(r.dir, name)
				if target, ok := strings.CutPrefix(content, "-> "); ok {
					if err := os.Symlink(target, path); err != nil {
						t.Fatal(err)
					}
					continue
				}
				r.write(name, content)
			}
			bad := r.push(tc.name)
			t.Cleanup(func() {
				for name := range tc.files {
					os.Remove(filepath.Join(r.dir, name))
				}
				r.env("hostile", ns, good)
			})
			cur := waitFor(t, c, e, "the commit refused", func(e *v1.Environment) bool {
				return e.Status.LastAttemptedRevision == bad && isFalse(e, v1.ConditionReconciling, tc.reason) && isFalse(e, v1.ConditionReady, tc.reason)
			})
			msg := condition(cur, v1.ConditionReady).Message
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("Ready message does not say %q:\n%s", want, msg)
				}
			}
			if tc.notWant != "" && strings.Contains(msg, tc.notWant) {
				t.Errorf("Ready message quotes what it must not (%q):\n%s", tc.notWant, msg)
			}
			if isTrue(cur, v1.ConditionStalled) != tc.terminal {
				t.Errorf("Stalled = %v, want %v (terminal failures wait for a new commit)", isTrue(cur, v1.ConditionStalled), tc.terminal)
			}
			if cur.Status.LastAppliedRevision != first {
				t.Errorf("last applied revision %s, want %s", cur.Status.LastAppliedRevision, first)
			}
			if n, d := counted.Count(), counted.Deletes(); n != 0 || d != 0 {
				t.Errorf("%d writes (%d deletes) to the cluster for a refused commit", n, d)
			}
			if after := snapshot(t, ns, "hostile", "settings", "keep", "foreign"); after != before {
				t.Errorf("the cluster changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	if _, err := os.Stat("/tmp/plinth-owned"); err == nil {
		t.Error("a CUE tool task ran")
	}
}

// snapshot describes the inventory of env and the named ConfigMaps of ns
// by resource version and content: equal snapshots, unchanged objects.
func snapshot(t *testing.T, ns, env string, names ...string) string {
	t.Helper()
	c := cluster.Client(t)
	var b strings.Builder
	inv := &corev1.ConfigMap{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: inventory.Namespace, Name: inventory.Name(env)}, inv); err != nil {
		t.Fatalf("inventory: %v", err)
	}
	b.WriteString("inventory@" + inv.ResourceVersion)
	for _, name := range names {
		cm := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b.WriteString(" " + name + "@" + cm.ResourceVersion + "=" + cm.Data["value"])
	}
	return b.String()
}
