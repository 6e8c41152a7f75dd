package upgrade_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"github.com/Masterminds/semver/v3"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/upgrade"
)

// The property test's seed and size: a failure reproduces with the same
// seed (the cases are generated in order from it).
const (
	propertySeed  = 20261206
	propertyCases = 16
	// propertyAttempts bounds the generation of valid states.
	propertyAttempts = 400
	// propertyMaxEvaluations bounds one plan's search, so that the test
	// keeps within its time (a case that hits it is reported as exhausted).
	propertyMaxEvaluations = 1200
)

// propertyComponents are the components the generator enables, with the
// field of their version.
var propertyComponents = []struct{ name, versionKey string }{
	{"certManager", "version"},
	{"istio", "version"},
	{"rancher", "version"},
	{"gpu", "operatorVersion"},
	{"kubeflow", "version"},
}

// TestPlanProperty plans the upgrade of random valid environments to newer
// Kubernetes minors (and sometimes a newer component or Kubespray) and
// checks every plan without the planner's bookkeeping: each step's state
// vets without errors, Kubernetes moves at most one minor from state to
// state, the last state holds the targets, and no version goes back. A
// target no plan reaches must say which Kubernetes version is blocked and
// by what, and stay unreachable from the same environment with its
// defaults written out.
func TestPlanProperty(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	env := platform.Environment{Name: "property", Dir: filepath.Join(root, platform.EnvironmentsDir, "property"), Root: root}
	fields, rules := schemaFacts(t)
	values := map[string][]string{}
	for _, f := range fields {
		if f.Version {
			values[f.Path] = propSortedVersions(f.Values)
		}
	}
	for _, path := range []string{"cluster.installer.version", "components.certManager.version", "components.istio.version",
		"components.rancher.version", "components.gpu.operatorVersion", "components.kubeflow.version"} {
		if len(values[path]) == 0 {
			t.Fatalf("platform.UpgradeFields: no matrix values for %s", path)
		}
	}

	t.Logf("seed %d", propertySeed)
	rng := rand.New(rand.NewPCG(propertySeed, propertySeed))

	type testCase struct {
		start   upgrade.State
		targets map[string]any
	}
	var cases []testCase
	rejected := map[string]int{}
	attempts := 0
	for len(cases) < propertyCases && attempts < propertyAttempts {
		attempts++
		s := propGenerateState(rng, values)
		p, err := platform.EvaluateState(ctx, env, s)
		if err != nil {
			t.Fatalf("evaluating generated state %s: %v", propJSON(s), err)
		}
		if errs := propErrorFindings(p.Findings); len(errs) > 0 {
			for _, f := range errs {
				rejected[f.Rule]++
			}
			continue
		}
		cases = append(cases, testCase{start: s, targets: propGenerateTargets(rng, s, values)})
	}
	t.Logf("generation: %d valid states of %d attempts; error findings of the rejected ones by rule: %v", len(cases), attempts, rejected)
	if len(cases) < propertyCases {
		t.Fatalf("only %d valid states in %d attempts: the generator is broken", len(cases), attempts)
	}

	var reachable, unreachable, exhausted int
	blockers := map[string]int{}
	for i, c := range cases {
		name := fmt.Sprintf("case%02d-%s", i, propKubeOf(t, c.start))
		t.Run(name, func(t *testing.T) {
			t.Logf("seed %d case %d\nstart:   %s\ntargets: %s", propertySeed, i, propJSON(c.start), propJSON(c.targets))
			pl, err := upgrade.New(ctx, env.Name, c.start, c.targets, upgrade.Options{
				Fields: fields, Rules: rules, Evaluate: upgrade.Evaluate(env, fields), MaxEvaluations: propertyMaxEvaluations,
			})
			var u *upgrade.Unreachable
			switch {
			case errors.As(err, &u):
				if u.Exhausted {
					exhausted++
				} else {
					unreachable++
				}
				t.Logf("unreachable (exhausted %v): %v", u.Exhausted, u)
				if _, ok := propMinorOf(u.Kubernetes); !ok {
					t.Errorf("Unreachable names no Kubernetes version: %q", u.Kubernetes)
				}
				if len(u.Blockers) == 0 {
					t.Errorf("Unreachable names no blocker")
				}
				for _, b := range u.Blockers {
					if b.Rule == "" || b.Detail == "" {
						t.Errorf("a blocker without a rule or detail: %+v", b)
					}
					blockers[b.Rule]++
				}
				if !u.Exhausted {
					propCheckUnreachable(ctx, t, env, fields, rules, c.start, c.targets)
				}
				return
			case err != nil:
				t.Fatalf("upgrade.New: %v", err)
			}
			reachable++
			t.Logf("plan: %d steps, %d evaluations", len(pl.Steps), pl.Evaluations)
			propCheckPlan(ctx, t, env, fields, c.start, c.targets, pl)
		})
	}
	t.Logf("seed %d: %d cases: %d reachable, %d unreachable, %d exhausted (bound %d evaluations); blockers by rule: %v",
		propertySeed, len(cases), reachable, unreachable, exhausted, propertyMaxEvaluations, blockers)
	if 2*(unreachable+exhausted) > len(cases) {
		t.Errorf("%d of %d cases unreachable or exhausted: the generator or the planner is broken", unreachable+exhausted, len(cases))
	}
}

