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
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
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

// Evaluate is the Evaluator of environment env: platform.EvaluateState.
func Evaluate(env platform.Environment, fields []platform.UpgradeField) Evaluator {
	return func(ctx context.Context, s State) (Result, error) {
		p, err := platform.EvaluateState(ctx, env, s)
		if err != nil {
			return Result{}, err
		}
		r := Result{Findings: p.Findings, Values: map[string]any{}}
		for _, f := range fields {
			if v, ok := p.Field(f.Path); ok {
				r.Values[f.Path] = v
			}
		}
		return r, nil
	}
}

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

// search finds the steps from s, at Kubernetes minor m, to the target.
func (p *planner) search(ctx context.Context, s State, m int) ([]Step, bool, error) {
	if m == p.kt {
		return p.finish(ctx, s)
	}
	key := s.key()
	if p.failed[key] || p.active[key] {
		return nil, false, nil // known to fail, or on the way here (a cycle of migrations)
	}
	p.active[key] = true
	defer delete(p.active, key)
	var found []Step
	var searchErr error
	try := func(bumped State) (bool, error) {
		err := p.solve(ctx, bumped, s, nil, true, func(sol State) bool {
			steps, ok, err := p.advance(ctx, s, bumped, sol, m+1)
			if err != nil {
				searchErr = err
				return false
			}
			if ok {
				found = steps
				return false
			}
			return !p.greedy
		})
		if err == nil {
			err = searchErr
		}
		return found != nil, err
	}
	bumped := s.With(KubernetesField, p.kubeVersion(m+1))
	var variants []State
	if m+1 == p.kt {
		// The last Kubernetes step takes the target's versions along, when it can.
		variants = append(variants, p.withTargets(bumped, false))
	}
	variants = append(variants, bumped)
	// A field that may move only one minor per step may have to move
	// before a rule forces it (Kubespray one release at a time): tried
	// after the variants that move nothing they need not.
	for _, f := range p.opts.Fields {
		if f.MinorsPerStep == 0 || f.Path == KubernetesField {
			continue
		}
		if next := p.candidates(f, s, s); len(next) > 0 {
			variants = append(variants, bumped.With(f.Path, next[0]))
		}
	}
	seen := map[string]bool{}
	for _, v := range variants {
		if seen[v.key()] {
			continue
		}
		seen[v.key()] = true
		ok, err := try(v)
		if err != nil || ok {
			return found, ok, err
		}
	}
	p.failed[key] = true
	return nil, false, nil
}

// advance turns a solution sol of the step from s to Kubernetes minor m
// (bumped, before its fields were solved) into steps, a migration first
// when sol migrates, and searches on.
func (p *planner) advance(ctx context.Context, s, bumped, sol State, m int) ([]Step, bool, error) {
	var migrated []string
	for _, f := range p.opts.Fields {
		if f.Migration && !equal(p.value(s, f.Path), p.value(sol, f.Path)) {
			migrated = append(migrated, f.Path)
		}
	}
	if len(migrated) == 0 {
		sol, err := p.polish(ctx, sol, s)
		if err != nil {
			return nil, false, err
		}
		rest, ok, err := p.search(ctx, sol, m)
		if !ok || err != nil {
			return nil, false, err
		}
		step, err := p.step(ctx, StepKubernetes, s, sol, nil)
		return append([]Step{step}, rest...), err == nil, err
	}
	// The migration is a step of its own at the Kubernetes version s runs.
	mig := s
	for _, path := range migrated {
		mig = mig.With(path, p.value(sol, path))
	}
	var found []Step
	var searchErr error
	err := p.solve(ctx, mig, s, migrated, false, func(msol State) bool {
		msol, searchErr = p.polish(ctx, msol, s)
		if searchErr != nil {
			return false
		}
		steps, ok, err := p.search(ctx, msol, m-1)
		if err != nil {
			searchErr = err
			return false
		}
		if ok {
			var step Step
			step, searchErr = p.step(ctx, StepMigration, s, msol, bumped)
			found = append([]Step{step}, steps...)
			return false
		}
		return !p.greedy
	})
	if err == nil {
		err = searchErr
	}
	return found, found != nil, err
}

