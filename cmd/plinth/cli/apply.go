package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/secrets"
)

type applyFlags struct {
	sources    sourceFlags
	kube       kubeFlags
	dryRun     bool
	prune      bool
	wait       bool
	timeout    time.Duration
	force      bool
	allowEmpty bool
	adopt      bool
	output     outputFormat
}

// kubeFlags select the cluster as kubectl does: --kubeconfig (else
// $KUBECONFIG, else ~/.kube/config) and --context; and the client-side
// rate limit, off unless --kube-api-qps sets one.
type kubeFlags struct {
	kubeconfig string
	context    string
	qps        float32
	burst      int
	// used is the context config used, and server its API server: what a
	// refused cluster is named by.
	used, server string
}

func (f *kubeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	cmd.Flags().StringVar(&f.context, "context", "", "kubeconfig context (default the current one)")
	cmd.Flags().Float32Var(&f.qps, "kube-api-qps", -1, "client-side limit on requests per second to the API server (-1: none, the server's priority and fairness decides)")
	cmd.Flags().IntVar(&f.burst, "kube-api-burst", 0, "requests allowed at once above --kube-api-qps (default twice the QPS)")
}

func (f *kubeFlags) config() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.context})
	cfg, err := loader.ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		// client-go's own message points at KUBERNETES_MASTER, which
		// neither kubectl nor plinth reads.
		looked := "$KUBECONFIG is not set and ~/.kube/config does not exist"
		if env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar); env != "" {
			looked = "$KUBECONFIG (" + env + ") names no file with a cluster"
		} else if home, err := os.UserHomeDir(); err == nil {
			looked = "$KUBECONFIG is not set and " + filepath.Join(home, clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName) + " does not exist"
		}
		return nil, fmt.Errorf("no kubeconfig: %s: pass --kubeconfig FILE, set $KUBECONFIG, or write ~/.kube/config", looked)
	}
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	f.used, f.server = f.context, cfg.Host
	if raw, err := loader.RawConfig(); err == nil && f.used == "" {
		f.used = raw.CurrentContext
	}
	// No client-side throttling by default: every Kubernetes plinth
	// supports has API Priority and Fairness on (beta and enabled since
	// 1.20, GA in 1.29), which queues and sheds load on the server, and
	// SIG API Machinery advises relying on it; controller-runtime made the
	// same change (kubernetes-sigs/controller-runtime#3119, QPS -1 in its
	// config getters) and Flux turns its limiter off when the server
	// answers with APF's headers (fluxcd/pkg#269). A fixed client limit (kubectl's 50/300) made a first
	// apply of 400 objects wait on the client, 4 requests each. A server
	// that needs a client limit gets one with --kube-api-qps.
	switch {
	case f.qps <= 0:
		cfg.QPS, cfg.Burst = -1, -1
	case f.burst <= 0:
		cfg.QPS, cfg.Burst = f.qps, int(2*f.qps)
	default:
		cfg.QPS, cfg.Burst = f.qps, f.burst
	}
	return cfg, nil
}

// named adds to a refusal of a cluster marked for another environment
// which cluster the kubeconfig pointed at.
func (f *kubeFlags) named(err error) error {
	if refused, ok := errors.AsType[*clustermark.MismatchError](err); ok {
		refused.Cluster = fmt.Sprintf("context %q (server %s)", f.used, f.server)
	}
	return err
}

func newApplyCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &applyFlags{output: outputFormat{value: "text", allowed: []string{"text", "json"}}}
	cmd := &cobra.Command{
		Use:   "apply ENV",
		Short: "Apply an environment to its cluster with server-side apply",
		Long: `apply renders the environment (hermetic, as plinth render) and puts it into
the cluster with server-side apply, field manager "plinth":

  1. the cluster's identity: a cluster marked for another environment
     (ConfigMap plinth-system/plinth-cluster) is refused, naming both, and
     nothing is written, unless --adopt-cluster moves it to this one;
  2. plan: the environment's objects in the cluster are listed once per
     kind; an object whose live copy shows plinth owning exactly its
     fields, with the same values, is unchanged; every other object is
     applied as a server-side dry run; if any fails (invalid, a field
     another manager owns, an immutable field, a missing namespace) every
     failure is listed and nothing is written;
  3. an unmarked cluster is marked for ENV; the inventory (ConfigMap
     plinth-system/plinth-inventory-ENV) records what this apply may
     create, before it creates anything;
  4. one server-side apply per new or changed object: CRDs, Namespaces and
     ClusterRoles first, then the components in dependsOn order, each
     layer waited for with --wait;
  5. with --prune, objects of the inventory the environment no longer has
     are deleted, except those annotated plinth.dev/prune: disabled;
  6. the inventory records the new set.

Encrypted Secrets (environments/ENV/secrets/*.yaml, sops with age;
docs/secrets.md) are decrypted in memory, before anything is rendered or
planned, with the age key of $SOPS_AGE_KEY_FILE (or $SOPS_AGE_KEY), and
applied as the component secrets; a missing or wrong key fails naming the
file, and nothing is written.

Progress goes to stderr, a summary per component to stdout.

Exit status: 0 applied (or planned), 1 the plan refused objects (nothing
written), 2 apply could not run or failed part way.`,
		Example: `  # What would change in prod, with diffs; writes nothing
  plinth apply prod --dry-run --prune

  # Apply prod, delete what left it, wait for every layer to be ready
  plinth apply prod --prune --wait --timeout 10m

  # Another cluster of the kubeconfig
  plinth apply okd --context okd-admin`,
		Args: oneEnvironment(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd, g, f, args[0], s)
		},
	}
	f.sources.add(cmd)
	f.kube.add(cmd)
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the plan (create, change with diff, delete) and write nothing")
	cmd.Flags().BoolVar(&f.prune, "prune", false, "delete objects of the inventory that the environment no longer has")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait for each layer of components to be ready before the next")
	cmd.Flags().DurationVar(&f.timeout, "timeout", apply.DefaultOptions().Timeout, "bound on each wait (CRDs, namespaces, a layer)")
	cmd.Flags().BoolVar(&f.force, "force", false, "delete and recreate objects whose change touches an immutable field")
	cmd.Flags().BoolVar(&f.allowEmpty, "allow-empty", false, "allow an environment without objects (with --prune: delete everything)")
	cmd.Flags().BoolVar(&f.adopt, "adopt-cluster", false, "move a cluster marked for another environment (ConfigMap plinth-system/plinth-cluster) to this one")
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text or json")
	return cmd
}

