package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/drift"
)

type driftFlags struct {
	sources sourceFlags
	kube    kubeFlags
	correct bool
	adopt   bool
	output  outputFormat
}

func newDriftCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &driftFlags{output: outputFormat{value: "text", allowed: []string{"text", "markdown", "json", "html"}}}
	cmd := &cobra.Command{
		Use:   "drift ENV",
		Short: "Report how the cluster differs from the environment: what, who, when",
		Long: `drift renders the environment (hermetic, as plinth render) and compares
every object with the cluster. The environment's objects are listed once
per kind; an object whose live copy shows plinth owning exactly its
fields, with the same values, is in sync; every other object gets a
server-side dry-run apply, compared with the live object, so server
defaults, normalised quantities, webhook-added fields and status are not
drift. It reports:

  drifted    fields that differ: path, before (what plinth applied) → after
             (what the cluster has), and the field manager, operation and
             time of the change (from managedFields)
  missing    objects of the environment the cluster lacks
  unmanaged  objects labelled as the environment's that its inventory lacks
  stale      inventory objects the environment dropped, not yet pruned

Secret values never appear: a changed key shows <redacted> on both sides.
Fields listed in the environment's drift.ignore are left out. Encrypted
Secrets (ENV/secrets/, docs/secrets.md) are decrypted in memory with the
age key of $SOPS_AGE_KEY_FILE or $SOPS_AGE_KEY, and checked as the
component secrets.

drift writes nothing, unless --correct is given or the environment's
drift.policy is "correct": then the drifted and missing objects, and only
those, are applied again, and, as apply, only to a cluster marked for the
environment (ConfigMap plinth-system/plinth-cluster; --adopt-cluster moves
a cluster marked for another one).

Output: text (terminal), markdown (tickets), json (lib/drift/SCHEMA.md),
html (a self-contained page). Exit status: 0 no drift, 1 drift (also when
corrected), 2 error.`,
		Example: `  # What changed in prod by hand
  plinth drift prod

  # A page for the platform owners
  plinth drift prod -o html > drift-prod.html

  # Put it back
  plinth drift prod --correct`,
		Args: oneEnvironment(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, s := g.progress(s)
			defer p.Close()
			fail := func(err error) error {
				if !interrupted(cmd.Context(), err) {
					fmt.Fprintf(s.Err, "plinth drift: %v\n", err)
				}
				return exitCodeError{exitError}
			}
			cfg, err := f.kube.config()
			if err != nil {
				return fail(err)
			}
			set, err := renderForCluster(cmd.Context(), g, &f.sources, args[0], s, p)
			if err != nil {
				return fail(err)
			}
			c, err := drift.New(cfg)
			if err != nil {
				return fail(err)
			}
			correct := f.correct || set.Settings.Drift.Policy == "correct"
			if f.adopt && !correct {
				return fail(fmt.Errorf("--adopt-cluster moves the cluster to %s when drift writes: it takes --correct (or drift.policy \"correct\")", set.Environment))
			}
			done := p.Start("comparing " + set.Environment + " with the cluster")
			report, err := c.Check(cmd.Context(), set.Environment, set.Components, drift.Options{
				Ignore: set.Settings.Drift.Ignore, Correct: correct, Claim: true, AdoptCluster: f.adopt,
			})
			done()
			if report != nil {
				if werr := writeDriftReport(report, f.output.value, s); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return fail(f.kube.named(err))
			}
			if report.Summary.Drift() {
				return exitCodeError{exitFindings}
			}
			return nil
		},
	}
	f.sources.add(cmd)
	f.kube.add(cmd)
	cmd.Flags().BoolVar(&f.correct, "correct", false, "apply the drifted and missing objects again")
	cmd.Flags().BoolVar(&f.adopt, "adopt-cluster", false, "with --correct: move a cluster marked for another environment (ConfigMap plinth-system/plinth-cluster) to this one")
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text, markdown, json or html")
	return cmd
}

func writeDriftReport(r *drift.Report, format string, s Streams) error {
	switch format {
	case "markdown":
		return r.WriteMarkdown(s.Out)
	case "json":
		return r.WriteJSON(s.Out)
	case "html":
		return r.WriteHTML(s.Out)
	}
	return r.WriteText(s.Out)
}