// finish applies the target's remaining values at the target's Kubernetes
// version: its migrations as a step of their own, then the rest.
func (p *planner) finish(ctx context.Context, s State) ([]Step, bool, error) {
	var steps []Step
	for _, kind := range []string{StepMigration, StepTarget} {
		next := p.withTargets(s, kind == StepMigration)
		if next.key() == s.key() {
			continue
		}
		var sol State
		err := p.solve(ctx, next, s, slices.Sorted(maps.Keys(p.targets)), false, func(x State) bool {
			sol = x
			return false
		})
		if err != nil || sol == nil {
			return nil, false, err
		}
		if sol, err = p.polish(ctx, sol, s); err != nil {
			return nil, false, err
		}
		step, err := p.step(ctx, kind, s, sol, nil)
		if err != nil {
			return nil, false, err
		}
		steps = append(steps, step)
		s = sol
	}
	return steps, true, nil
}

// withTargets sets the target's values in s: its migrations only, or every
// value but the migrations.
func (p *planner) withTargets(s State, migrations bool) State {
	for _, path := range slices.Sorted(maps.Keys(p.targets)) {
		if path == KubernetesField || p.fields[path].Migration != migrations {
			continue
		}
		if !equal(p.value(s, path), p.targets[path]) {
			s = s.With(path, p.targets[path])
		}
	}
	return s
}

// kubeVersion is the version the plan writes for Kubernetes minor m: the
// target's own at the target, else the minor's first release (any patch
// release of the minor passes the same rules).
func (p *planner) kubeVersion(m int) string {
	if m == p.kt {
		return p.kubeTarget
	}
	return fmt.Sprintf("%d.%d.0", m/1000, m%1000)
}

// solve calls yield with each state, from s changing fields the error
// findings' rules name (never those in changed, migrations only when
// allowed), that passes vet; base is the state before the step. It stops
// when yield returns false.
func (p *planner) solve(ctx context.Context, s, base State, changed []string, migrations bool, yield func(State) bool) error {
	_, err := p.solveFrom(ctx, s, base, changed, migrations, yield)
	return err
}

func (p *planner) solveFrom(ctx context.Context, s, base State, changed []string, migrations bool, yield func(State) bool) (bool, error) {
	res, err := p.eval(ctx, s)
	if err != nil {
		return false, err
	}
	errs := severity(res.Findings, platform.SeverityError)
	if len(errs) == 0 {
		return yield(s), nil
	}
	first := errs[0]
	var tried []string
	fixed := false
	for _, f := range p.levers(first.Rule, changed, migrations) {
		cands := p.candidates(f, s, base)
		if len(cands) == 0 {
			tried = append(tried, p.noCandidate(f, s, base))
			continue
		}
		states := make([]State, len(cands))
		for i, c := range cands {
			states[i] = s.With(f.Path, c)
		}
		var helped []string
		more := true
		err := p.each(ctx, states, func(i int, r Result) (bool, error) {
			if violates(r.Findings, first.Rule, platform.SeverityError) {
				return true, nil
			}
			helped = append(helped, show(cands[i]))
			fixed = true
			var err error
			more, err = p.solveFrom(ctx, states[i], base, append(slices.Clip(changed), f.Path), migrations, yield)
			return more && err == nil, err
		})
		if err != nil || !more {
			return more, err
		}
		if len(helped) == 0 {
			tried = append(tried, fmt.Sprintf("%s: none of %s satisfies it", f.Path, join(cands)))
		}
	}
	if !fixed {
		tried = append(tried, p.held(first.Rule, s, changed)...)
		if len(tried) == 0 {
			tried = append(tried, "it names no field plinth upgrade may change (cue/upgrade.cue)")
		}
		p.noteBlock(s, first, tried)
	}
	return true, nil
}

// held says why the fields rule names that the step may not change stay.
func (p *planner) held(rule string, s State, changed []string) []string {
	var out []string
	for _, path := range p.rules[rule].Paths {
		switch {
		case path == KubernetesField && p.targets[KubernetesField] == nil:
			out = append(out, fmt.Sprintf("%s: --to names no Kubernetes version, so it stays at %s", path, show(p.value(s, path))))
		case path != KubernetesField && slices.Contains(changed, path):
			out = append(out, fmt.Sprintf("%s: this step sets it to %s", path, show(p.value(s, path))))
		}
	}
	return out
}

