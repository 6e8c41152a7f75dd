package reconciler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/gitrepo"
	"github.com/plinth-platform/plinth/lib/notify"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/secrets"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// stageError is a stage of a pass that failed: the reason Ready=False
// names, and whether the failure is terminal (the commit or the
// credentials are at fault: the Environment is Stalled and looked at
// again every interval, a bad commit not retried until the spec or the
// remote head changes) or retried with backoff.
type stageError struct {
	Reason   string
	Terminal bool
	Err      error
}

func (e *stageError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *stageError) Unwrap() error { return e.Err }

// retryable is a failure that may pass by itself (a server, the network).
func retryable(reason string, err error) error { return &stageError{Reason: reason, Err: err} }

// clusterFailure is a failure of the target cluster, retried: the
// cluster not answering (ClusterUnreachable), marked for another
// environment (ClusterMismatch, fixed in the cluster), or else reason.
func clusterFailure(reason string, err error) error {
	if _, refused := errors.AsType[*clustermark.MismatchError](err); refused {
		return retryable("ClusterMismatch", err)
	}
	if unreachable(err) {
		return retryable("ClusterUnreachable", err)
	}
	return retryable(reason, err)
}

// terminal is a failure that retrying the same commit cannot fix.
func terminal(reason string, err error) error {
	return &stageError{Reason: reason, Terminal: true, Err: err}
}

// pass is one reconcile of one Environment: what its stages share.
type pass struct {
	r   *Reconciler
	env *v1.Environment
	st  *envState
	// status is written at the end of the pass, and on the way when a
	// stage says where it is.
	status  *v1.EnvironmentStatus
	timeout time.Duration

	ref      gitrepo.Ref
	auth     gitrepo.Auth
	head     string
	rendered *pipeline.Set
	// cfg is the cluster the pass applies to (target).
	cfg *rest.Config
}

func (r *Reconciler) newPass(env *v1.Environment, key types.NamespacedName) *pass {
	status := env.Status.DeepCopy()
	status.ObservedGeneration = env.Generation
	return &pass{r: r, env: env, st: r.stateOf(key, env.Spec.Environment), status: status, timeout: durationOr(env.Spec.Timeout, defaultTimeout)}
}

// lookUpHead asks the git server for the commit the ref names, with the
// credentials of the Environment's Secret, without fetching.
func (p *pass) lookUpHead(ctx context.Context) error {
	auth, err := p.r.gitAuth(ctx, p.env)
	if err != nil {
		return terminal("CredentialsInvalid", err)
	}
	p.auth = auth
	p.ref = gitrepo.Ref{Branch: p.env.Spec.Git.Ref.Branch, Tag: p.env.Spec.Git.Ref.Tag, Commit: p.env.Spec.Git.Ref.Commit}
	if p.head, err = p.r.head(ctx, p.env.Spec.Git.URL, p.ref, auth); err != nil {
		return retryable("GitUnavailable", err)
	}
	return nil
}

// stalled reports whether the head and spec are those of a terminal
// failure: nothing is retried until one of them changes.
func (p *pass) stalled() bool { return p.st.stalled == fmt.Sprint(p.env.Generation, "/", p.head) }

// newRevision reports whether there is something to apply: a head or a
// spec this controller has not applied (or nothing rendered yet).
func (p *pass) newRevision() bool {
	return p.head != p.st.applied || p.env.Generation != p.st.generation || p.st.rendered == nil
}

// progressing says, before the work starts, which revision is being
// applied (kstatus: Reconciling).
func (p *pass) progressing(ctx context.Context) error {
	p.status.LastAttemptedRevision = p.head
	setCondition(p.status, v1.ConditionReconciling, metav1.ConditionTrue, "Progressing", "applying revision "+short(p.head), p.env.Generation)
	return p.writeStatus(ctx)
}