func runApply(cmd *cobra.Command, g *globalFlags, f *applyFlags, arg string, s Streams) error {
	p, s := g.progress(s)
	defer p.Close()
	fail := func(code int, err error) error {
		if !interrupted(cmd.Context(), err) {
			fmt.Fprintf(s.Err, "plinth apply: %v\n", err)
		}
		return exitCodeError{code}
	}
	cfg, err := f.kube.config()
	if err != nil {
		return fail(exitError, err)
	}
	set, err := renderForCluster(cmd.Context(), g, &f.sources, arg, s, p)
	if err != nil {
		return fail(exitError, err)
	}
	env := set.Environment

	a, err := apply.New(cfg)
	if err != nil {
		return fail(exitError, err)
	}
	verb := "applying "
	if f.dryRun {
		verb = "planning "
	}
	done := p.Start(verb + env)
	res, err := a.Apply(cmd.Context(), env, set.Components, apply.Options{
		DryRun: f.dryRun, Prune: f.prune, AllowEmpty: f.allowEmpty, Wait: f.wait, Timeout: f.timeout,
		Force: f.force, Adopt: set.Settings.Apply.Adopt, Claim: true, AdoptCluster: f.adopt,
		Progress: func(line string) { fmt.Fprintf(s.Err, "%s: %s\n", env, line) },
	})
	done()
	if werr := writeApplyResult(s.Out, f.output.value, res); werr != nil && err == nil {
		err = werr
	}
	var invalid *apply.ValidationError
	switch {
	case errors.As(err, &invalid):
		return fail(exitFindings, err)
	case err != nil:
		return fail(exitError, f.kube.named(err))
	}
	return nil
}

// renderForCluster renders the environment arg names (as plinth render)
// into its manifest set, with the settings apply and drift take from it,
// and its encrypted Secrets decrypted, as the component secrets.
func renderForCluster(ctx context.Context, g *globalFlags, sources *sourceFlags, arg string, s Streams, p *progress) (*pipeline.Set, error) {
	envs, err := g.environments([]string{arg})
	if err != nil {
		return nil, err
	}
	// The encrypted Secrets are decrypted first: a missing or wrong key
	// fails before anything is rendered, planned or written.
	encrypted, files, err := decryptSecrets(envs[0])
	if err != nil {
		return nil, err
	}
	root, _ := g.repoRoot()
	vendorDir, lockFile := sources.resolve(root)
	fmt.Fprintf(s.Err, "rendering %s\n", envs[0].Name)
	defer p.Start("rendering " + envs[0].Name)()
	set, err := pipeline.Objects(ctx, pipeline.Request{Env: envs[0], VendorDir: vendorDir, LockFile: lockFile}, pipeline.DefaultLimits())
	if err != nil {
		return nil, err
	}
	if set.Components, err = secrets.With(set.Components, encrypted, files); err != nil {
		return nil, fmt.Errorf("environment %s: %w", envs[0].Name, err)
	}
	return set, nil
}

// writeApplyResult prints the plan's changes (dry run) and a summary per
// component, or the result as JSON.
func writeApplyResult(w io.Writer, format string, res *apply.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if len(res.Changes) == 0 {
		return nil
	}
	if res.DryRun {
		verbs := map[apply.Action]string{apply.Created: "create", apply.Configured: "change", apply.Recreated: "recreate", apply.Deleted: "delete", apply.Kept: "keep"}
		for _, c := range res.Changes {
			verb, ok := verbs[c.Action]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "%s %s (%s)", verb, c.ID, c.Component)
			if c.Reason != "" {
				fmt.Fprintf(w, ": %s", c.Reason)
			}
			fmt.Fprintln(w)
			if c.SecretKeys != nil {
				fmt.Fprintf(w, "  secret keys changed: %s\n", strings.Join(append(append(c.SecretKeys.Added, c.SecretKeys.Changed...), c.SecretKeys.Removed...), ", "))
			}
			for line := range strings.Lines(c.Diff) {
				fmt.Fprintf(w, "  %s", line)
			}
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	actions := []apply.Action{apply.Created, apply.Configured, apply.Unchanged, apply.Recreated, apply.Deleted, apply.Kept}
	fmt.Fprint(tw, "COMPONENT")
	for _, a := range actions {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(string(a)))
	}
	fmt.Fprintln(tw)
	names, counts := res.Summary()
	for _, n := range names {
		fmt.Fprint(tw, n)
		for _, a := range actions {
			fmt.Fprintf(tw, "\t%d", counts[n][a])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