// polish clears the warnings that s has and base, the state before the
// step, has not, when a change of one field clears one without an error
// or a new warning (Kubeflow to the release validated on the new
// Kubernetes, say), nearest value first; never a migration.
func (p *planner) polish(ctx context.Context, s, base State) (State, error) {
	before, err := p.eval(ctx, base)
	if err != nil {
		return nil, err
	}
	changed := []string{}
	cleared := map[string][]platform.Finding{}
	defer func() {
		if len(cleared) > 0 {
			p.mu.Lock()
			p.cleared[s.key()] = cleared
			p.mu.Unlock()
		}
	}()
	for {
		res, err := p.eval(ctx, s)
		if err != nil {
			return nil, err
		}
		better := false
		for _, w := range severity(res.Findings, platform.SeverityWarning) {
			if slices.Contains(before.Findings, w) {
				continue // the same warning as before the step: not its business
			}
			for _, f := range p.levers(w.Rule, changed, false) {
				cands := p.candidates(f, s, base)
				states := make([]State, len(cands))
				for i, c := range cands {
					states[i] = s.With(f.Path, c)
				}
				err := p.each(ctx, states, func(i int, r Result) (bool, error) {
					if len(severity(r.Findings, platform.SeverityError)) == 0 && fewerWarnings(r.Findings, res.Findings, w.Rule) {
						s, better = states[i], true
						changed = append(changed, f.Path)
						cleared[f.Path] = append(cleared[f.Path], w)
						return false, nil
					}
					return true, nil
				})
				if err != nil {
					return nil, err
				}
				if better {
					break
				}
			}
			if better {
				break
			}
		}
		if !better {
			return s, nil
		}
	}
}

// levers are the fields rule names that the planner may change.
func (p *planner) levers(rule string, changed []string, migrations bool) []platform.UpgradeField {
	var out []platform.UpgradeField
	for _, path := range p.rules[rule].Paths {
		f, ok := p.fields[path]
		if !ok || path == KubernetesField || slices.Contains(changed, path) || (f.Migration && !migrations) {
			continue
		}
		// A field the target holds at its value has no candidates; it
		// stays, to say so when nothing else helps.
		out = append(out, f)
	}
	return out
}

// candidates are the values field f may take in a step from base, nearest
// first: for versions those after the value of s and up to the target's,
// within the field's minors per step from base; else the other values.
func (p *planner) candidates(f platform.UpgradeField, s, base State) []any {
	cur := p.value(s, f.Path)
	target, hasTarget := p.targets[f.Path]
	if !f.Version {
		if hasTarget {
			if equal(target, cur) {
				return nil
			}
			return []any{target}
		}
		var out []any
		for _, v := range f.Values {
			if !equal(v, cur) {
				out = append(out, v)
			}
		}
		return out
	}
	curV, ok := version(cur)
	if !ok {
		return nil
	}
	baseV, _ := version(p.value(base, f.Path))
	var vs []any
	seen := map[string]bool{}
	values := f.Values
	if hasTarget {
		values = append(slices.Clip(values), target)
	}
	for _, v := range values {
		parsed, ok := version(v)
		if !ok || !parsed.GreaterThan(curV) || seen[parsed.String()] {
			continue
		}
		if hasTarget {
			if tv, ok := version(target); ok && parsed.GreaterThan(tv) {
				continue
			}
		}
		if f.MinorsPerStep > 0 && baseV != nil && (parsed.Major() != baseV.Major() || int(parsed.Minor()-baseV.Minor()) > f.MinorsPerStep) {
			continue
		}
		seen[parsed.String()] = true
		vs = append(vs, v)
	}
	sort.SliceStable(vs, func(i, j int) bool {
		a, _ := version(vs[i])
		b, _ := version(vs[j])
		return a.LessThan(b)
	})
	return vs
}

