package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/policy"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/upgrade"
)

type upgradeFlags struct {
	to             []string
	output         outputFormat
	write          string
	maxEvaluations int
	timeout        time.Duration
	maxMemory      int64
	sources        sourceFlags
}

func newUpgradeCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &upgradeFlags{output: outputFormat{value: "text", allowed: []string{"text", "markdown", "json"}}}
	cmd := &cobra.Command{
		Use:   "upgrade ENV --to NAME=VERSION[,NAME=VERSION...]",
		Short: "Plan a safe upgrade: a sequence of environment states that all pass vet",
		Long: `upgrade plans how to move ENV from the versions it runs to the ones --to
names (kubernetes=1.34.4, kubeflow=26.03, certManager, istio, rancher,
gpu, kubespray, runtime=containerd, ...): the shortest sequence of
environment states in which every state passes vet. Kubernetes moves one
minor per step (kubeadm's and Kubespray's skew policy); other fields move
only when a rule makes the next state fail without it, or a warning a
single change clears, or the target says so, each to the nearest version
that works; a runtime or in-tree storage migration is a step of its own,
just before the Kubernetes step that needs it, with the work on the
cluster the rule names. Everything comes from the schema's matrix and
rules (docs/upgrade.md).

Each step lists the fields it changes, the rules that force each change,
and whether to make it before the Kubernetes upgrade, after it or in the
same window. Each state before a Kubernetes step is rendered from the
vendored sources and its objects checked for API versions the next
Kubernetes removes (a state whose sources are not vendored is said to be
unchecked).

--write DIR writes each step as an environment, DIR/environments/step-NN
(beside where ENV is under the root), with a copy of the layers it needs
and the runbook as DIR/upgrade.md; each step is evaluated again from the
files written and must be the planned state, or nothing is written.
plinth vet --root DIR, render and diff accept them: copy a step over ENV
for its pull request.

The search runs in a child process bounded by --timeout and --max-memory,
and evaluates at most --max-evaluations states.

Exit status: 0 a plan, 1 no path reaches the target (the rule that blocks
it is named), 2 upgrade could not run (an invalid environment, a
downgrade, a bad --to).`,
		Example: `  # The case study's stack to today's versions
  plinth upgrade attempt3-final --to kubernetes=1.34.4,kubeflow=26.03,certManager=v1.19.4,istio=1.29.0,rancher=2.15.0,gpu=v26.7.0

  # The runbook for the change ticket, and one environment per step
  plinth upgrade prod --to kubernetes=1.34.4 -o markdown --write upgrade/`,
		Args: oneEnvironment(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := runUpgrade(cmd.Context(), g, s, f, args[0])
			if err != nil && !interrupted(cmd.Context(), err) {
				fmt.Fprintf(s.Err, "plinth upgrade: %v\n", err)
			}
			if code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&f.to, "to", nil, "target versions, NAME=VERSION, comma-separated or repeated (names: see docs/upgrade.md)")
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text, markdown (a runbook) or json")
	cmd.Flags().StringVar(&f.write, "write", "", "write each step as an environment directory under DIR (a new or empty directory)")
	cmd.Flags().IntVar(&f.maxEvaluations, "max-evaluations", upgrade.DefaultMaxEvaluations, "most environment states the search evaluates")
	limits := pipeline.DefaultLimits()
	cmd.Flags().DurationVar(&f.timeout, "timeout", limits.Timeout, "time budget of the search")
	cmd.Flags().Var(newByteSize(&f.maxMemory, limits.Memory), "max-memory", "memory budget of the search: bytes or a quantity (2Gi, 512Mi)")
	f.sources.add(cmd)
	return cmd
}

func runUpgrade(ctx context.Context, g *globalFlags, s Streams, f *upgradeFlags, arg string) (int, error) {
	if len(f.to) == 0 {
		return exitError, errors.New("--to is required: the versions to reach, e.g. --to kubernetes=1.34.4,kubeflow=26.03")
	}
	envs, err := g.environments([]string{arg})
	if err != nil {
		return exitError, err
	}
	env := envs[0]
	root, err := g.repoRoot()
	if err != nil {
		return exitError, err
	}
	fields, err := platform.UpgradeFields()
	if err != nil {
		return exitError, err
	}
	targets, err := upgrade.ParseTargets(f.to, fields)
	if err != nil {
		return exitError, err
	}
	p, s := g.progress(s)
	defer p.Close()
	done := p.Start("planning " + env.Name)
	plan, origin, err := pipeline.Upgrade(ctx, env, targets, f.maxEvaluations, sandbox.Limits{Timeout: f.timeout, Memory: f.maxMemory})
	done()
	var unreachable *upgrade.Unreachable
	if errors.As(err, &unreachable) {
		if f.output.value == "json" {
			enc := json.NewEncoder(s.Out)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"environment": env.Name, "unreachable": unreachable}); err != nil {
				return exitError, err
			}
		}
		return exitFindings, err
	}
	if err != nil {
		return exitError, err
	}
	var written *upgrade.Written
	if len(plan.Steps) > 0 {
		vendorDir, lockFile := f.sources.resolve(root)
		if written, err = writeSteps(ctx, p, f.write, root, env, plan, *origin, fields, vendorDir, lockFile); err != nil {
			return exitError, err
		}
	}
	switch f.output.value {
	case "json":
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(plan)
	case "markdown":
		err = plan.WriteMarkdown(s.Out)
	default:
		err = plan.WriteText(s.Out)
		if err == nil && written != nil && f.write != "" {
			fmt.Fprintf(s.Out, "\nwrote %d step(s) under %s (%s … %s) and the runbook %s\n", len(written.Steps), f.write,
				written.Steps[0], written.Steps[len(written.Steps)-1], filepath.Join(f.write, "upgrade.md"))
		}
	}
	if err != nil {
		return exitError, err
	}
	return 0, nil
}