// propCheckPlan checks plan's states from start against the properties.
func propCheckPlan(ctx context.Context, t *testing.T, env platform.Environment, fields []platform.UpgradeField, start upgrade.State, targets map[string]any, pl *upgrade.Plan) {
	t.Helper()
	if len(pl.Steps) == 0 {
		t.Fatalf("a plan without steps to targets %v", targets)
	}
	prev, err := platform.EvaluateState(ctx, env, start)
	if err != nil {
		t.Fatal(err)
	}
	prevState := start
	for i, st := range pl.Steps {
		where := fmt.Sprintf("step %d (%s, %s)", i+1, st.Kind, propJSON(st.State))
		t.Logf("step %d %s kubernetes %s: %s", i+1, st.Kind, st.Kubernetes, propChanges(st.Changes))
		p, err := platform.EvaluateState(ctx, env, st.State)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		// (1) The state vets without errors.
		for _, f := range propErrorFindings(p.Findings) {
			t.Errorf("%s: error finding %s", where, f)
		}
		// (2) Kubernetes moves 0 or 1 minor, read from the states themselves.
		a, aok := propMinorOf(propStateString(prevState, "cluster.version"))
		b, bok := propMinorOf(propStateString(st.State, "cluster.version"))
		switch {
		case !aok || !bok:
			t.Errorf("%s: cluster.version not a 1.M.P version: %v → %v", where, propStateString(prevState, "cluster.version"), propStateString(st.State, "cluster.version"))
		case b-a != 0 && b-a != 1:
			t.Errorf("%s: Kubernetes moves from 1.%d to 1.%d", where, a, b)
		}
		// (4) No version field goes back, as evaluated (defaults included).
		for _, f := range fields {
			if !f.Version {
				continue
			}
			from, ok1 := propField(prev, f.Path)
			to, ok2 := propField(p, f.Path)
			if !ok1 || !ok2 {
				continue
			}
			fv, err1 := semver.NewVersion(fmt.Sprint(from))
			tv, err2 := semver.NewVersion(fmt.Sprint(to))
			if err1 != nil || err2 != nil {
				t.Errorf("%s: %s is not a version: %v → %v", where, f.Path, from, to)
				continue
			}
			if tv.LessThan(fv) {
				t.Errorf("%s: %s goes back from %v to %v", where, f.Path, from, to)
			}
		}
		prev, prevState = p, st.State
	}
	// (3) The last state holds every target.
	for path, want := range targets {
		got, ok := propField(prev, path)
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the last state has %s = %v (set %v), the target %v", path, got, ok, want)
		}
	}
}