// noCandidate says why field f has no value to try.
func (p *planner) noCandidate(f platform.UpgradeField, s, base State) string {
	cur := p.value(s, f.Path)
	if t, ok := p.targets[f.Path]; ok && equal(t, cur) {
		return fmt.Sprintf("%s: the target holds it at %s", f.Path, show(t))
	}
	if f.MinorsPerStep > 0 {
		return fmt.Sprintf("%s: the matrix has no release after %s within %d minor per step (%s); a newer release goes into cue/matrix.cue", f.Path, show(p.value(base, f.Path)), f.MinorsPerStep, f.Source)
	}
	return fmt.Sprintf("%s: the matrix has no value after %s; a newer release goes into cue/matrix.cue", f.Path, show(cur))
}

// value is field path of s as evaluated (its default when s leaves it unset).
func (p *planner) value(s State, path string) any {
	if v, ok := s.Get(path); ok {
		return v
	}
	p.mu.Lock()
	e := p.cache[s.key()]
	p.mu.Unlock()
	if e != nil {
		<-e.done
		if v, ok := e.res.Values[path]; ok {
			return v
		}
	}
	return p.startValues[path]
}

// step describes the step from state a to state b; forced, for a
// migration, is the next Kubernetes step's state without it, whose errors
// are why it is made.
func (p *planner) step(ctx context.Context, kind string, a, b, forced State) (Step, error) {
	var forcedFindings []platform.Finding
	if forced != nil {
		r, err := p.eval(ctx, forced)
		if err != nil {
			return Step{}, err
		}
		forcedFindings = severity(r.Findings, platform.SeverityError)
	}
	resB, err := p.eval(ctx, b)
	if err != nil {
		return Step{}, err
	}
	resA, err := p.eval(ctx, a)
	if err != nil {
		return Step{}, err
	}
	st := Step{Kind: kind, Kubernetes: show(resB.Values[KubernetesField]), State: b,
		Warnings: severity(resB.Findings, platform.SeverityWarning)}
	actions := map[string]bool{}
	for _, f := range p.opts.Fields {
		from, to := resA.Values[f.Path], resB.Values[f.Path]
		if equal(from, to) {
			continue
		}
		c := Change{Field: f.Path, Name: f.Name, From: from, To: to}
		if f.Path == KubernetesField {
			c.Reasons = []Reason{{Rule: ReasonSkew, Detail: "one minor per step", Source: f.Source}}
			if t, ok := p.targets[f.Path]; ok && equal(t, to) {
				c.Reasons = append(c.Reasons, Reason{Rule: ReasonTarget})
			}
			st.Changes = append(st.Changes, c)
			continue
		}
		// The rules b without this change violates are why it is made.
		without := b.With(f.Path, from)
		if _, set := a.Get(f.Path); !set {
			without = unset(b, f.Path)
		}
		resW, err := p.eval(ctx, without)
		if err != nil {
			return Step{}, err
		}
		for _, fd := range append(slices.Clip(forcedFindings), resW.Findings...) {
			if !slices.Contains(p.rules[fd.Rule].Paths, f.Path) || violates(resB.Findings, fd.Rule, fd.Severity) ||
				slices.ContainsFunc(c.Reasons, func(r Reason) bool { return r.Rule == fd.Rule }) {
				continue
			}
			c.Reasons = append(c.Reasons, Reason{Rule: fd.Rule, Severity: fd.Severity, Detail: fd.Detail, Source: fd.Source})
			if a := p.rules[fd.Rule].Action; a != "" && !actions[fd.Rule] {
				actions[fd.Rule] = true
				st.Actions = append(st.Actions, Action{Rule: fd.Rule, Action: a})
			}
		}
		p.mu.Lock()
		polished := p.cleared[b.key()][f.Path]
		p.mu.Unlock()
		for _, w := range polished {
			if !slices.ContainsFunc(c.Reasons, func(r Reason) bool { return r.Rule == w.Rule }) {
				c.Reasons = append(c.Reasons, Reason{Rule: w.Rule, Severity: w.Severity, Detail: w.Detail + " (cleared by this version)", Source: w.Source})
			}
		}
		if t, ok := p.targets[f.Path]; ok && equal(t, to) {
			c.Reasons = append(c.Reasons, Reason{Rule: ReasonTarget})
		}
		if len(c.Reasons) == 0 && f.MinorsPerStep > 0 {
			c.Reasons = append(c.Reasons, Reason{Rule: ReasonSkew, Source: f.Source,
				Detail: fmt.Sprintf("moved ahead: %s moves %d minor per step and a later step needs a newer release", f.Name, f.MinorsPerStep)})
		}
		if kind == StepKubernetes {
			before, err := p.eval(ctx, a.With(f.Path, to))
			if err != nil {
				return Step{}, err
			}
			switch {
			case len(severity(before.Findings, platform.SeverityError)) == 0:
				c.When = "before"
			case len(severity(resW.Findings, platform.SeverityError)) == 0:
				c.When = "after"
			default:
				c.When = "with"
			}
		}
		st.Changes = append(st.Changes, c)
	}
	slices.SortStableFunc(st.Changes, func(x, y Change) int {
		// Kubernetes first, then the fields in path order.
		return cmp.Compare(rank(x.Field), rank(y.Field))
	})
	return st, nil
}

