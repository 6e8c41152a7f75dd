package reconciler

import (
	"context"
	"errors"
	"fmt"
	"github.com/plinth-platform/plinth/lib/manifest"
	"math/rand/v2"
	"os"
	"path/filepath"
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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/gitfetch"
	"github.com/plinth-platform/plinth/lib/gitrepo"
	"github.com/plinth-platform/plinth/lib/notify"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// Rendered is an environment rendered at one revision, with the settings
// apply and drift take from it.
type Rendered struct {
	Components  []manifest.Component
	Adopt       bool
	DriftIgnore []drift.IgnoreRule
}

// Renderer renders environment env of the repository checked out at root
// (its vendor/ and plinth.lock). The CLI passes one that renders in the
// bounded sandbox child, as plinth render does.
type Renderer func(ctx context.Context, root, env string) (*Rendered, error)

// defaultTimeout bounds a reconcile (fetch, render, apply, drift check)
// when the Environment sets no spec.timeout.
const defaultTimeout = 10 * time.Minute

// Reconciler reconciles Environments.
type Reconciler struct {
	// Client reads Environments and Secrets and writes status.
	Client client.Client
	// Config is the cluster apply and drift write to (the same cluster).
	Config *rest.Config
	// Render renders a checked-out revision.
	Render Renderer
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
	// GitTimeout bounds asking the git server for the head (default 1m),
	// within the reconcile's own timeout: a server that never answers
	// (a proxy dropping packets) must not hold a worker for all of it.
	GitTimeout time.Duration
	// Concurrency is how many Environments are reconciled at once (at
	// least 1): many environments due together queue instead of running
	// all at once against the API server and the render sandbox.
	Concurrency int

	mu    sync.Mutex
	state map[types.NamespacedName]*envState
}

// envState is what the controller remembers between reconciles.
type envState struct {
	// checkout is the directory of the last fetched revision.
	checkout, revision string
	rendered           *Rendered
	// applied and generation are the revision and spec generation this
	// controller last applied: what it has done, whatever a cached read
	// of the status says (a status write re-queues the Environment before
	// the cache has it).
	applied    string
	appliedAt  time.Time
	generation int64
	inventory  *v1.InventorySummary
	nextDrift  time.Time
	lastDrift  *drift.Summary
	// stalled is "<generation>/<revision>" of a terminal failure: nothing
	// is retried until one of them changes.
	stalled string
}

// SetupWithManager registers the reconciler with mgr.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).For(&v1.Environment{}).Named("environment").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.Concurrency)}).
		Complete(r)
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reconciler) stateOf(key types.NamespacedName) *envState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		r.state = map[types.NamespacedName]*envState{}
	}
	if r.state[key] == nil {
		r.state[key] = &envState{}
	}
	return r.state[key]
}

