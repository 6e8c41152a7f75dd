package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/gitrepo"
	"github.com/plinth-platform/plinth/lib/notify"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/sandbox"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// Renderer renders an environment of a checked-out revision into its
// manifest set.
type Renderer func(ctx context.Context, req pipeline.Request) (*pipeline.Set, error)

// DefaultGitTimeout bounds asking a git server for its head when the
// Reconciler sets no GitTimeout.
const DefaultGitTimeout = time.Minute

// defaultTimeout bounds a reconcile (fetch, render, apply, drift check)
// when the Environment sets no spec.timeout.
const defaultTimeout = 10 * time.Minute

// Reconciler reconciles Environments.
type Reconciler struct {
	// Client reads Environments and Secrets and writes status.
	Client client.Client
	// Config is the cluster the controller runs in: apply and drift write
	// to it, unless an Environment names another in spec.kubeConfig.
	Config *rest.Config
	// Render renders a checked-out revision; nil is what plinth
	// controller runs: lib/pipeline in its sandbox child within
	// RenderLimits (zero: pipeline.DefaultLimits), so an environment over
	// its budget fails alone. Tests wrap pipeline.Objects to count or
	// time renders.
	Render       Renderer
	RenderLimits sandbox.Limits
	// WorkDir holds the checkouts, one per Environment.
	WorkDir string
	// Events records Kubernetes Events on the Environment (nil: none).
	Events events.EventRecorder
	// Notifier and Targets send drift and failure notifications.
	Notifier *notify.Notifier
	Targets  []notify.Target
	// Reports keeps the latest drift report per environment (nil: none).
	Reports *Reports
	// Metrics are updated when set.
	Metrics *Metrics
	// Now is the clock (tests).
	Now func() time.Time
	// GitTimeout bounds asking the git server for the head (zero:
	// DefaultGitTimeout),
	// within the reconcile's own timeout: a server that never answers
	// (a proxy dropping packets) must not hold a worker for all of it.
	GitTimeout time.Duration
	// Concurrency is how many Environments are reconciled at once (at
	// least 1): many environments due together queue instead of running
	// all at once against the API server and the render sandbox.
	Concurrency int
	// Shard is the shard whose Environments this reconciler owns (""
	// the unlabelled ones; see ShardCache): others are skipped.
	Shard string

	mu    sync.Mutex
	state map[types.NamespacedName]*envState
}

// envState is what the controller remembers between reconciles.
type envState struct {
	// environment is the Environment's spec.environment: what its metrics
	// and drift report are named by.
	environment string
	// checkout is the directory of the last fetched revision.
	checkout, revision string
	rendered           *pipeline.Set
	// applied and generation are the revision and spec generation this
	// controller last applied: what it has done, whatever a cached read
	// of the status says (the next pass may start before the cache has
	// the status this one wrote).
	applied    string
	appliedAt  time.Time
	generation int64
	inventory  *v1.InventorySummary
	nextDrift  time.Time
	lastDrift  *drift.Summary
	// stalled is "<generation>/<revision>" of a terminal failure: nothing
	// is retried until one of them changes.
	stalled string
	// target is the kubeconfig the applier and checker were made for
	// (a hash; empty: the controller's own cluster).
	target string
	// applier and checker are made on first use and serve every pass.
	applier *apply.Applier
	checker *drift.Checker
}

// SetupWithManager registers the reconciler with mgr. An Environment is
// reconciled when it appears, its spec changes (its generation) or it
// goes, and then every interval (RequeueAfter): not on its own status
// writes, which queued one more pass (a git ls-remote) after every drift
// check and every apply (bench/fleet.sh: 7.5 passes per Environment a
// minute at a 10 s interval instead of 6).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1.Environment{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).Named("environment").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency)}).
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// stateOf returns what the controller remembers of the Environment key,
// whose spec.environment is environment (under the lock: forget reads it).
func (r *Reconciler) stateOf(key types.NamespacedName, environment string) *envState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		r.state = map[types.NamespacedName]*envState{}
	}
	if r.state[key] == nil {
		r.state[key] = &envState{}
	}
	r.state[key].environment = environment
	return r.state[key]
}

// forget drops what the controller remembers of a deleted Environment,
// and its checkouts: a controller that outlives many Environments keeps
// neither their memory nor their disk.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	var env string
	if st := r.state[key]; st != nil {
		env = st.environment
	}
	delete(r.state, key)
	// Its metrics and drift report go too, unless another Environment
	// (in another namespace) keeps the same environment.
	shared := slices.ContainsFunc(slices.Collect(maps.Values(r.state)), func(st *envState) bool { return st.environment == env })
	r.mu.Unlock()
	if env != "" && !shared {
		r.Metrics.forget(env)
		r.Reports.forget(env)
	}
	if r.WorkDir != "" {
		os.RemoveAll(filepath.Join(r.WorkDir, key.Namespace, key.Name))
	}
}