// propCheckUnreachable checks an unreachable target against the same
// environment with the defaults of the fields plinth upgrade may change
// written out (the bundled cert-manager and Istio of a Kubeflow release,
// say): the same environment, so the same answer.
func propCheckUnreachable(ctx context.Context, t *testing.T, env platform.Environment, fields []platform.UpgradeField, rules []platform.Rule, start upgrade.State, targets map[string]any) {
	t.Helper()
	p, err := platform.EvaluateState(ctx, env, start)
	if err != nil {
		t.Fatal(err)
	}
	explicit := start
	var written []string
	for _, f := range fields {
		if f.Path == "cluster.version" {
			continue
		}
		if _, set := start.Get(f.Path); set {
			continue
		}
		parts := strings.Split(f.Path, ".")
		if parts[0] == "components" {
			if on, _ := propField(p, "components."+parts[1]+".enabled"); on != true {
				continue
			}
		} else if _, set := start.Get(strings.Join(parts[:len(parts)-1], ".")); !set {
			continue
		}
		if v, ok := propField(p, f.Path); ok {
			explicit = explicit.With(f.Path, v)
			written = append(written, fmt.Sprintf("%s=%v", f.Path, v))
		}
	}
	if len(written) == 0 {
		return
	}
	pe, err := platform.EvaluateState(ctx, env, explicit)
	if err != nil {
		t.Fatal(err)
	}
	if errs := propErrorFindings(pe.Findings); len(errs) > 0 {
		t.Fatalf("the start with its defaults written out (%s) does not vet: %v", strings.Join(written, ", "), errs)
	}
	pl, err := upgrade.New(ctx, env.Name, explicit, targets, upgrade.Options{
		Fields: fields, Rules: rules, Evaluate: upgrade.Evaluate(env, fields), MaxEvaluations: propertyMaxEvaluations,
	})
	if err == nil {
		t.Errorf("unreachable, yet the same start with its defaults written out (%s) has a plan of %d steps: the planner does not see the defaults (platform.Field)", strings.Join(written, ", "), len(pl.Steps))
		for i, st := range pl.Steps {
			t.Logf("  that plan's step %d %s kubernetes %s: %s", i+1, st.Kind, st.Kubernetes, propChanges(st.Changes))
		}
	}
}