// fetch checks the head out, each revision in a directory of its own,
// and removes the previous checkout.
func (p *pass) fetch(ctx context.Context) error {
	if p.st.revision != p.head {
		dir := filepath.Join(p.r.WorkDir, p.env.Namespace, p.env.Name, p.head)
		if err := p.checkOut(ctx, dir); err != nil {
			return err
		}
		if p.st.checkout != "" && p.st.checkout != dir {
			os.RemoveAll(p.st.checkout)
		}
		p.st.checkout, p.st.revision, p.st.rendered = dir, p.head, nil
	}
	p.st.stalled = ""
	return nil
}

// checkOut fetches the head into dir, unless a pass before did.
func (p *pass) checkOut(ctx context.Context, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return retryable("GitUnavailable", err)
	}
	_, err := gitrepo.Fetch(ctx, p.env.Spec.Git.URL, p.ref, p.auth, p.head, dir)
	if err == nil {
		return nil
	}
	os.RemoveAll(dir)
	if _, refused := errors.AsType[*gitrepo.RefusedError](err); refused {
		// The commit itself is bad (a symlink, a submodule, too big):
		// fetching it again will not help.
		return terminal("SourceRefused", err)
	}
	return retryable("GitUnavailable", err)
}

// render renders the environment of the checkout, with its encrypted
// Secrets decrypted (the component secrets).
func (p *pass) render(ctx context.Context) error {
	root := filepath.Join(p.st.checkout, filepath.Clean("/" + p.env.Spec.Git.Path)[1:])
	req, err := pipeline.InRepository(root, p.env.Spec.Environment)
	if err != nil {
		return terminal("RenderFailed", err)
	}
	// Decrypted first: a missing or wrong key fails before anything is
	// rendered or applied.
	encrypted, files, err := p.decryptSecrets(ctx, req.Env)
	if err != nil {
		return err
	}
	rendered, err := p.r.render(ctx, req)
	if err != nil {
		return terminal("RenderFailed", err)
	}
	if rendered.Components, err = secrets.With(rendered.Components, encrypted, files); err != nil {
		return terminal("RenderFailed", err)
	}
	p.rendered = rendered
	return nil
}

// apply applies the rendered revision (and prunes, per spec) and
// remembers it as what the cluster runs.
func (p *pass) apply(ctx context.Context) error {
	cfg, err := p.target(ctx)
	if err != nil {
		return err
	}
	a, err := p.st.applierFor(cfg)
	if err != nil {
		return retryable("ApplyFailed", err)
	}
	res, err := a.Apply(ctx, p.env.Spec.Environment, p.rendered.Components, apply.Options{
		Prune: p.env.Spec.Prune == nil || *p.env.Spec.Prune, Revision: p.head, Timeout: p.timeout,
		// Never onto a cluster marked for another environment; moving a
		// cluster is a person's decision (plinth apply --adopt-cluster).
		Claim: true,
		// Under the correct policy the repository wins over changes by
		// hand; under report, a field someone changed stops the apply
		// as a conflict until the platform owners decide. Objects of
		// another environment or a Helm release only with apply: adopt.
		Adopt: p.rendered.Settings.Apply.Adopt, ForceConflicts: p.env.Spec.DriftPolicy == v1.DriftCorrect,
	})
	// A commit that does not validate, or renders nothing (which with
	// prune would delete the environment: the controller never allows
	// that), waits for the next commit.
	if _, invalid := errors.AsType[*apply.ValidationError](err); invalid || errors.Is(err, apply.ErrEmpty) {
		return terminal("ValidationFailed", err)
	}
	if err != nil {
		return clusterFailure("ApplyFailed", err)
	}
	st := p.st
	st.rendered, st.applied, st.appliedAt, st.generation, st.inventory = p.rendered, p.head, p.r.now(), p.env.Generation, inventorySummary(p.rendered)
	p.r.event(p.env, corev1.EventTypeNormal, "Applied", "applied revision %s: %s", short(p.head), summary(res))
	if prev := apimeta.FindStatusCondition(p.status.Conditions, v1.ConditionReady); prev != nil && prev.Status == metav1.ConditionFalse {
		// Resolves the failure notified before.
		p.r.notify(ctx, p.env, notify.Event{Severity: notify.SeverityInfo, Reason: notify.ReasonApplied, Message: "revision " + short(p.head) + " applied"})
	}
	p.r.Metrics.applied(p.env.Spec.Environment, p.r.now())
	st.nextDrift = time.Time{} // check right after an apply
	return nil
}

