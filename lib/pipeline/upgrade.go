package pipeline

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/upgrade"
)

// upgradeRequest and upgradeReply cross the sandbox boundary as JSON.
type upgradeRequest struct {
	Env            platform.Environment
	Targets        map[string]any
	MaxEvaluations int
}

type upgradeReply struct {
	Plan        *upgrade.Plan        `json:",omitempty"`
	States      []upgrade.State      `json:",omitempty"`
	Origin      *upgrade.Origin      `json:",omitempty"`
	Unreachable *upgrade.Unreachable `json:",omitempty"`
}

// Upgrade plans env's upgrade to targets (upgrade.ParseTargets) in the
// sandbox within limits, which bound the search with maxEvaluations (0:
// upgrade.DefaultMaxEvaluations), and says where the environment's files
// set the fields its steps change (for upgrade.Write). A target no path
// reaches is an *upgrade.Unreachable.
func Upgrade(ctx context.Context, env platform.Environment, targets map[string]any, maxEvaluations int, limits sandbox.Limits) (*upgrade.Plan, *upgrade.Origin, error) {
	reply, err := run[upgradeReply](ctx, handlerUpgrade, env.Name, limits, upgradeRequest{Env: env, Targets: targets, MaxEvaluations: maxEvaluations})
	if err != nil {
		return nil, nil, err
	}
	if reply.Unreachable != nil {
		return nil, nil, reply.Unreachable
	}
	for i := range reply.Plan.Steps {
		reply.Plan.Steps[i].State = reply.States[i]
	}
	return reply.Plan, reply.Origin, nil
}

func handleUpgrade(ctx context.Context, input json.RawMessage) (any, error) {
	var req upgradeRequest
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	p, err := evaluateValid(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	start, err := p.State()
	if err != nil {
		return nil, err
	}
	fields, err := platform.UpgradeFields()
	if err != nil {
		return nil, err
	}
	rules, err := platform.Rules()
	if err != nil {
		return nil, err
	}
	plan, err := upgrade.New(ctx, req.Env.Name, start, req.Targets, upgrade.Options{
		Fields: fields, Rules: rules, Evaluate: upgrade.Evaluate(req.Env, fields), MaxEvaluations: req.MaxEvaluations,
	})
	var unreachable *upgrade.Unreachable
	if errors.As(err, &unreachable) {
		return upgradeReply{Unreachable: unreachable}, nil
	}
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(fields))
	for i, f := range fields {
		paths[i] = f.Path
	}
	reply := upgradeReply{Plan: plan, Origin: &upgrade.Origin{Start: start, Files: p.Files(), Sources: p.Sources(paths)}}
	for _, s := range plan.Steps {
		reply.States = append(reply.States, s.State)
	}
	return reply, nil
}
