package upgrade_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/upgrade"
)

// prodVersions are prod's versions (environments/prod), the case study's target.
var prodVersions = []string{"kubernetes=1.34.4", "kubeflow=26.03", "certManager=v1.19.4", "istio=1.29.0", "rancher=2.15.0", "gpu=v26.7.0"}

// planned is a plan with what it started from.
type planned struct {
	env    platform.Environment
	start  upgrade.State
	fields []platform.UpgradeField
	plan   *upgrade.Plan
}

// plan plans the upgrade of environment name under root to the --to pairs.
func plan(t *testing.T, root, name string, to ...string) (*planned, error) {
	t.Helper()
	env, err := platform.Resolve(root, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	start, err := p.State()
	if err != nil {
		t.Fatal(err)
	}
	fields, rules := schemaFacts(t)
	targets, err := upgrade.ParseTargets(to, fields)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := upgrade.New(context.Background(), name, start, targets, upgrade.Options{Fields: fields, Rules: rules, Evaluate: upgrade.Evaluate(env, fields)})
	return &planned{env: env, start: start, fields: fields, plan: pl}, err
}

// schemaFacts are the schema's upgrade fields and rules.
func schemaFacts(t *testing.T) ([]platform.UpgradeField, []platform.Rule) {
	t.Helper()
	fields, err := platform.UpgradeFields()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := platform.Rules()
	if err != nil {
		t.Fatal(err)
	}
	return fields, rules
}

// get reads a dotted path of a state; the test's own reading, not the planner's.
func get(s map[string]any, path string) any {
	var cur any = s
	for _, part := range strings.Split(path, ".") {
		m, _ := cur.(map[string]any)
		cur = m[part]
	}
	return cur
}

// minor parses a state's cluster.version into its Kubernetes minor.
func minor(t *testing.T, s map[string]any) uint64 {
	t.Helper()
	v, err := semver.NewVersion(get(s, "cluster.version").(string))
	if err != nil {
		t.Fatal(err)
	}
	return v.Minor()
}

// checkSteps checks what every plan must be, independently of the
// planner: each step's state, evaluated again, has no error, and
// Kubernetes moves at most one minor from the state before.
func checkSteps(t *testing.T, p *planned) {
	t.Helper()
	prev := map[string]any(p.start)
	for _, step := range p.plan.Steps {
		res, err := platform.EvaluateState(context.Background(), p.env, step.State)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Valid() {
			t.Errorf("step %d does not pass vet: %v", step.Number, res.Findings)
		}
		if d := minor(t, step.State) - minor(t, prev); d > 1 {
			t.Errorf("step %d moves Kubernetes %d minors", step.Number, d)
		}
		prev = step.State
	}
}

// The case study's final stack reaches prod's versions: every step vets
// clean, the nodes leave Docker before 1.24 and in-tree GlusterFS goes
// before 1.26, each in a migration step naming its rule and action.
func TestCaseStudyToProd(t *testing.T) {
	p, err := plan(t, "../../testdata/casestudy", "attempt3-final", prodVersions...)
	if err != nil {
		t.Fatal(err)
	}
	checkSteps(t, p)
	steps := p.plan.Steps
	// 15 Kubernetes minors (1.19 → 1.34) and two migrations, each a step
	// of its own (RT-K8S-1 fails 1.24 on Docker, STORE-2.glusterfs fails
	// 1.26 in-tree): no shorter sequence exists.
	if len(steps) != 17 {
		t.Errorf("%d steps, want 17", len(steps))
	}
	last := steps[len(steps)-1].State
	for _, want := range [][2]string{
		{"cluster.version", "1.34.4"}, {"components.kubeflow.version", "26.03"}, {"components.certManager.version", "v1.19.4"},
		{"components.istio.version", "1.29.0"}, {"components.rancher.version", "2.15.0"}, {"components.gpu.operatorVersion", "v26.7.0"},
	} {
		if got := get(last, want[0]); got != want[1] {
			t.Errorf("the last state has %s %v, want %s", want[0], got, want[1])
		}
	}
	for _, step := range steps {
		m := minor(t, step.State)
		if m >= 24 && get(step.State, "cluster.runtime") == "docker" {
			t.Errorf("step %d: Docker on Kubernetes 1.%d", step.Number, m)
		}
		if m >= 26 && get(step.State, "storage.glusterfs.inTree") != false {
			t.Errorf("step %d: in-tree GlusterFS on Kubernetes 1.%d", step.Number, m)
		}
	}
	for _, mig := range []struct {
		field, rule, kubernetes string
	}{{"cluster.runtime", "RT-K8S-1", "1.23.0"}, {"storage.glusterfs.inTree", "STORE-2.glusterfs", "1.25.0"}} {
		i := slices.IndexFunc(steps, func(s upgrade.Step) bool {
			return s.Kind == upgrade.StepMigration && slices.ContainsFunc(s.Changes, func(c upgrade.Change) bool { return c.Field == mig.field })
		})
		if i < 0 {
			t.Errorf("no migration step changes %s", mig.field)
			continue
		}
		s := steps[i]
		if s.Kubernetes != mig.kubernetes || steps[i+1].Kind != upgrade.StepKubernetes {
			t.Errorf("the %s migration is at Kubernetes %s, followed by a %s step; want %s, just before the Kubernetes step", mig.field, s.Kubernetes, steps[i+1].Kind, mig.kubernetes)
		}
		if !slices.ContainsFunc(s.Actions, func(a upgrade.Action) bool { return a.Rule == mig.rule && a.Action != "" }) {
			t.Errorf("the %s migration has no action of %s: %+v", mig.field, mig.rule, s.Actions)
		}
		c := s.Changes[slices.IndexFunc(s.Changes, func(c upgrade.Change) bool { return c.Field == mig.field })]
		if !slices.ContainsFunc(c.Reasons, func(r upgrade.Reason) bool { return r.Rule == mig.rule }) {
			t.Errorf("the %s change does not name %s: %+v", mig.field, mig.rule, c.Reasons)
		}
	}
	// The runtime change takes Argo's docker executor with it (ARGO-EXEC-1).
	runtime := steps[slices.IndexFunc(steps, func(s upgrade.Step) bool { return s.Kind == upgrade.StepMigration })]
	if get(runtime.State, "components.kubeflow.pipelines.argoExecutor") == "docker" {
		t.Errorf("the runtime migration keeps the docker executor")
	}
	// Written out, every step vets from its files.
	for i, env := range writeSteps(t, p) {
		got, err := platform.Evaluate(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Valid() {
			t.Errorf("step %d as written: %v", i+1, got.Findings)
		}
	}
}

// writeSteps writes p's steps with upgrade.Write into a new directory and
// returns them as environments.
func writeSteps(t *testing.T, p *planned) []platform.Environment {
	t.Helper()
	ev, err := platform.Evaluate(context.Background(), p.env)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, len(p.fields))
	for i, f := range p.fields {
		paths[i] = f.Path
	}
	out := t.TempDir()
	written, err := upgrade.Write(out, p.env.Root, p.env, p.plan, upgrade.Origin{Start: p.start, Files: ev.Files(), Sources: ev.Sources(paths)}, p.fields)
	if err != nil {
		t.Fatal(err)
	}
	if len(written.Steps) != len(p.plan.Steps) {
		t.Fatalf("%d step directories for %d steps", len(written.Steps), len(p.plan.Steps))
	}
	var envs []platform.Environment
	for i, rel := range written.Steps {
		if rel != filepath.Join("environments", upgrade.StepName(i+1)) {
			t.Errorf("step %d written to %s", i+1, rel)
		}
		env, err := platform.Resolve(out, filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	return envs
}

// The same environment and target give the same plan, byte for byte.
func TestPlanIsDeterministic(t *testing.T) {
	var first []byte
	for range 3 {
		p, err := plan(t, "testdata", "lab", "kubernetes=1.27.0", "istio=1.17.3")
		if err != nil {
			t.Fatal(err)
		}
		checkSteps(t, p)
		data, err := json.Marshal(p.plan)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = data
		} else if string(data) != string(first) {
			t.Fatalf("two plans differ:\n%s\n%s", first, data)
		}
	}
}

// An unreachable target names the Kubernetes version it cannot pass, the
// rule that blocks it, why no change helped, and what would unblock it.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		root, env  string
		to         []string
		kubernetes string
		rule       string
		tried      string
	}{
		// The target holds Kubeflow at 1.2, which works up to 1.20.
		{"../../testdata/casestudy", "attempt3-final", []string{"kubernetes=1.22.0", "kubeflow=1.2.0"}, "1.21.0", "KF-K8S-2", "components.kubeflow.version: the target holds it at 1.2.0"},
		// Kubeflow 1.11 needs Kubernetes 1.32, and --to names no Kubernetes version.
		{"testdata", "lab", []string{"kubeflow=1.11.0"}, "1.25.16", "KF-K8S-1", "cluster.version: --to names no Kubernetes version, so it stays at 1.25.16"},
		// No Kubespray release of the matrix installs 1.36.
		{"testdata", "edge", []string{"kubernetes=1.36.0"}, "1.36.0", "KSPRAY-1", "cluster.installer.version: the matrix has no release after v2.31.0"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			_, err := plan(t, tc.root, tc.env, tc.to...)
			var u *upgrade.Unreachable
			if !errors.As(err, &u) {
				t.Fatalf("got %v, want *upgrade.Unreachable", err)
			}
			if u.Kubernetes != tc.kubernetes || len(u.Blockers) == 0 || u.Blockers[0].Rule != tc.rule || u.Blockers[0].Message == "" {
				t.Fatalf("blocked at %q by %+v, want %s by %s with its message", u.Kubernetes, u.Blockers, tc.kubernetes, tc.rule)
			}
			if !slices.ContainsFunc(u.Blockers[0].Tried, func(s string) bool { return strings.HasPrefix(s, tc.tried) }) {
				t.Errorf("tried %q, want a line starting %q", u.Blockers[0].Tried, tc.tried)
			}
			t.Log(err)
		})
	}
}