// Reconcile is one pass of the story for one Environment.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	logger := log.FromContext(ctx)
	var env v1.Environment
	if err := r.Client.Get(ctx, req.NamespacedName, &env); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if env.Spec.Suspend {
		logger.Info("suspended")
		return ctrl.Result{}, nil
	}
	start := r.now()
	defer func() { r.Metrics.observe(env.Spec.Environment, start, r.now(), err) }()
	timeout := durationOr(env.Spec.Timeout, defaultTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	st := r.stateOf(req.NamespacedName)
	status := env.Status.DeepCopy()
	status.ObservedGeneration = env.Generation
	defer func() {
		// The status is written even when the reconcile ran out of time.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if serr := r.writeStatus(wctx, &env, status); serr != nil && err == nil {
			err = serr
		}
	}()

	// 1. The remote head, without fetching.
	auth, err := r.gitAuth(ctx, &env)
	if err != nil {
		return r.fail(ctx, &env, status, "CredentialsInvalid", err, true)
	}
	ref := gitfetch.Ref{Branch: env.Spec.Git.Ref.Branch, Tag: env.Spec.Git.Ref.Tag, Commit: env.Spec.Git.Ref.Commit}
	head, err := r.head(ctx, env.Spec.Git.URL, ref, auth)
	if err != nil {
		return r.fail(ctx, &env, status, "GitUnavailable", err, false)
	}

	if st.stalled == fmt.Sprint(env.Generation, "/", head) {
		return ctrl.Result{RequeueAfter: jitter(durationOr(env.Spec.Interval, time.Minute))}, nil
	}

	// 2. A new revision (or a changed spec): fetch, render, apply.
	if head != st.applied || env.Generation != st.generation || st.rendered == nil {
		status.LastAttemptedRevision = head
		// kstatus: Reconciling while a revision is being applied.
		setCondition(status, v1.ConditionReconciling, metav1.ConditionTrue, "Progressing", "applying revision "+short(head), env.Generation)
		if err := r.writeStatus(ctx, &env, status); err != nil {
			return ctrl.Result{}, err
		}
		status = env.Status.DeepCopy()
		if st.revision != head {
			dir := filepath.Join(r.WorkDir, env.Namespace, env.Name, head)
			if _, statErr := os.Stat(dir); statErr != nil {
				if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
					return r.fail(ctx, &env, status, "GitUnavailable", err, false)
				}
				if _, err := gitfetch.Fetch(ctx, env.Spec.Git.URL, ref, auth, head, dir); err != nil {
					os.RemoveAll(dir)
					var refused *gitrepo.RefusedError
					if errors.As(err, &refused) {
						// The commit itself is bad (a symlink, a submodule, too
						// big): fetching it again will not help.
						return r.fail(ctx, &env, status, "SourceRefused", err, true)
					}
					return r.fail(ctx, &env, status, "GitUnavailable", err, false)
				}
			}
			if st.checkout != "" && st.checkout != dir {
				os.RemoveAll(st.checkout)
			}
			st.checkout, st.revision, st.rendered = dir, head, nil
		}
		st.stalled = ""
		rendered, err := r.Render(ctx, filepath.Join(st.checkout, filepath.Clean("/" + env.Spec.Git.Path)[1:]), env.Spec.Environment)
		if err != nil {
			return r.fail(ctx, &env, status, "RenderFailed", err, true)
		}
		a, err := apply.New(r.Config)
		if err != nil {
			return r.fail(ctx, &env, status, "ApplyFailed", err, false)
		}
		res, err := a.Apply(ctx, env.Spec.Environment, rendered.Components, apply.Options{
			Prune: env.Spec.Prune == nil || *env.Spec.Prune, Revision: head, Timeout: timeout,
			// Under the correct policy the repository wins over changes by
			// hand; under report, a field someone changed stops the apply
			// as a conflict until the platform owners decide. Objects of
			// another environment or a Helm release only with apply: adopt.
			Adopt: rendered.Adopt, ForceConflicts: env.Spec.DriftPolicy == v1.DriftCorrect,
		})
		// A commit that does not validate, or renders nothing (which with
		// prune would delete the environment: the controller never allows
		// that), waits for the next commit.
		var invalid *apply.ValidationError
		if errors.As(err, &invalid) || errors.Is(err, apply.ErrEmpty) {
			return r.fail(ctx, &env, status, "ValidationFailed", err, true)
		}
		if err != nil {
			return r.fail(ctx, &env, status, "ApplyFailed", err, false)
		}
		st.rendered, st.applied, st.appliedAt, st.generation, st.inventory = rendered, head, r.now(), env.Generation, inventorySummary(rendered)
		r.event(&env, corev1.EventTypeNormal, "Applied", "applied revision %s: %s", short(head), summary(res))
		if prev := apimeta.FindStatusCondition(status.Conditions, v1.ConditionReady); prev != nil && prev.Status == metav1.ConditionFalse {
			// Resolves the failure notified before.
			r.notify(ctx, &env, notify.Event{Severity: notify.SeverityInfo, Reason: notify.ReasonApplied, Message: "revision " + short(head) + " applied"})
		}
		r.Metrics.applied(env.Spec.Environment, r.now())
		st.nextDrift = time.Time{} // check right after an apply
	}
	status.LastAppliedRevision, status.LastAttemptedRevision, status.Inventory = st.applied, st.applied, st.inventory
	setCondition(status, v1.ConditionReady, metav1.ConditionTrue, "Applied", "revision "+short(st.applied)+" applied", env.Generation)
	setCondition(status, v1.ConditionReconciling, metav1.ConditionFalse, "Applied", "", env.Generation)
	setCondition(status, v1.ConditionStalled, metav1.ConditionFalse, "Applied", "", env.Generation)
	// Say it is applied before the drift check, which takes as long again.
	if err := r.writeStatus(ctx, &env, status); err != nil {
		return ctrl.Result{}, err
	}
	status = env.Status.DeepCopy()

	// 3. Drift, every driftInterval with jitter.
	driftEvery := durationOr(env.Spec.DriftInterval, 10*time.Minute)
	if !r.now().Before(st.nextDrift) {
		if err := r.checkDrift(ctx, &env, status, st); err != nil {
			return r.fail(ctx, &env, status, "DriftCheckFailed", err, false)
		}
		st.nextDrift = r.now().Add(jitter(driftEvery))
	}

	interval := durationOr(env.Spec.Interval, time.Minute)
	next := min(jitter(interval), time.Until(st.nextDrift))
	return ctrl.Result{RequeueAfter: max(next, time.Second)}, nil
}

