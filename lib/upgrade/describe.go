package upgrade

import (
	"context"
	"fmt"
	"slices"

	"github.com/plinth-platform/plinth/lib/platform"
)

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
			st.Changes = slices.Insert(st.Changes, 0, c) // Kubernetes first, then the fields in path order
			continue
		}
		// The rules b without this change violates are why it is made.
		without := b.With(f.Path, from)
		if _, set := a.Get(f.Path); !set {
			without = b.Without(f.Path)
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
	return st, nil
}