// Reconcile is one pass of the story for one Environment: the remote
// head; on a new revision (or spec) fetch, render and apply it; Ready;
// the drift check when due. A stage that fails returns a *stageError,
// which fail records, in one place, on the way out.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	var env v1.Environment
	if err := r.Client.Get(ctx, req.NamespacedName, &env); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.otherShard(ctx, &env) {
		return ctrl.Result{}, nil
	}
	if env.Spec.Suspend {
		log.FromContext(ctx).Info("suspended")
		return ctrl.Result{}, nil
	}
	start := r.now()
	defer func() { r.Metrics.observe(env.Spec.Environment, start, r.now(), err) }()
	p := r.newPass(&env, req.NamespacedName)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// Deferred calls run last first: a failed stage is recorded, then
	// the status written (also when the pass ran out of time), then the
	// metrics observed.
	defer func() {
		if serr := p.writeLastStatus(ctx); serr != nil && err == nil {
			err = serr
		}
	}()
	defer func() {
		if failed, ok := errors.AsType[*stageError](err); ok {
			result, err = p.fail(ctx, failed)
		}
	}()

	if err := p.lookUpHead(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if p.stalled() {
		return p.afterInterval(), nil
	}
	if p.newRevision() {
		if err := p.progressing(ctx); err != nil {
			return ctrl.Result{}, err
		}
		if err := p.fetch(ctx); err != nil {
			return ctrl.Result{}, err
		}
		if err := p.render(ctx); err != nil {
			return ctrl.Result{}, err
		}
		if err := p.apply(ctx); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := p.ready(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if err := p.checkDrift(ctx); err != nil {
		return ctrl.Result{}, err
	}
	return p.nextPass(), nil
}

// render renders a checkout's environment with Render, or as plinth
// controller does: the pipeline in its sandbox child within RenderLimits.
func (r *Reconciler) render(ctx context.Context, req pipeline.Request) (*pipeline.Set, error) {
	if r.Render != nil {
		return r.Render(ctx, req)
	}
	limits := r.RenderLimits
	if limits == (sandbox.Limits{}) {
		limits = pipeline.DefaultLimits()
	}
	return pipeline.Objects(ctx, req, limits)
}

// head asks the git server for the commit ref names, within GitTimeout.
func (r *Reconciler) head(ctx context.Context, url string, ref gitrepo.Ref, auth gitrepo.Auth) (string, error) {
	timeout := r.GitTimeout
	if timeout <= 0 {
		timeout = DefaultGitTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	head, err := gitrepo.Head(hctx, url, ref, auth)
	if err != nil && hctx.Err() != nil && ctx.Err() == nil {
		return "", fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return head, err
}

func (r *Reconciler) gitAuth(ctx context.Context, env *v1.Environment) (gitrepo.Auth, error) {
	if env.Spec.Git.SecretRef == nil {
		return gitrepo.Auth{}, nil
	}
	secret, err := r.secret(ctx, "secret", env.Namespace, env.Spec.Git.SecretRef.Name)
	if err != nil {
		return gitrepo.Auth{}, err
	}
	auth, err := gitrepo.AuthFromSecret(secret.Data)
	if err != nil {
		return gitrepo.Auth{}, fmt.Errorf("secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	return auth, nil
}

// secret reads Secret ns/name, one an Environment names (git
// credentials, age keys, a kubeconfig), from the API server: the errors
// call it what ("decryption secret ns/name not found").
func (r *Reconciler) secret(ctx context.Context, what, ns, name string) (*corev1.Secret, error) {
	key := types.NamespacedName{Namespace: ns, Name: name}
	var secret corev1.Secret
	if err := r.Client.Get(ctx, key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s %s not found", what, key)
		}
		return nil, fmt.Errorf("%s %s: %w", what, key, err)
	}
	return &secret, nil
}

func (r *Reconciler) writeStatus(ctx context.Context, env *v1.Environment, status *v1.EnvironmentStatus) error {
	patch := client.MergeFrom(env.DeepCopy())
	env.Status = *status
	return client.IgnoreNotFound(r.Client.Status().Patch(ctx, env, patch))
}

func (r *Reconciler) event(env *v1.Environment, eventType, reason, format string, args ...any) {
	if r.Events != nil {
		r.Events.Eventf(env, nil, eventType, reason, "Reconcile", format, args...)
	}
}

func (r *Reconciler) notify(ctx context.Context, env *v1.Environment, e notify.Event) {
	if r.Notifier == nil || len(r.Targets) == 0 {
		return
	}
	e.Environment, e.Revision, e.Time = env.Spec.Environment, env.Status.LastAppliedRevision, r.now()
	if err := r.Notifier.SendAll(ctx, r.Targets, e); err != nil {
		log.FromContext(ctx).Error(err, "notification failed")
	}
}

func setCondition(status *v1.EnvironmentStatus, t string, s metav1.ConditionStatus, reason, msg string, gen int64) {
	apimeta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
}

func inventorySummary(rendered *pipeline.Set) *v1.InventorySummary {
	s := &v1.InventorySummary{Components: map[string]int{}}
	for _, c := range rendered.Components {
		s.Components[c.Name] = len(c.Objects)
		s.Objects += len(c.Objects)
	}
	return s
}

func summary(res *apply.Result) string {
	counts := map[apply.Action]int{}
	for _, c := range res.Changes {
		counts[c.Action]++
	}
	return fmt.Sprintf("%d created, %d configured, %d unchanged, %d deleted", counts[apply.Created], counts[apply.Configured], counts[apply.Unchanged], counts[apply.Deleted])
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func durationOr(d metav1.Duration, def time.Duration) time.Duration {
	if d.Duration > 0 {
		return d.Duration
	}
	return def
}

// jitter spreads d by up to ±10%, so many environments do not check at
// the same moment.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}
