package cli

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/notify"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

type controllerFlags struct {
	kube           kubeFlags
	metricsAddr    string
	probeAddr      string
	reportAddr     string
	leaderElect    bool
	leaderNS       string
	workDir        string
	notifyConfig   string
	maxConcurrency int
	gitTimeout     time.Duration
	shard          string
	// render bounds each environment's render in the sandbox child.
	render sandbox.Limits
}

func newControllerCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &controllerFlags{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the reconciler: keep Environments (plinth.dev/v1alpha1) applied",
		Long: `controller runs plinth's reconciler in the cluster (see docs/controller.md).
For every Environment object it follows a git repository, renders the
environment on each new revision (in the bounded sandbox, as plinth render),
applies it (and prunes, per spec), checks drift every driftInterval and
reports or corrects it per driftPolicy. Status conditions (Ready,
Reconciling, Stalled, Drifted), Kubernetes Events, Prometheus metrics on
--metrics-bind-address, health probes on --health-probe-bind-address, the
latest drift report per environment on --report-bind-address
(/drift/<env>, /drift/<env>.json), and notifications to the webhooks of
--notify-config. With --leader-elect (the default) only one replica works
at a time.

With --shard NAME it reconciles only the Environments labelled
plinth.dev/shard=NAME, and elects its leader on its own Lease
(plinth-controller-NAME), so the shards' controllers work side by side;
without it, only the Environments without that label (Lease
plinth-controller). An Environment relabelled to another shard leaves
this controller, which forgets it (memory and checkouts) and deletes
nothing in the cluster.`,
		Example: `  # In the cluster (the Deployment of the plinth component runs this)
  plinth controller --leader-elect

  # Against a cluster from a kubeconfig, for a try-out
  plinth controller --kubeconfig ~/.kube/config --leader-elect=false

  # The controller of shard batch (Environments labelled plinth.dev/shard=batch)
  plinth controller --leader-elect --shard batch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := runController(cmd.Context(), f, s); err != nil {
				if !interrupted(cmd.Context(), err) {
					fmt.Fprintf(s.Err, "plinth controller: %v\n", err)
				}
				return exitCodeError{exitError}
			}
			return nil
		},
		// SIGTERM is how a controller's pod is stopped: a clean shutdown
		// then exits 0, not 143.
		Annotations: map[string]string{annotationSignals: signalsStop},
	}
	f.kube.add(cmd)
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables)")
	cmd.Flags().StringVar(&f.probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	cmd.Flags().StringVar(&f.reportAddr, "report-bind-address", ":8082", "address serving the latest drift reports (empty disables)")
	cmd.Flags().BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader: only one replica reconciles")
	cmd.Flags().StringVar(&f.leaderNS, "leader-election-namespace", inventory.Namespace, "namespace of the leader election lease")
	cmd.Flags().StringVar(&f.workDir, "work-dir", filepath.Join(os.TempDir(), "plinth-controller"), "directory for git checkouts")
	cmd.Flags().StringVar(&f.notifyConfig, "notify-config", "", "YAML file listing webhook targets (name, url, format: json|slack|alertmanager, optional ca or caFile); mount it from a Secret")
	cmd.Flags().IntVar(&f.maxConcurrency, "concurrency", 2, "environments reconciled at once")
	cmd.Flags().DurationVar(&f.gitTimeout, "git-timeout", reconciler.DefaultGitTimeout, "bound on asking a git server for its head")
	cmd.Flags().StringVar(&f.shard, "shard", "", "reconcile only the Environments labelled "+reconciler.ShardLabel+"=`NAME`, with a leader election of its own (empty: those without the label)")
	limits := pipeline.DefaultLimits()
	cmd.Flags().DurationVar(&f.render.Timeout, "render-timeout", limits.Timeout, "time budget for rendering one environment")
	cmd.Flags().Var(newByteSize(&f.render.Memory, limits.Memory), "render-max-memory", "memory budget for rendering one environment: bytes or a quantity (2Gi, 512Mi)")
	return cmd
}

func runController(ctx context.Context, f *controllerFlags, s Streams) error {
	ctrl.SetLogger(zap.New(zap.WriteTo(s.Err), zap.UseDevMode(false)))
	// The cache holds only the shard's Environments: the controller
	// cannot see, let alone reconcile, another shard's.
	shardCache, err := reconciler.ShardCache(f.shard)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	cfg, err := f.kube.config()
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1.AddToScheme(scheme); err != nil {
		return err
	}
	targets, err := readNotifyConfig(f.notifyConfig)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: f.metricsAddr},
		HealthProbeBindAddress: f.probeAddr,
		Cache:                  shardCache,
		// Secrets (git credentials, age keys, kubeconfigs) are read when a
		// pass needs one, never cached: a cache would list and watch every
		// Secret of the cluster, Helm's releases of up to 1 MiB each among
		// them, into the controller's memory, and need list and watch
		// rights on all of them (the ClusterRole plinth-controller grants get).
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        reconciler.LeaderElectionID(f.shard),
		LeaderElectionNamespace: f.leaderNS,
		// A leader stopped as pods are (SIGTERM) hands the Lease over as
		// it exits, instead of leaving the next replica 15 s without a
		// leader. Safe because the process ends when the manager stops:
		// runController returns mgr.Start's result to main.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return err
	}
	reports := &reconciler.Reports{}
	r := &reconciler.Reconciler{
		Client:       mgr.GetClient(),
		Config:       cfg,
		RenderLimits: f.render,
		WorkDir:      f.workDir,
		Events:       mgr.GetEventRecorder("plinth-controller"),
		Notifier:     &notify.Notifier{},
		Targets:      targets,
		Reports:      reports,
		Metrics:      reconciler.NewMetrics(metrics.Registry),
		Concurrency:  f.maxConcurrency,
		GitTimeout:   f.gitTimeout,
		Shard:        f.shard,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	if f.reportAddr != "" {
		srv := &http.Server{Addr: f.reportAddr, Handler: reports, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			_ = srv.Close()
		}()
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				logr.FromContextOrDiscard(ctx).Error(err, "drift report server")
			}
		}()
	}
	return mgr.Start(ctx)
}

// readNotifyConfig reads the webhook targets: a YAML list of {name, url,
// format, ca or caFile}, each checked (its CA read) before the controller
// starts.
func readNotifyConfig(path string) ([]notify.Target, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notify config: %w", err)
	}
	var targets []notify.Target
	if err := yaml.UnmarshalStrict(data, &targets); err != nil {
		return nil, fmt.Errorf("notify config %s: %w", path, err)
	}
	for _, t := range targets {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("notify config %s: %w", path, err)
		}
	}
	return targets, nil
}