// ready says the cluster runs the applied revision, before the drift
// check, which takes as long again.
func (p *pass) ready(ctx context.Context) error {
	p.status.LastAppliedRevision, p.status.LastAttemptedRevision, p.status.Inventory = p.st.applied, p.st.applied, p.st.inventory
	setCondition(p.status, v1.ConditionReady, metav1.ConditionTrue, "Applied", "revision "+short(p.st.applied)+" applied", p.env.Generation)
	setCondition(p.status, v1.ConditionReconciling, metav1.ConditionFalse, "Applied", "", p.env.Generation)
	setCondition(p.status, v1.ConditionStalled, metav1.ConditionFalse, "Applied", "", p.env.Generation)
	return p.writeStatus(ctx)
}

// checkDrift checks the applied revision for drift every driftInterval
// (with jitter) and corrects it per policy.
func (p *pass) checkDrift(ctx context.Context) error {
	if p.r.now().Before(p.st.nextDrift) {
		return nil
	}
	cfg, err := p.target(ctx)
	if err != nil {
		return err
	}
	c, err := p.st.checkerFor(cfg)
	if err != nil {
		return retryable("DriftCheckFailed", err)
	}
	report, err := c.Check(ctx, p.env.Spec.Environment, p.st.rendered.Components,
		drift.Options{Ignore: p.st.rendered.Settings.Drift.Ignore, Correct: p.env.Spec.DriftPolicy == v1.DriftCorrect, Claim: true})
	if err != nil {
		return clusterFailure("DriftCheckFailed", err)
	}
	p.driftChecked(ctx, report)
	p.st.nextDrift = p.r.now().Add(jitter(durationOr(p.env.Spec.DriftInterval, 10*time.Minute)))
	return nil
}

// driftChecked records a drift report: the Drifted condition, the report
// page, metrics, an event, and a notification when the drift changed.
func (p *pass) driftChecked(ctx context.Context, report *drift.Report) {
	s := report.Summary
	p.status.LastDrift = &v1.DriftSummary{CheckedAt: metav1.NewTime(report.Checked), Drifted: s.Drifted, Missing: s.Missing, Unmanaged: s.Unmanaged, Stale: s.Stale, Corrected: report.Corrected}
	p.r.Reports.put(p.env.Spec.Environment, report)
	p.r.Metrics.drift(report)
	if s.Drift() {
		msg := s.Counts()
		if report.Corrected {
			msg += " (corrected)"
		}
		setCondition(p.status, v1.ConditionDrifted, metav1.ConditionTrue, "DriftDetected", msg, p.env.Generation)
		p.r.event(p.env, corev1.EventTypeWarning, "DriftDetected", "%s", msg)
		if p.st.lastDrift == nil || *p.st.lastDrift != s {
			p.r.notify(ctx, p.env, notify.Event{Severity: notify.SeverityWarning, Reason: notify.ReasonDriftDetected, Message: msg, Drift: &s})
		}
	} else {
		setCondition(p.status, v1.ConditionDrifted, metav1.ConditionFalse, "NoDrift", "the cluster matches revision "+short(p.status.LastAppliedRevision), p.env.Generation)
		if p.st.lastDrift != nil && p.st.lastDrift.Drift() {
			p.r.notify(ctx, p.env, notify.Event{Severity: notify.SeverityInfo, Reason: notify.ReasonDriftResolved, Message: "no drift any more", Drift: &s})
		}
	}
	p.st.lastDrift = &s
}

// nextPass is when to look again: the interval, or the next drift
// check if sooner.
func (p *pass) nextPass() ctrl.Result {
	next := min(jitter(p.interval()), time.Until(p.st.nextDrift))
	return ctrl.Result{RequeueAfter: max(next, time.Second)}
}

// afterInterval looks again after the interval: for a new commit or spec
// after a terminal failure.
func (p *pass) afterInterval() ctrl.Result { return ctrl.Result{RequeueAfter: jitter(p.interval())} }

