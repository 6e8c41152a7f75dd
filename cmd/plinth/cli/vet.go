package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/sandbox"
)

// RuleBudget is the rule id of a finding that says the evaluation of an
// environment was stopped by its time or memory budget.
const RuleBudget = "BUDGET"

type vetFlags struct {
	output    outputFormat
	timeout   time.Duration
	maxMemory int64
}

func newVetCommand(g *globalFlags, s Streams) *cobra.Command {
	limits := sandbox.DefaultLimits()
	f := &vetFlags{output: outputFormat{value: "text", allowed: []string{"text", "json"}}}
	cmd := &cobra.Command{
		Use:   "vet [ENV...]",
		Short: "Validate environments against the schema and the compatibility rules",
		Long: `vet checks each environment (all of them when none is named) against
plinth's schema and compatibility matrix, before anything is installed.

Every finding names its file:line:col, the CUE path, the rule id, what to
change and the rule's source. Warnings do not fail vet. Each environment
is evaluated in a child process bounded by --timeout and --max-memory, so
hostile CUE cannot hang or kill plinth.

The encrypted Secrets of environments/ENV/secrets/*.yaml are checked
without a key (rule SECRET): one v1 Secret per file, with sops metadata
for age, every value of data and stringData encrypted (docs/secrets.md).

ENV is an environment's name or directory; the environments directory
itself (plinth vet environments/, or . inside it) stands for every
environment under it. Outside an environments repository (no
environments/ in the working directory or a parent), vet says so and
suggests --root DIR or plinth init DIR.

Exit status: 0 all valid, 1 an environment has errors, 2 vet could not run.`,
		Example: `  # Validate every environment of the repository
  plinth vet

  # Validate prod only, as JSON for a pipeline
  plinth vet prod -o json

  # Validate an environment directory of another repository
  plinth vet --root ../platform-envs ../platform-envs/environments/staging`,
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth vet: %v\n", err)
				return exitCodeError{exitError}
			}
			reports := vetAll(cmd.Context(), envs, sandbox.Limits{Timeout: f.timeout, Memory: f.maxMemory})
			return printVet(cmd.Context(), s, f.output.value, reports)
		},
	}
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text or json")
	cmd.Flags().DurationVar(&f.timeout, "timeout", limits.Timeout, "time budget for evaluating one environment")
	cmd.Flags().Var(newByteSize(&f.maxMemory, limits.Memory), "max-memory", "memory budget for evaluating one environment: bytes or a quantity (2Gi, 512Mi)")
	return cmd
}

// vetReport is the result of vetting one environment; its JSON form is
// part of vet's documented output (docs/cli.md).
type vetReport struct {
	Environment string             `json:"environment"`
	Dir         string             `json:"dir"`
	Valid       bool               `json:"valid"`
	Findings    []platform.Finding `json:"findings"`
	// err is a failure to vet at all (not a finding), e.g. an unreadable directory.
	err error
}

// vetAll evaluates the environments concurrently, each in its own sandbox.
func vetAll(ctx context.Context, envs []platform.Environment, limits sandbox.Limits) []vetReport {
	reports := make([]vetReport, len(envs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, env := range envs {
		g.Go(func() error {
			reports[i] = vetOne(ctx, env, limits)
			return nil
		})
	}
	g.Wait() // every goroutine returns nil: errors are kept per item
	return reports
}

func vetOne(ctx context.Context, env platform.Environment, limits sandbox.Limits) vetReport {
	r := vetReport{Environment: env.Name, Dir: env.Dir, Findings: []platform.Finding{}}
	findings, err := pipeline.Vet(ctx, env, limits)
	var budget *sandbox.BudgetError
	switch {
	case errors.As(err, &budget):
		findings = []platform.Finding{{
			Environment: env.Name,
			Rule:        RuleBudget,
			Severity:    platform.SeverityError,
			Position:    platform.Position{File: env.RelDir()},
			Detail:      budget.Reason,
			Message:     "simplify the environment's CUE (cycles, huge lists, exponential disjunctions) or raise --timeout/--max-memory",
		}}
	case err != nil:
		r.err = fmt.Errorf("environment %s: %w", env.Name, err)
		return r
	}
	r.Findings = append(r.Findings, findings...)
	secretFound, err := secretFindings(env)
	if err != nil {
		r.err = fmt.Errorf("environment %s: %w", env.Name, err)
		return r
	}
	r.Findings = append(r.Findings, secretFound...)
	r.Valid = true
	for _, f := range r.Findings {
		if f.Severity == platform.SeverityError {
			r.Valid = false
		}
	}
	return r
}

func printVet(ctx context.Context, s Streams, format string, reports []vetReport) error {
	var errs, warns int
	failed := false
	for _, r := range reports {
		if r.err != nil {
			failed = true
			if !interrupted(ctx, r.err) {
				fmt.Fprintf(s.Err, "plinth vet: %v\n", r.err)
			}
		}
		for _, f := range r.Findings {
			if f.Severity == platform.SeverityError {
				errs++
			} else {
				warns++
			}
		}
	}
	switch format {
	case "json":
		out := struct {
			Environments []vetReport `json:"environments"`
			Errors       int         `json:"errors"`
			Warnings     int         `json:"warnings"`
		}{Environments: reports, Errors: errs, Warnings: warns}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	default:
		for _, r := range reports {
			for _, f := range r.Findings {
				fmt.Fprintln(s.Err, f)
				if f.Source != "" {
					fmt.Fprintf(s.Err, "\tsource: %s\n", f.Source)
				}
			}
		}
		for _, r := range reports {
			status := "ok"
			if r.err != nil {
				status = "not checked"
			} else if !r.Valid {
				status = "invalid"
			}
			fmt.Fprintf(s.Err, "%-8s %s\n", status, r.Environment)
		}
		fmt.Fprintf(s.Err, "vet: %d environment(s), %d error(s), %d warning(s)\n", len(reports), errs, warns)
	}
	switch {
	case failed:
		return exitCodeError{exitError}
	case errs > 0:
		return exitCodeError{exitFindings}
	}
	return nil
}