// writeSteps writes the plan's steps to out (to a temporary directory
// when out is ""), checks them, renders each state before a Kubernetes
// step for the removed-API check, and with out renames them into place
// beside the runbook.
func writeSteps(ctx context.Context, p *progress, out, root string, env platform.Environment, plan *upgrade.Plan, origin upgrade.Origin, fields []platform.UpgradeField, vendorDir, lockFile string) (*upgrade.Written, error) {
	tmp, err := stepsDir(out)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	done := p.Start("writing and checking the steps")
	written, err := upgrade.Write(tmp, root, env, plan, origin, fields)
	if err == nil {
		err = checkSteps(ctx, tmp, written, plan)
	}
	done()
	if err != nil {
		return nil, err
	}
	removedAPIs(ctx, p, env, tmp, written, plan, vendorDir, lockFile)
	if out == "" {
		return written, nil
	}
	var runbook strings.Builder
	if err := plan.WriteMarkdown(&runbook); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "upgrade.md"), []byte(runbook.String()), 0o644); err != nil {
		return nil, err
	}
	// An empty directory the user made is replaced by the steps.
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("--write %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("--write %s: %w", out, err)
	}
	return written, nil
}

// stepsDir is where the steps are written first: beside --write's
// directory, renamed into place once checked, or a temporary directory.
func stepsDir(write string) (string, error) {
	if write == "" {
		return os.MkdirTemp("", "plinth-upgrade-")
	}
	if entries, err := os.ReadDir(write); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("--write %s: the directory is not empty; plinth upgrade writes only into a new or empty directory", write)
	}
	abs, err := filepath.Abs(write)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return "", err
	}
	return os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-")
}

// checkSteps evaluates each written step from its files, as vet does: it
// must pass and be the state the plan made, or the writing lost something.
func checkSteps(ctx context.Context, dir string, written *upgrade.Written, plan *upgrade.Plan) error {
	for i, rel := range written.Steps {
		env, err := platform.Resolve(dir, filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		got, err := pipeline.Evaluate(ctx, env, pipeline.DefaultLimits())
		if err != nil {
			return err
		}
		for _, f := range got.Findings {
			if f.Severity == platform.SeverityError {
				return fmt.Errorf("step %d as written does not pass vet (a bug of plinth upgrade; please report it): %s", i+1, f)
			}
		}
		if field, ok := upgrade.Same(plan.Steps[i].State, got.State); !ok {
			return fmt.Errorf("step %d as written evaluates to another state than planned (%s): a bug of plinth upgrade; please report it", i+1, field)
		}
	}
	return nil
}

// removedAPIs renders the state before each Kubernetes step and lists the
// objects whose API versions the step's Kubernetes removes.
func removedAPIs(ctx context.Context, p *progress, env platform.Environment, dir string, written *upgrade.Written, plan *upgrade.Plan, vendorDir, lockFile string) {
	for i := range plan.Steps {
		step := &plan.Steps[i]
		if step.Kind != upgrade.StepKubernetes {
			continue
		}
		before := env
		if i > 0 {
			var err error
			if before, err = platform.Resolve(dir, filepath.Join(dir, written.Steps[i-1])); err != nil {
				step.APICheck = err.Error()
				continue
			}
		}
		done := p.Start(fmt.Sprintf("rendering the state before step %d", step.Number))
		set, err := pipeline.Objects(ctx, pipeline.Request{Env: before, VendorDir: vendorDir, LockFile: lockFile}, pipeline.DefaultLimits())
		done()
		if err != nil {
			first, _, _ := strings.Cut(err.Error(), "\n")
			step.APICheck = "the state before the step does not render from " + lockFile + " and its vendored sources"
			if !strings.Contains(first, "not vendored") {
				step.APICheck += ": " + first
			}
			continue
		}
		for _, c := range set.Components {
			step.CheckedObjects += len(c.Objects)
		}
		for _, v := range policy.Check(policy.Facts{Environment: env.Name, KubernetesVersion: step.Kubernetes}, set.Components) {
			if v.Rule == policy.RuleAPIRemoved {
				step.RemovedAPIs = append(step.RemovedAPIs, upgrade.RemovedAPI{Component: v.Component, Object: v.Object.String(), Message: v.Message})
			}
		}
	}
}