// checkDrift runs a drift check of the applied revision, corrects per
// policy, and updates the Drifted condition, metrics and notifications.
func (r *Reconciler) checkDrift(ctx context.Context, env *v1.Environment, status *v1.EnvironmentStatus, st *envState) error {
	c, err := drift.New(r.Config)
	if err != nil {
		return err
	}
	correct := env.Spec.DriftPolicy == v1.DriftCorrect
	report, err := c.Check(ctx, env.Spec.Environment, st.rendered.Components, drift.Options{Ignore: st.rendered.DriftIgnore, Correct: correct})
	if err != nil {
		return err
	}
	s := report.Summary
	status.LastDrift = &v1.DriftSummary{CheckedAt: metav1.NewTime(report.Checked), Drifted: s.Drifted, Missing: s.Missing, Unmanaged: s.Unmanaged, Stale: s.Stale, Corrected: report.Corrected}
	r.Reports.put(env.Spec.Environment, report)
	r.Metrics.drift(report)
	if s.Drift() {
		msg := fmt.Sprintf("%d drifted, %d missing, %d unmanaged, %d stale", s.Drifted, s.Missing, s.Unmanaged, s.Stale)
		if report.Corrected {
			msg += " (corrected)"
		}
		setCondition(status, v1.ConditionDrifted, metav1.ConditionTrue, "DriftDetected", msg, env.Generation)
		r.event(env, corev1.EventTypeWarning, "DriftDetected", "%s", msg)
		if st.lastDrift == nil || *st.lastDrift != s {
			r.notify(ctx, env, notify.Event{Severity: notify.SeverityWarning, Reason: notify.ReasonDriftDetected, Message: msg, Drift: &s})
		}
	} else {
		setCondition(status, v1.ConditionDrifted, metav1.ConditionFalse, "NoDrift", "the cluster matches revision "+short(status.LastAppliedRevision), env.Generation)
		if st.lastDrift != nil && st.lastDrift.Drift() {
			r.notify(ctx, env, notify.Event{Severity: notify.SeverityInfo, Reason: notify.ReasonDriftResolved, Message: "no drift any more", Drift: &s})
		}
	}
	st.lastDrift = &s
	return nil
}