// Targets plinth upgrade refuses to plan.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		to   []string
		want string
	}{
		{"downgrade", []string{"kubernetes=1.24.0"}, "does not downgrade"},
		{"downgrade of a component", []string{"kubeflow=1.6.0"}, "does not downgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := plan(t, "testdata", "lab", tc.to...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
	fields, err := platform.UpgradeFields()
	if err != nil {
		t.Fatal(err)
	}
	for _, pairs := range [][]string{{"kubernetes"}, {"helm=3.0"}, {"glusterfsInTree=maybe"}, {"kubeflow=1.9.0", "components.kubeflow.version=1.10.0"}} {
		if _, err := upgrade.ParseTargets(pairs, fields); err == nil {
			t.Errorf("--to %v accepted", pairs)
		}
	}
}

// Each step written by Write is an environment that evaluates, from its
// files, to the planned state: the environment's own values replaced in
// place, a default it leaves unset set in upgrade.cue, a layer's field
// opened in the copied layer and set by every step.
func TestWrite(t *testing.T) {
	p, err := plan(t, "testdata", "lab", "kubernetes=1.27.0")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, "testdata")
	envs := writeSteps(t, p)
	out := envs[0].Root
	for i, env := range envs {
		got, err := platform.Evaluate(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Valid() {
			t.Errorf("step %d as written: %v", i+1, got.Findings)
			continue
		}
		state, err := got.State()
		if err != nil {
			t.Fatal(err)
		}
		if field, same := upgrade.Same(p.plan.Steps[i].State, state); !same {
			t.Errorf("step %d as written differs from the plan at %s", i+1, field)
		}
	}
	layer := read(t, filepath.Join(out, "environments", "common.cue"))
	if !strings.Contains(layer, "components: certManager: version: string\n") {
		t.Errorf("the copied layer does not open the field a step changes:\n%s", layer)
	}
	last := envs[len(envs)-1].Dir
	if env := read(t, filepath.Join(last, "environment.cue")); !strings.Contains(env, "\tversion: \"1.27.0\"\n") || !strings.Contains(env, `installer: {kind: "kubespray", version: "v2.23.0"}`) {
		t.Errorf("the last step's environment.cue does not hold the new values in place:\n%s", env)
	}
	if extra := read(t, filepath.Join(last, "upgrade.cue")); !strings.Contains(extra, "storage: glusterfs: inTree: false\n") || !strings.Contains(extra, "components: certManager: version: \"v1.11.0\"\n") {
		t.Errorf("the last step's upgrade.cue:\n%s", extra)
	}
	if after := snapshot(t, "testdata"); !maps(before, after) {
		t.Errorf("writing the steps changed the environment's own files")
	}
	if _, err := upgrade.Write(out, p.env.Root, p.env, p.plan, upgrade.Origin{Start: p.start}, p.fields); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("writing into a directory that holds files: %v, want a refusal", err)
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[p] = read(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
