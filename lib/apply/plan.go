package apply

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/diff"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// item is one object of the set with its plan.
type item struct {
	component string
	layer     int
	obj       *unstructured.Unstructured
	id        manifest.ID
	action    Action
	reason    string
	// waitNamespace is the namespace a controller creates (Kubeflow's
	// profile controller) that the object must wait for.
	waitNamespace string
	diff          string
	secretKeys    *diff.SecretKeys
	// adopted is the owner the object is taken over from (Options.Adopt),
	// "" when it has none but the environment.
	adopted string
	// initial is obj as created, with the values controllers take over
	// afterwards (controlled.Field.Initial); nil when it has none.
	initial *unstructured.Unstructured
	// live is the object in the cluster the plan compared with (nil when new).
	live *unstructured.Unstructured
	// listed says the live copy as listed showed the object unchanged
	// (cluster.Unchanged): it got no dry run.
	listed bool
}

// create marks the item Created: it is applied with its initial values.
func (it *item) create() {
	it.action = Created
	it.useInitial()
}

// useInitial makes the item's object the one to create.
func (it *item) useInitial() {
	if it.initial != nil {
		it.initial.SetNamespace(it.obj.GetNamespace())
		it.obj, it.initial = it.initial, nil
	}
}

// Helm's annotations on the objects of a release it installed.
const (
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// setFacts are what the set itself creates, which the cluster cannot know
// before the set is applied.
type setFacts struct {
	namespaces map[string]bool
	// profiles are Kubeflow Profiles: the profile controller creates a
	// namespace of the same name.
	profiles map[string]bool
	// crds maps "group/Kind" to the CRD that defines it.
	crds map[string]*unstructured.Unstructured
	// absent are the set's namespaces the plan found missing from the
	// cluster: objects in them are dry-run as if in an existing one
	// straight away.
	absent map[string]bool
	// newKinds are the kinds ("group/Kind") of the set's CRDs the plan
	// found missing: their objects are checked against the CRD's schema
	// without asking a server that cannot serve them yet.
	newKinds map[string]bool
}

func factsOf(items []*item) setFacts {
	f := setFacts{namespaces: map[string]bool{}, profiles: map[string]bool{}, crds: map[string]*unstructured.Unstructured{}, absent: map[string]bool{}, newKinds: map[string]bool{}}
	for _, it := range items {
		switch {
		case it.id.Group == "" && it.id.Kind == "Namespace":
			f.namespaces[it.id.Name] = true
		case it.id.Group == "kubeflow.org" && it.id.Kind == "Profile":
			f.profiles[it.id.Name] = true
		case isCRD(it.id):
			group, _, _ := unstructured.NestedString(it.obj.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(it.obj.Object, "spec", "names", "kind")
			f.crds[group+"/"+kind] = it.obj
		}
	}
	return f
}

// plan sets every item's action, from the listed live objects where they
// show it unchanged (cluster.Unchanged) and by a server-side dry run
// otherwise; it returns every failure. Namespaces and CRDs go first, so
// that the objects in a namespace, or of a kind, that the set creates are
// planned as such at once, without a dry run bound to fail.
func (a *Applier) plan(ctx context.Context, items []*item, opts Options) ([]Failure, error) {
	existing, err := a.existing(ctx, items, opts)
	if err != nil {
		return nil, err
	}
	facts := factsOf(items)
	var defs, rest []*item
	for _, it := range items {
		if isNamespace(it.id) || isCRD(it.id) {
			defs = append(defs, it)
		} else {
			rest = append(rest, it)
		}
	}
	var failures []Failure
	for _, group := range [][]*item{defs, rest} {
		fs, err := a.planGroup(ctx, group, facts, existing, opts)
		if err != nil {
			return nil, err
		}
		failures = append(failures, fs...)
		for _, it := range group {
			switch {
			case it.action != Created:
			case isNamespace(it.id):
				facts.absent[it.id.Name] = true
			case isCRD(it.id):
				group, _, _ := unstructured.NestedString(it.obj.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(it.obj.Object, "spec", "names", "kind")
				facts.newKinds[group+"/"+kind] = true
			}
		}
	}
	sortFailures(failures)
	listed := 0
	for _, it := range items {
		if it.listed {
			listed++
		}
	}
	opts.progress("planned %d objects: %d unchanged as listed, %d dry runs", len(items), listed, len(items)-listed)
	return failures, nil
}

// planGroup plans items concurrently.
func (a *Applier) planGroup(ctx context.Context, items []*item, facts setFacts, existing cluster.Live, opts Options) ([]Failure, error) {
	var (
		mu       sync.Mutex
		failures []Failure
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.concurrency())
	for _, it := range items {
		g.Go(func() error {
			msg, field, err := a.planOne(gctx, it, facts, existing, opts)
			if err != nil {
				return err
			}
			if msg != "" {
				mu.Lock()
				failures = append(failures, Failure{Component: it.component, ID: it.id, Field: field, Message: msg})
				mu.Unlock()
			}
			return nil
		})
	}
	return failures, g.Wait()
}

// planOne plans one item: unchanged if its listed live copy shows so,
// else by a dry run (and by both under cluster.VerifyPlan, which fails
// when they disagree). A refusal of the object comes back as a message
// (and the field at fault); err is for failures of plinth or of the
// connection, which stop the plan.
func (a *Applier) planOne(ctx context.Context, it *item, facts setFacts, existing cluster.Live, opts Options) (msg, field string, err error) {
	if cur := existing.Get(it.id); cur != nil {
		if msg, field := ownership(it, cur, opts); msg != "" {
			return msg, field, nil
		}
		if ok, _ := cluster.Unchanged(it.obj, cur); ok && it.adopted == "" {
			it.action, it.live, it.listed = Unchanged, cur, true
			if !cluster.VerifyPlan() {
				return "", "", nil
			}
		}
	}
	msg, field, err = a.dryRunOne(ctx, it, facts, existing, opts)
	if it.listed && err == nil && (msg != "" || it.action != Unchanged) {
		said := string(it.action)
		if msg != "" {
			said = "it fails: " + msg
		}
		return "", "", fmt.Errorf("%s: PLINTH_VERIFY_PLAN: its live copy shows it unchanged, its dry run says %s", it.id, said)
	}
	return msg, field, err
}

// dryRunOne plans one item by a server-side dry run.
func (a *Applier) dryRunOne(ctx context.Context, it *item, facts setFacts, existing cluster.Live, opts Options) (msg, field string, err error) {
	if facts.newKinds[it.id.GroupKind()] {
		msg, field := planUnserved(it, facts)
		return msg, field, nil
	}
	if facts.absent[it.obj.GetNamespace()] {
		return a.planInNewNamespace(ctx, it, facts)
	}
	dry := it.obj.DeepCopy()
	err = a.dryRun(ctx, dry, opts.Adopt || opts.ForceConflicts)
	var status apierrors.APIStatus
	switch {
	case err == nil:
		if cluster.DropIgnoredNamespace(it.obj, dry) {
			it.id.Namespace = ""
		}
		if dry.GetResourceVersion() == "" {
			it.create()
			return "", "", nil
		}
		cur, err := a.live(ctx, it, existing)
		if err == nil && cur != nil && cur.GetResourceVersion() != dry.GetResourceVersion() {
			// Written since the list (a controller updating a new
			// Deployment's status, say): the dry run was made on a
			// newer object. Compare with that one, not the listed one,
			// or the controller's write looks like a change of ours.
			cur, err = a.fetch(ctx, it)
		}
		if err != nil || cur == nil {
			// cur is nil when the object went away since the dry run.
			it.create()
			return "", "", err
		}
		if msg, field := ownership(it, cur, opts); msg != "" {
			return msg, field, nil
		}
		it.live = cur
		classify(it, dry, cur, opts)
		return "", "", nil

	case cluster.NotServed(err):
		msg, field := planUnserved(it, facts)
		return msg, field, nil

	case cluster.MissingNamespace(err):
		return a.planInNewNamespace(ctx, it, facts)

	case apierrors.IsConflict(err) && errors.As(err, &status):
		// Another environment's or Helm's object conflicts too: say whose.
		if msg, field, err := a.ownershipOf(ctx, it, existing, opts); msg != "" || err != nil {
			return msg, field, err
		}
		var parts []string
		for _, c := range status.Status().Details.Causes {
			parts = append(parts, c.Field+": "+c.Message)
			if field == "" {
				field = c.Field
			}
		}
		return "conflict with another field manager: " + strings.Join(parts, "; ") +
			" (change it back, or set apply: adopt: true in the environment to take the fields over)", field, nil

	case immutable(err):
		if msg, field, err := a.ownershipOf(ctx, it, existing, opts); msg != "" || err != nil {
			return msg, field, err
		}
		if opts.Force {
			it.action = Recreated
			it.useInitial()
			it.reason = "immutable field changed: " + immutableFields(err)
			if it.adopted != "" {
				it.reason += "; adopted from " + it.adopted
			}
			return "", "", nil
		}
		return "immutable field changed: " + immutableFields(err) + " (use --force to delete and recreate the object)", immutableFields(err), nil

	case transient(err):
		return "", "", fmt.Errorf("%s: %w", it.id, err)
	}
	msg, field = describe(err)
	return msg, field, nil
}

// planInNewNamespace plans an object whose namespace does not exist yet:
// it is new, valid if it would be in an existing namespace, and its
// namespace must come with the set (or with a Profile of it).
func (a *Applier) planInNewNamespace(ctx context.Context, it *item, facts setFacts) (msg, field string, err error) {
	ns := it.obj.GetNamespace()
	if !facts.namespaces[ns] && !facts.profiles[ns] {
		return fmt.Sprintf("namespace %s does not exist and the environment does not create it", ns), "", nil
	}
	dry := it.obj.DeepCopy()
	dry.SetNamespace(metav1.NamespaceDefault)
	err = a.dryRun(ctx, dry, true)
	switch {
	case err == nil:
	case cluster.NotServed(err):
		msg, field := planUnserved(it, facts)
		return msg, field, nil
	case transient(err):
		return "", "", err
	default:
		msg, field := describe(err)
		return msg, field, nil
	}
	it.create()
	if !facts.namespaces[ns] {
		it.waitNamespace = ns
		it.reason = "namespace " + ns + " is created by Kubeflow's profile controller for Profile " + ns
	}
	return "", "", nil
}

// planUnserved plans an object of a kind the cluster does not serve yet:
// new, if a CRD of the set defines the kind and its schema validates it.
func planUnserved(it *item, facts setFacts) (msg, field string) {
	crd := facts.crds[it.id.GroupKind()]
	if crd == nil {
		return fmt.Sprintf("the cluster does not serve %s %s and the environment installs no CRD for it", it.id.APIVersion(), it.id.Kind), ""
	}
	if msg, field := validateCustomResource(crd, it.obj); msg != "" {
		return msg, field
	}
	it.create()
	return "", ""
}

// live returns the object in the cluster: the environment's, as listed,
// or (not labelled as the environment's) fetched; nil when there is none.
func (a *Applier) live(ctx context.Context, it *item, existing cluster.Live) (*unstructured.Unstructured, error) {
	if cur := existing.Get(it.id); cur != nil {
		return cur, nil
	}
	return a.fetch(ctx, it)
}

// fetch reads the object from the cluster; nil when there is none.
func (a *Applier) fetch(ctx context.Context, it *item) (*unstructured.Unstructured, error) {
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(it.obj.GroupVersionKind())
	err := a.client.Get(ctx, client.ObjectKeyFromObject(it.obj), cur)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", it.id, err)
	}
	return cur, nil
}

// ownershipOf is ownership for an object whose dry run failed.
func (a *Applier) ownershipOf(ctx context.Context, it *item, existing cluster.Live, opts Options) (msg, field string, err error) {
	cur, err := a.live(ctx, it, existing)
	if err != nil || cur == nil {
		return "", "", err
	}
	msg, field = ownership(it, cur, opts)
	return msg, field, nil
}

// ownership refuses to take over cur, the object in the cluster, from
// another owner (see foreignOwner) unless opts.Adopt, which marks the item
// adopted instead.
func ownership(it *item, cur *unstructured.Unstructured, opts Options) (msg, field string) {
	owner, field := foreignOwner(it.obj, cur, opts.env)
	if owner == "" {
		return "", ""
	}
	if !opts.Adopt {
		return "exists and belongs to " + owner + "; refusing to take it over " +
			"(set apply: adopt: true in the environment to adopt it)", field
	}
	it.adopted = owner
	it.reason = "adopted from " + owner
	return "", ""
}

// foreignOwner names who else cur, the object in the cluster, belongs
// to: another environment (by plinth's label) or a Helm release (by
// Helm's annotations, unless obj, as rendered, carries the same). It
// returns "" for an object that is the environment's or nobody's, and
// the field that says so.
func foreignOwner(obj, cur *unstructured.Unstructured, env string) (owner, field string) {
	if e := cur.GetLabels()[manifest.LabelEnvironment]; e != "" && e != env {
		return fmt.Sprintf("environment %s (labelled %s=%s)", e, manifest.LabelEnvironment, e), "metadata.labels." + manifest.LabelEnvironment
	}
	ann := cur.GetAnnotations()
	if r := ann[helmReleaseName]; r != "" && obj.GetAnnotations()[helmReleaseName] != r {
		owner = "Helm release " + r
		if ns := ann[helmReleaseNamespace]; ns != "" {
			owner += " in namespace " + ns
		}
		return owner + " (annotated " + helmReleaseName + ")", "metadata.annotations." + helmReleaseName
	}
	return "", ""
}

// classify sets the action of an item whose dry run succeeded, comparing
// the result with cur, the object in the cluster.
// An adopted object is always applied: taking it over cleans up the
// previous owner's metadata.
func classify(it *item, dry, cur *unstructured.Unstructured, opts Options) {
	if it.adopted == "" && reflect.DeepEqual(comparable(cur), comparable(dry)) {
		it.action = Unchanged
		return
	}
	it.action = Configured
	if opts.DryRun {
		name := it.id.String()
		it.diff, it.secretKeys = diff.ObjectDiff(shown(cur), shown(dry), "cluster/"+name, "applied/"+name)
	}
}

// existing lists the environment's live objects (cluster.List).
func (a *Applier) existing(ctx context.Context, items []*item, opts Options) (cluster.Live, error) {
	objs := make([]*unstructured.Unstructured, len(items))
	for i, it := range items {
		objs[i] = it.obj
	}
	return a.cluster.List(ctx, opts.env, objs, opts.concurrency())
}

// dryRun applies obj in dry-run mode, obj receiving the result.
func (a *Applier) dryRun(ctx context.Context, obj *unstructured.Unstructured, force bool) error {
	return a.cluster.DryRun(ctx, obj, force)
}

// comparable returns the parts of an object that an apply can change.
func comparable(o *unstructured.Unstructured) map[string]any {
	out := make(map[string]any, len(o.Object))
	for k, v := range o.Object {
		out[k] = v
	}
	if md, ok := o.Object["metadata"].(map[string]any); ok {
		md2 := make(map[string]any, len(md))
		for k, v := range md {
			if k != "managedFields" {
				md2[k] = v
			}
		}
		out["metadata"] = md2
	}
	return out
}

// shown returns a copy of o without the metadata the server maintains,
// for diffs.
func shown(o *unstructured.Unstructured) *unstructured.Unstructured {
	c := &unstructured.Unstructured{Object: comparable(o)}
	md := c.Object["metadata"].(map[string]any)
	for _, k := range []string{"resourceVersion", "generation", "uid", "creationTimestamp"} {
		delete(md, k)
	}
	delete(c.Object, "status")
	return c
}

// immutable reports whether every cause of an Invalid error is an
// immutable field, so the object is otherwise valid.
func immutable(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsInvalid(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	if d == nil || len(d.Causes) == 0 {
		return false
	}
	for _, c := range d.Causes {
		// RBAC's bindings refuse a new roleRef without calling it immutable.
		if !strings.Contains(c.Message, "immutable") && !strings.Contains(c.Message, "cannot change roleRef") {
			return false
		}
	}
	return true
}

func immutableFields(err error) string {
	var status apierrors.APIStatus
	errors.As(err, &status)
	var fields []string
	for _, c := range status.Status().Details.Causes {
		fields = append(fields, c.Field)
	}
	return strings.Join(fields, ", ")
}

// describe turns the server's refusal into a message and the first field
// it names.
func describe(err error) (msg, field string) {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if d := status.Status().Details; d != nil && len(d.Causes) > 0 {
			var parts []string
			for _, c := range d.Causes {
				if field == "" {
					field = c.Field
				}
				if c.Field != "" {
					parts = append(parts, c.Field+": "+c.Message)
				} else {
					parts = append(parts, c.Message)
				}
			}
			return strings.Join(parts, "; "), field
		}
		return status.Status().Message, ""
	}
	return err.Error(), ""
}

// transient reports errors of the connection or the server rather than
// of the object: they stop the plan instead of becoming failures.
func transient(err error) bool {
	switch {
	case apierrors.IsInvalid(err), apierrors.IsConflict(err), apierrors.IsBadRequest(err),
		apierrors.IsForbidden(err), apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err),
		apierrors.IsMethodNotSupported(err), apierrors.IsNotAcceptable(err),
		apierrors.IsUnsupportedMediaType(err), apierrors.IsRequestEntityTooLargeError(err):
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code == 422 {
		return false
	}
	// Admission webhooks refuse with an internal error whose message
	// says so; that is about the object. So does the server when an
	// object does not decode into its type (a Secret's data not base64,
	// a number where a string goes).
	s := err.Error()
	for _, about := range []string{"admission webhook", "failed calling webhook", "failed to create typed patch object", "failed to convert new object"} {
		if strings.Contains(s, about) {
			return false
		}
	}
	return true
}