// propField is the value of an environment field as evaluated, its
// default when the environment leaves it unset (read here, not with
// platform.Field: a check independent of what the planner reads).
func propField(p *platform.Platform, path string) (any, bool) {
	if !p.Value.Exists() {
		return nil, false
	}
	v, _ := p.Value.LookupPath(cue.ParsePath("env." + path)).Default()
	if !v.Exists() || !v.IsConcrete() {
		return nil, false
	}
	var out any
	if err := v.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// propGenerateState draws an environment state: a Kubernetes 1.19–1.31
// cluster, its runtime, nodes and sometimes a Kubespray installer, a
// storage backend and a random subset of the components, their versions
// from the matrix near the cluster's age.
func propGenerateState(r *rand.Rand, values map[string][]string) upgrade.State {
	m := 19 + r.IntN(13)
	runtimes := []string{"containerd", "cri-o"}
	if m < 24 {
		runtimes = append(runtimes, "docker")
	}
	runtime := runtimes[r.IntN(len(runtimes))]
	workers := 1 + r.IntN(6)
	nodes := map[string]any{"controlPlane": []int{1, 3}[r.IntN(2)], "workers": workers}
	cluster := map[string]any{
		"version": fmt.Sprintf("1.%d.%d", m, r.IntN(10)),
		"runtime": runtime,
		"nodes":   nodes,
	}
	if r.IntN(3) == 0 {
		cluster["installer"] = map[string]any{"kind": "kubespray", "version": propNear(r, values["cluster.installer.version"], m)}
	}
	components := map[string]any{}
	for _, c := range propertyComponents {
		if r.IntN(2) == 0 {
			continue
		}
		comp := map[string]any{"enabled": true, c.versionKey: propNear(r, values["components."+c.name+"."+c.versionKey], m)}
		switch c.name {
		case "rancher":
			comp["hostname"] = "rancher.lab.local"
		case "gpu":
			nodes["gpuWorkers"] = 1 + r.IntN(workers)
		case "kubeflow":
			executors := []string{"", "emissary", "pns", "k8sapi"}
			if runtime == "docker" {
				executors = append(executors, "docker")
			}
			if e := executors[r.IntN(len(executors))]; e != "" {
				comp["pipelines"] = map[string]any{"argoExecutor": e}
			}
		}
		components[c.name] = comp
	}
	storage := map[string]any{}
	kind := r.IntN(3)
	if _, kf := components["kubeflow"]; kf && kind == 2 {
		kind = r.IntN(2) // Kubeflow needs a ReadWriteMany default (STORE-1)
	}
	switch kind {
	case 0:
		storage["default"] = "nfs"
		storage["nfs"] = map[string]any{"server": "nfs.lab.local", "path": "/export/k8s"}
	case 1:
		storage["default"] = "glusterfs"
		storage["glusterfs"] = map[string]any{"inTree": r.IntN(2) == 0, "heketiURL": "http://heketi.lab.local:8080"}
	}
	return upgrade.State{"cluster": cluster, "storage": storage, "components": components}
}

// near picks one of vs (sorted versions) about as old, within the list,
// as Kubernetes 1.m is within 1.16–1.35, give or take two.
func propNear(r *rand.Rand, vs []string, m int) string {
	i := (m-16)*(len(vs)-1)/(35-16) + r.IntN(5) - 2
	return vs[max(0, min(len(vs)-1, i))]
}

// propGenerateTargets draws the targets of start: Kubernetes 1 to 4 minors on
// (1.34 at most) and, one time in two, a newer release of a component the
// state enables or of its Kubespray, one to three matrix values on.
func propGenerateTargets(r *rand.Rand, start upgrade.State, values map[string][]string) map[string]any {
	m := propMustMinor(propStateString(start, "cluster.version"))
	k := 1 + r.IntN(4)
	// One time in two, far enough for the runtime or storage migration
	// when it is within reach (Docker ends at 1.24, in-tree GlusterFS at 1.26).
	if rt, _ := upgrade.State(start).Get("cluster.runtime"); rt == "docker" && r.IntN(2) == 0 {
		k = max(k, min(4, 24-m))
	}
	if propInTree(start) && r.IntN(2) == 0 {
		k = max(k, min(4, 26-m))
	}
	k = min(k, 34-m)
	targets := map[string]any{"cluster.version": fmt.Sprintf("1.%d.0", m+k)}
	if r.IntN(2) == 0 {
		return targets
	}
	var paths []string
	for _, c := range propertyComponents {
		if _, ok := upgrade.State(start).Get("components." + c.name); ok {
			paths = append(paths, "components."+c.name+"."+c.versionKey)
		}
	}
	if _, ok := upgrade.State(start).Get("cluster.installer.version"); ok {
		paths = append(paths, "cluster.installer.version")
	}
	if len(paths) == 0 {
		return targets
	}
	path := paths[r.IntN(len(paths))]
	vs := values[path]
	cur := semver.MustParse(propStateString(start, path))
	var newer []string
	for _, v := range vs {
		if semver.MustParse(v).GreaterThan(cur) {
			newer = append(newer, v)
		}
	}
	if len(newer) > 0 {
		targets[path] = newer[r.IntN(min(3, len(newer)))]
	}
	return targets
}

// propInTree says start uses in-tree GlusterFS.
func propInTree(start upgrade.State) bool {
	v, _ := start.Get("storage.glusterfs.inTree")
	return v == true
}

// propSortedVersions are the matrix values vs, deduplicated, oldest first.
func propSortedVersions(vs []any) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vs {
		s, ok := v.(string)
		if !ok || seen[s] {
			continue
		}
		if _, err := semver.NewVersion(s); err != nil {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return semver.MustParse(out[i]).LessThan(semver.MustParse(out[j]))
	})
	return out
}

// propMinorOf parses the minor of a Kubernetes version "1.M.P" itself.
func propMinorOf(v string) (int, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] != "1" {
		return 0, false
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, false
	}
	if _, err := strconv.Atoi(parts[2]); err != nil {
		return 0, false
	}
	return m, true
}

func propMustMinor(v string) int {
	m, ok := propMinorOf(v)
	if !ok {
		panic("not a Kubernetes version: " + v)
	}
	return m
}

func propKubeOf(t *testing.T, s upgrade.State) string {
	t.Helper()
	v := propStateString(s, "cluster.version")
	if _, ok := propMinorOf(v); !ok {
		t.Fatalf("generated cluster.version %q", v)
	}
	return v
}

// propStateString is the string at path in s, "" when unset.
func propStateString(s upgrade.State, path string) string {
	v, _ := s.Get(path)
	str, _ := v.(string)
	return str
}

func propErrorFindings(fs []platform.Finding) []platform.Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f platform.Finding) bool { return f.Severity != platform.SeverityError })
}

func propChanges(cs []upgrade.Change) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %v→%v", c.Name, c.From, c.To))
	}
	return strings.Join(parts, ", ")
}

func propJSON(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
