package upgrade

import (
	"context"
	"errors"
	"sync"

	"github.com/plinth-platform/plinth/lib/platform"
)

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

// each evaluates s with the field at path set to each of values, a batch
// at a time (Parallel at once), and calls fn with each value, state and
// result in order until fn returns false: the nearest candidates first,
// and few evaluations beyond those the search uses.
func (p *planner) each(ctx context.Context, s State, path string, values []any, fn func(any, State, Result) (bool, error)) error {
	sem := make(chan struct{}, p.opts.Parallel)
	for lo := 0; lo < len(values); lo += batch {
		vs := values[lo:min(lo+batch, len(values))]
		states := make([]State, len(vs))
		results := make([]Result, len(vs))
		errs := make([]error, len(vs))
		var wg sync.WaitGroup
		for i, v := range vs {
			states[i] = s.With(path, v)
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				results[i], errs[i] = p.eval(ctx, states[i])
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i, r := range results {
			more, err := fn(vs[i], states[i], r)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}