func rank(path string) int {
	if path == KubernetesField {
		return 0
	}
	return 1
}

// unset returns s without the field at path.
func unset(s State, path string) State {
	i := strings.LastIndexByte(path, '.')
	parent := State(s)
	if i >= 0 {
		m, ok := s.Get(path[:i])
		if !ok {
			return s
		}
		pm, _ := m.(map[string]any)
		parent = State(pm)
	}
	cp := map[string]any{}
	for k, v := range parent {
		if k != path[i+1:] {
			cp[k] = v
		}
	}
	if i < 0 {
		return cp
	}
	return s.With(path[:i], cp)
}

// eval evaluates s once; concurrent callers of one state share it.
func (p *planner) eval(ctx context.Context, s State) (Result, error) {
	key := s.key()
	p.mu.Lock()
	e, ok := p.cache[key]
	if !ok {
		if p.evals >= p.opts.MaxEvaluations {
			p.mu.Unlock()
			return Result{}, errBudget
		}
		p.evals++
		e = &evaluation{done: make(chan struct{})}
		p.cache[key] = e
	}
	p.mu.Unlock()
	if ok {
		<-e.done
		return e.res, e.err
	}
	e.res, e.err = p.opts.Evaluate(ctx, s)
	close(e.done)
	return e.res, e.err
}

// batch is how many candidates each evaluates ahead, whatever the
// machine's cores: a plan and its count of evaluations do not depend on
// where it runs.
const batch = 4

// each evaluates states, a batch at a time (Parallel at once), and calls
// fn with each result in order until fn returns false: the nearest
// candidates first, and few evaluations beyond those the search uses.
func (p *planner) each(ctx context.Context, states []State, fn func(int, Result) (bool, error)) error {
	sem := make(chan struct{}, p.opts.Parallel)
	for lo := 0; lo < len(states); lo += batch {
		batch := states[lo:min(lo+batch, len(states))]
		results := make([]Result, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, s := range batch {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				results[i], errs[i] = p.eval(ctx, s)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i, r := range results {
			more, err := fn(lo+i, r)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// noteBlock keeps the blocker of the furthest Kubernetes version.
func (p *planner) noteBlock(s State, f platform.Finding, tried []string) {
	k := show(p.value(s, KubernetesField))
	v, _ := version(k)
	m := 0
	if v != nil {
		m = minorOf(v)
	}
	if p.block != nil && m < p.blockMinor {
		return
	}
	if p.block == nil || m > p.blockMinor {
		p.block = &Unreachable{Environment: p.env, Kubernetes: k}
		p.blockMinor = m
	}
	for _, b := range p.block.Blockers {
		if b.Rule == f.Rule && b.Detail == f.Detail {
			return
		}
	}
	p.block.Blockers = append(p.block.Blockers, Blocker{Rule: f.Rule, Detail: f.Detail, Message: f.Message, Tried: tried})
}

func (p *planner) unreachable() *Unreachable {
	if p.block == nil {
		return &Unreachable{Environment: p.env}
	}
	return p.block
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
