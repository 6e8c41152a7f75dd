package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/render"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/secrets"
)

// defaultDeployDir is where render writes, relative to the repository's root.
const defaultDeployDir = "deploy"

// sourceFlags locate the vendored sources; render, images and vendor share them.
type sourceFlags struct {
	vendorDir string
	lockFile  string
}

func (f *sourceFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.vendorDir, "vendor-dir", "", "directory of vendored sources (default <root>/"+pipeline.VendorDir+")")
	cmd.Flags().StringVar(&f.lockFile, "lock", "", "lock file pinning the sources (default <root>/"+pipeline.LockFile+")")
}

func (f *sourceFlags) resolve(root string) (vendorDir, lockFile string) {
	vendorDir, lockFile = f.vendorDir, f.lockFile
	if vendorDir == "" {
		vendorDir = filepath.Join(root, pipeline.VendorDir)
	}
	if lockFile == "" {
		lockFile = filepath.Join(root, pipeline.LockFile)
	}
	a, _ := filepath.Abs(vendorDir)
	b, _ := filepath.Abs(lockFile)
	return a, b
}

// renderOne renders env to files as render does, without writing them,
// under a progress line: what images and mirror read the image list of.
func (f *sourceFlags) renderOne(ctx context.Context, g *globalFlags, p *progress, env platform.Environment) (*pipeline.Output, error) {
	root, _ := g.repoRoot()
	vendorDir, lockFile := f.resolve(root)
	done := p.Start("rendering " + env.Name)
	defer done()
	return pipeline.Files(ctx, pipeline.Request{Env: env, VendorDir: vendorDir, LockFile: lockFile}, pipeline.DefaultLimits())
}

type renderFlags struct {
	sources sourceFlags
	out     string
	check   bool
	noCache bool
	strict  bool
	verbose bool
	timeout time.Duration
	memory  int64
}

func newRenderCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &renderFlags{}
	limits := pipeline.DefaultLimits()
	cmd := &cobra.Command{
		Use:   "render [ENV...]",
		Short: "Render environments to Kubernetes manifests in deploy/<env>/",
		Long: `render turns each environment (all of them when none is named) into plain,
deterministic YAML: deploy/<env>/<component>.yaml per component, in apply
order, a kustomization.yaml listing them in dependency order, and images.txt.

Render is hermetic: sources come only from the vendor directory, verified
against plinth.lock (run plinth vendor first); no network, no programs.
Every image is rewritten to network.mirrors (docs/airgap.md). Policy checks
(APIs the target Kubernetes no longer serves, image references off the
mirror found by a scan of every string, hosts outside
network.allowedEgress) fail the render. The output of an
environment is replaced atomically: a failed render leaves it untouched.

Encrypted Secrets (environments/ENV/secrets/*.yaml, sops with age) are
checked as vet checks them, never decrypted and never written: one line
on stderr counts them; plinth apply and the controller apply them.

Exit status: 0 rendered (or up to date with --check), 1 an environment
failed or, with --check, is stale, 2 render could not run.`,
		Example: `  # Render every environment into deploy/
  plinth render

  # In CI: fail when deploy/ is not what the environments render to
  plinth render --check

  # Render prod somewhere else
  plinth render prod --out /tmp/deploy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth render: %v\n", err)
				return exitCodeError{exitError}
			}
			root, _ := g.repoRoot()
			vendorDir, lockFile := f.sources.resolve(root)
			outDir := f.out
			if outDir == "" {
				outDir = filepath.Join(root, defaultDeployDir)
			}
			if !f.check {
				if err := checkOutput(platform.Layout{Root: root, VendorDir: vendorDir, LockFile: lockFile}, outDir, envs); err != nil {
					fmt.Fprintf(s.Err, "plinth render: %v\n", err)
					return exitCodeError{exitError}
				}
			}
			p, s := g.progress(s)
			defer p.Close()
			failed := false
			for _, env := range envs {
				done := p.Start("rendering " + env.Name)
				out, err := pipeline.Files(cmd.Context(), pipeline.Request{Env: env, VendorDir: vendorDir, LockFile: lockFile, NoCache: f.noCache, Strict: f.strict}, sandbox.Limits{Timeout: f.timeout, Memory: f.memory})
				done()
				if interrupted(cmd.Context(), err) {
					return err // Run says so and exits 128+signo
				}
				if err != nil {
					failed = true
					fmt.Fprintf(s.Err, "plinth render: %v\n", err)
					continue
				}
				// Encrypted Secrets are never decrypted, nor written: apply
				// and the controller decrypt them in memory.
				encrypted, err := loadSecrets(env)
				if err != nil {
					failed = true
					fmt.Fprintf(s.Err, "plinth render: %v\n", err)
					continue
				}
				for _, w := range render.SummarizeWarnings(out.Warnings, f.verbose) {
					fmt.Fprintf(s.Err, "warning: %s: %s\n", env.Name, w)
				}
				dir := filepath.Join(outDir, env.Name)
				if f.check {
					stale, err := render.Stale(dir, out.Files)
					if err != nil {
						return err
					}
					for _, name := range stale {
						failed = true
						fmt.Fprintf(s.Err, "stale: %s\n", filepath.Join(dir, name))
					}
					if len(stale) == 0 {
						fmt.Fprintf(s.Err, "up to date: %s\n", dir)
					}
					continue
				}
				if err := render.Write(dir, out.Files); err != nil {
					failed = true
					fmt.Fprintf(s.Err, "plinth render: environment %s: writing %s: %v\n", env.Name, dir, err)
					continue
				}
				fmt.Fprintf(s.Err, "rendered %s: %d component(s), %d image(s) -> %s\n", env.Name, out.Components, len(out.Images), dir)
				if len(encrypted) > 0 {
					fmt.Fprintf(s.Err, "%s: %d encrypted Secret(s) in %s/%s/ not rendered: plinth apply and the controller decrypt and apply them\n", env.Name, len(encrypted), env.RelDir(), secrets.Dir)
				}
			}
			if failed {
				return exitCodeError{exitFindings}
			}
			return nil
		},
	}
	f.sources.add(cmd)
	cmd.Flags().StringVar(&f.out, "out", "", "output directory (default <root>/"+defaultDeployDir+")")
	cmd.Flags().BoolVar(&f.check, "check", false, "write nothing; fail naming every file that differs from a fresh render")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "render everything again instead of reusing the output of an identical earlier render")
	cmd.Flags().BoolVarP(&f.verbose, "verbose", "v", false, "list every warning, kustomize's deprecation notes about upstream kustomizations included (by default one line sums them up)")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "fail, instead of warning, on chart templates whose output changes on every render (randAlphaNum, now, genCA, ...)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", limits.Timeout, "time budget for rendering one environment")
	cmd.Flags().Var(newByteSize(&f.memory, limits.Memory), "max-memory", "memory budget for rendering one environment: bytes or a quantity (2Gi, 512Mi)")
	return cmd
}

// checkOutput refuses, before anything is rendered, an output directory
// that is a file or overlaps the repository's sources, itself or through
// an environment's directory under it (a symlink, say), and environment
// directories under it that render did not write.
func checkOutput(layout platform.Layout, out string, envs []platform.Environment) error {
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s is a file, not a directory", out)
	}
	if err := layout.CheckOutput(out, ""); err != nil {
		return err
	}
	for _, env := range envs {
		dir := filepath.Join(out, env.Name)
		if err := errors.Join(layout.CheckOutput(dir, ""), render.Replaceable(dir)); err != nil {
			return fmt.Errorf("environment %s: %w", env.Name, err)
		}
	}
	return nil
}
