// Package upgrade plans the upgrade of an environment: a shortest sequence
// of environment states from the environment as it is to the versions a
// target names, in which every state passes vet. Everything it knows comes
// from the schema: the fields it may change and their values
// (cue/upgrade.cue, drawn from the matrix), and the rules every state is
// evaluated against (cue/rules.cue).
//
// A plan moves Kubernetes one minor per step (the skew policy the schema
// cites). Other fields move only when the next state has an error a rule
// names them for, or a warning that a change of one field clears, or when
// the target says so; versions move forward to the nearest value that
// works. A change of a migration field (the container runtime, in-tree
// storage) is work on the nodes or the data: it is a step of its own, at
// the Kubernetes version the cluster runs, just before the step that
// needs it.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/plinth-platform/plinth/lib/platform"
)

// KubernetesField is the field that holds the cluster's Kubernetes version.
const KubernetesField = "cluster.version"

// DefaultMaxEvaluations bounds a search: an evaluation takes about 50 ms
// of CPU; the case study's plan (17 steps) takes about 700.
const DefaultMaxEvaluations = 4000

// Result is what evaluating a state gives the planner.
type Result struct {
	Findings []platform.Finding
	// Values are the fields the planner may change, as evaluated
	// (schema defaults included).
	Values map[string]any
}

// Evaluator evaluates a state as plinth vet would.
type Evaluator func(ctx context.Context, s State) (Result, error)

// Options configure a plan.
type Options struct {
	// Fields and Rules are the schema's (platform.UpgradeFields, platform.Rules).
	Fields []platform.UpgradeField
	Rules  []platform.Rule
	// Evaluate evaluates a state.
	Evaluate Evaluator
	// MaxEvaluations bounds the search (DefaultMaxEvaluations when 0).
	MaxEvaluations int
	// Parallel evaluations (GOMAXPROCS when 0).
	Parallel int
}

// Plan is a sequence of steps from an environment to a target.
type Plan struct {
	Environment string `json:"environment"`
	// Target lists what --to asked for, each with the value it starts from.
	Target []Change `json:"target"`
	Steps  []Step   `json:"steps"`
	// Evaluations is how many states the search evaluated.
	Evaluations int `json:"evaluations"`
}

// Step kinds.
const (
	StepKubernetes = "kubernetes" // Kubernetes moves one minor, with what that needs
	StepMigration  = "migration"  // a runtime or storage migration, Kubernetes unchanged
	StepTarget     = "target"     // the target's versions, Kubernetes unchanged
)

// Step is one environment state of a plan and the changes that lead to it.
type Step struct {
	Number int    `json:"number"`
	Kind   string `json:"kind"`
	// Kubernetes is the Kubernetes version of the state.
	Kubernetes string   `json:"kubernetes"`
	Changes    []Change `json:"changes"`
	// Actions are the work on the cluster the rules behind the changes name.
	Actions []Action `json:"actions,omitempty"`
	// Warnings are the state's warning findings (it has no errors).
	Warnings []platform.Finding `json:"warnings,omitempty"`
	// RemovedAPIs are the objects the state before the step renders with
	// API versions the step's Kubernetes no longer serves; APICheck says
	// why they were not looked for, when they were not (sources not
	// vendored, say). Filled by the caller, who renders.
	RemovedAPIs []RemovedAPI `json:"removedAPIs,omitempty"`
	APICheck    string       `json:"apiCheck,omitempty"`
	// CheckedObjects counts the rendered objects checked, when they were.
	CheckedObjects int `json:"checkedObjects,omitempty"`
	// State is the environment's own value at this step.
	State State `json:"-"`
}

// Change is one field a step changes.
type Change struct {
	Field string `json:"field"`
	Name  string `json:"name"`
	From  any    `json:"from"`
	To    any    `json:"to"`
	// Reasons say why: the rules a state without this change violates, the
	// target, or the skew policy for Kubernetes itself.
	Reasons []Reason `json:"reasons,omitempty"`
	// When, in a Kubernetes step, is "before" (the state before the step
	// with only this change passes vet: make it first), "after" (the new
	// Kubernetes without this change passes vet) or "with" (neither does:
	// change both in one maintenance window).
	When string `json:"when,omitempty"`
}