// fail records a failed reconcile: Ready=False with the reason, the last
// applied revision kept. A terminal failure (a bad commit, bad
// credentials) is Stalled and waits for a change; any other is retried
// with exponential backoff (the returned error).
func (r *Reconciler) fail(ctx context.Context, env *v1.Environment, status *v1.EnvironmentStatus, reason string, err error, terminal bool) (ctrl.Result, error) {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// Over its time budget: said so, and retried with backoff rather
		// than piled up (a slow cluster is not a bad commit).
		msg = fmt.Sprintf("%s: the reconcile exceeded its timeout of %s (spec.timeout): %s", reason, durationOr(env.Spec.Timeout, defaultTimeout), msg)
		reason, terminal = "TimedOut", false
		ctx = context.WithoutCancel(ctx)
	}
	// Say what the cluster runs meanwhile: nothing is applied or pruned
	// until a revision applies. (A time, not an age: a message changing
	// on every retry would re-trigger the reconcile through the watch.)
	st := r.stateOf(types.NamespacedName{Namespace: env.Namespace, Name: env.Name})
	if st.applied != "" {
		msg += fmt.Sprintf(" (the cluster stays at revision %s, applied at %s)", short(st.applied), st.appliedAt.UTC().Format(time.RFC3339))
	}
	// Tell the platform owners when it starts failing, or fails anew;
	// not on every retry of the same failure.
	prev := apimeta.FindStatusCondition(status.Conditions, v1.ConditionReady)
	if prev == nil || prev.Status != metav1.ConditionFalse || prev.Reason != reason {
		r.notify(ctx, env, notify.Event{Severity: notify.SeverityError, Reason: notify.ReasonReconcileFailed, Message: reason + ": " + msg})
	}
	setCondition(status, v1.ConditionReady, metav1.ConditionFalse, reason, msg, env.Generation)
	setCondition(status, v1.ConditionReconciling, metav1.ConditionFalse, reason, "", env.Generation)
	stalled := metav1.ConditionFalse
	if terminal {
		stalled = metav1.ConditionTrue
	}
	setCondition(status, v1.ConditionStalled, stalled, reason, msg, env.Generation)
	r.event(env, corev1.EventTypeWarning, reason, "%s", msg)
	log.FromContext(ctx).Error(err, "reconcile failed", "reason", reason)
	if terminal {
		// Nothing changes until the spec or the remote does.
		st.stalled = fmt.Sprint(env.Generation, "/", status.LastAttemptedRevision)
		return ctrl.Result{RequeueAfter: jitter(durationOr(env.Spec.Interval, time.Minute))}, nil
	}
	return ctrl.Result{}, err
}

// head asks the git server for the commit ref names, within GitTimeout.
func (r *Reconciler) head(ctx context.Context, url string, ref gitfetch.Ref, auth gitfetch.Auth) (string, error) {
	timeout := r.GitTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	head, err := gitfetch.Head(hctx, url, ref, auth)
	if err != nil && hctx.Err() != nil && ctx.Err() == nil {
		return "", fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return head, err
}

func (r *Reconciler) gitAuth(ctx context.Context, env *v1.Environment) (gitfetch.Auth, error) {
	if env.Spec.Git.SecretRef == nil {
		return gitfetch.Auth{}, nil
	}
	var secret corev1.Secret
	key := types.NamespacedName{Namespace: env.Namespace, Name: env.Spec.Git.SecretRef.Name}
	if err := r.Client.Get(ctx, key, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return gitfetch.Auth{}, fmt.Errorf("secret %s not found", key)
		}
		return gitfetch.Auth{}, fmt.Errorf("secret %s: %w", key, err)
	}
	auth, err := gitfetch.AuthFromSecret(secret.Data)
	if err != nil {
		return gitfetch.Auth{}, fmt.Errorf("secret %s: %w", key, err)
	}
	return auth, nil
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

func inventorySummary(rendered *Rendered) *v1.InventorySummary {
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