func (p *pass) interval() time.Duration { return durationOr(p.env.Spec.Interval, time.Minute) }

// fail records a failed stage: Ready=False with its reason, the last
// applied revision kept. A terminal failure is Stalled and waits for a
// change; any other is retried with exponential backoff (the returned
// error).
func (p *pass) fail(ctx context.Context, failed *stageError) (ctrl.Result, error) {
	reason, terminal, err := failed.Reason, failed.Terminal, failed.Err
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		// Over its time budget: said so, and retried with backoff rather
		// than piled up (a slow cluster is not a bad commit).
		msg = fmt.Sprintf("%s: the reconcile exceeded its timeout of %s (spec.timeout): %s", reason, p.timeout, msg)
		reason, terminal = "TimedOut", false
		ctx = context.WithoutCancel(ctx)
	}
	// Say what the cluster runs meanwhile: nothing is applied or pruned
	// until a revision applies. (A time, not an age: a message changing
	// on every retry would re-trigger the reconcile through the watch.)
	if p.st.applied != "" {
		msg += fmt.Sprintf(" (the cluster stays at revision %s, applied at %s)", short(p.st.applied), p.st.appliedAt.UTC().Format(time.RFC3339))
	}
	// Tell the platform owners when it starts failing, or fails anew;
	// not on every retry of the same failure.
	prev := apimeta.FindStatusCondition(p.status.Conditions, v1.ConditionReady)
	if prev == nil || prev.Status != metav1.ConditionFalse || prev.Reason != reason {
		p.r.notify(ctx, p.env, notify.Event{Severity: notify.SeverityError, Reason: notify.ReasonReconcileFailed, Message: reason + ": " + msg})
	}
	setCondition(p.status, v1.ConditionReady, metav1.ConditionFalse, reason, msg, p.env.Generation)
	setCondition(p.status, v1.ConditionReconciling, metav1.ConditionFalse, reason, "", p.env.Generation)
	stalled := metav1.ConditionFalse
	if terminal {
		stalled = metav1.ConditionTrue
	}
	setCondition(p.status, v1.ConditionStalled, stalled, reason, msg, p.env.Generation)
	p.r.event(p.env, corev1.EventTypeWarning, reason, "%s", msg)
	log.FromContext(ctx).Error(err, "reconcile failed", "reason", reason)
	if terminal {
		// Nothing changes until the spec or the remote does.
		p.st.stalled = fmt.Sprint(p.env.Generation, "/", p.status.LastAttemptedRevision)
		return p.afterInterval(), nil
	}
	return ctrl.Result{}, err
}

// writeStatus writes the status so far; the pass goes on from what was
// written.
func (p *pass) writeStatus(ctx context.Context) error {
	if err := p.r.writeStatus(ctx, p.env, p.status); err != nil {
		return err
	}
	p.status = p.env.Status.DeepCopy()
	return nil
}

// writeLastStatus writes the status at the end of the pass, even one
// that ran out of time.
func (p *pass) writeLastStatus(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return p.r.writeStatus(wctx, p.env, p.status)
}

// applierFor returns the environment's Applier, made on first use. One
// serves every pass: each apply starts from fresh discovery
// (cluster.Fresh), so a CRD deleted since the last one is not served.
func (st *envState) applierFor(cfg *rest.Config) (*apply.Applier, error) {
	return madeOnce(&st.applier, func() (*apply.Applier, error) { return apply.New(cfg) })
}

// checkerFor returns the environment's drift Checker, made on first use;
// like the Applier, it starts each check from fresh discovery.
func (st *envState) checkerFor(cfg *rest.Config) (*drift.Checker, error) {
	return madeOnce(&st.checker, func() (*drift.Checker, error) { return drift.New(cfg) })
}

// madeOnce returns *slot, made by build when it is still nil.
func madeOnce[T any](slot **T, build func() (*T, error)) (*T, error) {
	if *slot == nil {
		v, err := build()
		if err != nil {
			return nil, err
		}
		*slot = v
	}
	return *slot, nil
}