// RemovedAPI is a rendered object whose API version a step's Kubernetes removes.
type RemovedAPI struct {
	Component string `json:"component"`
	Object    string `json:"object"`
	Message   string `json:"message"`
}

// Reason is why a change is made.
type Reason struct {
	// Rule is a rule id, "TARGET" or "SKEW".
	Rule     string            `json:"rule"`
	Severity platform.Severity `json:"severity,omitempty"`
	Detail   string            `json:"detail,omitempty"`
	Source   string            `json:"source,omitempty"`
}

// Reasons that are not rules.
const (
	ReasonTarget = "TARGET"
	ReasonSkew   = "SKEW"
)

// Action is work on the cluster that a step's change takes (a rule's action).
type Action struct {
	Rule   string `json:"rule"`
	Action string `json:"action"`
}

// Unreachable is the error of a target no sequence of valid states reaches.
type Unreachable struct {
	Environment string `json:"environment"`
	// Kubernetes is the furthest Kubernetes version the search could not pass.
	Kubernetes string    `json:"kubernetes"`
	Blockers   []Blocker `json:"blockers"`
	// Exhausted: the search stopped at its bound, not because no path exists.
	Exhausted bool `json:"exhausted"`
}

// Blocker is an error finding no allowed change fixed.
type Blocker struct {
	Rule    string `json:"rule"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
	// Fields the rule names that the planner may change, and why each did not help.
	Tried []string `json:"tried"`
}

func (e *Unreachable) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %s: no upgrade path", e.Environment)
	if e.Exhausted {
		fmt.Fprintf(&b, " found within the search's bound of evaluations")
	}
	if e.Kubernetes != "" {
		fmt.Fprintf(&b, ": Kubernetes %s is blocked", e.Kubernetes)
	}
	for _, bl := range e.Blockers {
		fmt.Fprintf(&b, "\n  %s: %s", bl.Rule, bl.Detail)
		for _, t := range bl.Tried {
			fmt.Fprintf(&b, "\n    %s", t)
		}
		fmt.Fprintf(&b, "\n    to unblock: %s", bl.Message)
	}
	return b.String()
}

// errBudget stops a search that used its evaluations.
var errBudget = errors.New("search bound reached")

// planner holds one search.
type planner struct {
	opts    Options
	env     string
	fields  map[string]platform.UpgradeField
	rules   map[string]platform.Rule
	targets map[string]any
	// start is the state the plan starts from, startValues its evaluated fields.
	start       State
	startValues map[string]any
	// kubeTarget is the exact Kubernetes version to reach, kt its minor.
	kubeTarget string
	kt         int

	mu     sync.Mutex
	cache  map[string]*evaluation
	evals  int
	failed map[string]bool
	// active are the states the search is under.
	active map[string]bool
	// cleared holds, per state polish made, the warnings each field's
	// move cleared: reasons the state before would not show.
	cleared map[string]map[string][]platform.Finding
	// block is the furthest blocker found.
	block      *Unreachable
	blockMinor int
	// greedy: each step takes the first solution of its fields (the
	// nearest values); the search backtracks over skew moves only. A
	// search that fails greedy is repeated without the restriction.
	greedy bool
}

type evaluation struct {
	done chan struct{}
	res  Result
	err  error
}

// New plans env's upgrade from start (its state, valid) to the targets:
// field path → value.
func New(ctx context.Context, env string, start State, targets map[string]any, opts Options) (*Plan, error) {
	if opts.MaxEvaluations == 0 {
		opts.MaxEvaluations = DefaultMaxEvaluations
	}
	if opts.Parallel == 0 {
		opts.Parallel = runtime.GOMAXPROCS(0)
	}
	p := &planner{opts: opts, env: env, start: start, targets: targets,
		fields: map[string]platform.UpgradeField{}, rules: map[string]platform.Rule{},
		cache: map[string]*evaluation{}, failed: map[string]bool{}, active: map[string]bool{},
		cleared: map[string]map[string][]platform.Finding{}}
	for _, f := range opts.Fields {
		p.fields[f.Path] = f
	}
	for _, r := range opts.Rules {
		p.rules[r.ID] = r
	}
	res, err := p.eval(ctx, start)
	if err != nil {
		return nil, err
	}
	if errs := severity(res.Findings, platform.SeverityError); len(errs) > 0 {
		return nil, fmt.Errorf("environment %s does not pass vet (%d errors, the first: %s): plinth upgrade starts from a valid environment", env, len(errs), errs[0])
	}
	p.startValues = res.Values
	plan := &Plan{Environment: env}
	for _, path := range slices.Sorted(maps.Keys(targets)) {
		f, ok := p.fields[path]
		if !ok {
			return nil, fmt.Errorf("plinth upgrade cannot change %s", path)
		}
		from := res.Values[path]
		plan.Target = append(plan.Target, Change{Field: path, Name: f.Name, From: from, To: targets[path]})
		if f.Version && path != KubernetesField {
			if older(targets[path], from) {
				return nil, fmt.Errorf("environment %s: the target %s=%s is older than the environment's %s: plinth upgrade does not downgrade", env, f.Name, show(targets[path]), show(from))
			}
		}
	}
	cur, ok := version(res.Values[KubernetesField])
	if !ok {
		return nil, fmt.Errorf("environment %s: cluster.version %s is not a Kubernetes version (plinth upgrade plans distribution kubernetes; OKD follows its own update graph)", env, show(res.Values[KubernetesField]))
	}
	if d, _ := res.Values["cluster.distribution"].(string); d == "okd" {
		return nil, fmt.Errorf("environment %s: plinth upgrade plans distribution kubernetes; OKD upgrades follow OKD's update graph (oc adm upgrade)", env)
	}
	p.kubeTarget = show(res.Values[KubernetesField])
	if t, ok := targets[KubernetesField]; ok {
		p.kubeTarget = show(t)
	}
	tv, ok := version(p.kubeTarget)
	if !ok {
		return nil, fmt.Errorf("environment %s: the target kubernetes=%s is not a version", env, p.kubeTarget)
	}
	if tv.LessThan(cur) {
		return nil, fmt.Errorf("environment %s: the target kubernetes=%s is older than the cluster's %s: plinth upgrade does not downgrade", env, p.kubeTarget, cur)
	}
	p.kt = minorOf(tv)
	p.greedy = true
	steps, ok, err := p.search(ctx, start, minorOf(cur))
	if err == nil && !ok {
		p.greedy, p.failed = false, map[string]bool{}
		steps, ok, err = p.search(ctx, start, minorOf(cur))
	}
	plan.Evaluations = p.evals
	switch {
	case errors.Is(err, errBudget):
		u := p.unreachable()
		u.Exhausted = true
		return nil, u
	case err != nil:
		return nil, err
	case !ok:
		return nil, p.unreachable()
	}
	for i := range steps {
		steps[i].Number = i + 1
	}
	plan.Steps = steps
	return plan, nil
}

func severity(fs []platform.Finding, sev platform.Severity) []platform.Finding {
	var out []platform.Finding
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}

func violates(fs []platform.Finding, rule string, sev platform.Severity) bool {
	return slices.ContainsFunc(fs, func(f platform.Finding) bool { return f.Rule == rule && f.Severity == sev })
}

// fewerWarnings: next has no warning of rule and none that cur has not.
func fewerWarnings(next, cur []platform.Finding, rule string) bool {
	for _, f := range severity(next, platform.SeverityWarning) {
		if f.Rule == rule || !violates(cur, f.Rule, platform.SeverityWarning) {
			return false
		}
	}
	return true
}

func equal(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) && (a == nil) == (b == nil) }

// older reports a version a before version b.
func older(a, b any) bool {
	av, ok1 := version(a)
	bv, ok2 := version(b)
	return ok1 && ok2 && av.LessThan(bv)
}

func join(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = show(v)
	}
	return strings.Join(parts, ", ")
}
