package upgrade

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/Masterminds/semver/v3"

	"github.com/plinth-platform/plinth/lib/platform"
)

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
		steps, ok, err := p.firstPath(ctx, v, s, nil, true, func(sol State) ([]Step, bool, error) {
			return p.advance(ctx, s, v, sol, m+1)
		})
		if err != nil || ok {
			return steps, ok, err
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
		return p.then(ctx, StepKubernetes, s, sol, m, nil)
	}
	// The migration is a step of its own at the Kubernetes version s runs.
	mig := s
	for _, path := range migrated {
		mig = mig.With(path, p.value(sol, path))
	}
	return p.firstPath(ctx, mig, s, migrated, false, func(msol State) ([]Step, bool, error) {
		return p.then(ctx, StepMigration, s, msol, m-1, bumped)
	})
}

// then makes sol, a solution of the step from s, the step's state (its
// warnings polished), finds the path on from it at Kubernetes minor m and
// puts the step before it; forced is as for step.
func (p *planner) then(ctx context.Context, kind string, s, sol State, m int, forced State) ([]Step, bool, error) {
	sol, err := p.polish(ctx, sol, s)
	if err != nil {
		return nil, false, err
	}
	rest, ok, err := p.search(ctx, sol, m)
	if !ok || err != nil {
		return nil, false, err
	}
	step, err := p.step(ctx, kind, s, sol, forced)
	if err != nil {
		return nil, false, err
	}
	return append([]Step{step}, rest...), true, nil
}

// firstPath calls next with each solution of s (as solve) until next
// finds a path on from one; a greedy search takes the first solution only.
func (p *planner) firstPath(ctx context.Context, s, base State, changed []string, migrations bool, next func(State) ([]Step, bool, error)) ([]Step, bool, error) {
	var steps []Step
	var found bool
	var nextErr error
	err := p.solve(ctx, s, base, changed, migrations, func(sol State) bool {
		steps, found, nextErr = next(sol)
		return nextErr == nil && !found && !p.greedy
	})
	if err == nil {
		err = nextErr
	}
	return steps, found && err == nil, err
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
		var helped []string
		more := true
		err := p.each(ctx, s, f.Path, cands, func(v any, next State, r Result) (bool, error) {
			if violates(r.Findings, first.Rule, platform.SeverityError) {
				return true, nil
			}
			helped = append(helped, show(v))
			fixed = true
			var err error
			more, err = p.solveFrom(ctx, next, base, append(slices.Clip(changed), f.Path), migrations, yield)
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
// Kubernetes, say), nearest value first; never a migration. What each
// field's move cleared is kept for the step's reasons.
func (p *planner) polish(ctx context.Context, s, base State) (State, error) {
	before, err := p.eval(ctx, base)
	if err != nil {
		return nil, err
	}
	var changed []string
	cleared := map[string][]platform.Finding{}
	for {
		next, path, w, err := p.clearOne(ctx, s, base, before.Findings, changed)
		if err != nil {
			return nil, err
		}
		if next == nil {
			break
		}
		s, changed, cleared[path] = next, append(changed, path), append(cleared[path], w)
	}
	if len(cleared) > 0 {
		p.mu.Lock()
		p.cleared[s.key()] = cleared
		p.mu.Unlock()
	}
	return s, nil
}

// clearOne finds the first warning of s that the step brought (before
// has not) and a change of one field clears: the state with the change,
// the field and the warning; a nil state when there is none.
func (p *planner) clearOne(ctx context.Context, s, base State, before []platform.Finding, changed []string) (State, string, platform.Finding, error) {
	res, err := p.eval(ctx, s)
	if err != nil {
		return nil, "", platform.Finding{}, err
	}
	for _, w := range severity(res.Findings, platform.SeverityWarning) {
		if slices.Contains(before, w) {
			continue // the same warning as before the step: not its business
		}
		for _, f := range p.levers(w.Rule, changed, false) {
			var found State
			err := p.each(ctx, s, f.Path, p.candidates(f, s, base), func(_ any, next State, r Result) (bool, error) {
				if len(severity(r.Findings, platform.SeverityError)) == 0 && fewerWarnings(r.Findings, res.Findings, w.Rule) {
					found = next
				}
				return found == nil, nil
			})
			if err != nil || found != nil {
				return found, f.Path, w, err
			}
		}
	}
	return nil, "", platform.Finding{}, nil
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
	limit, _ := version(target) // nil without a target
	values := f.Values
	if hasTarget {
		values = append(slices.Clip(values), target)
	}
	type candidate struct {
		value   any
		version *semver.Version
	}
	var cs []candidate
	seen := map[string]bool{}
	for _, v := range values {
		parsed, ok := version(v)
		switch {
		case !ok, !parsed.GreaterThan(curV), seen[parsed.String()]:
			continue
		case limit != nil && parsed.GreaterThan(limit):
			continue // past the target
		case f.MinorsPerStep > 0 && baseV != nil &&
			(parsed.Major() != baseV.Major() || int(parsed.Minor())-int(baseV.Minor()) > f.MinorsPerStep):
			continue // more minors than one step may move
		}
		seen[parsed.String()] = true
		cs = append(cs, candidate{v, parsed})
	}
	slices.SortStableFunc(cs, func(a, b candidate) int { return a.version.Compare(b.version) })
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = c.value
	}
	return out
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
