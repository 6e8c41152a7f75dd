package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/controlled"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// DefaultOptions are the bounds a check uses where Options leave them
// zero: 8 dry runs in flight, as apply.
func DefaultOptions() Options { return Options{Concurrency: 8} }

// Options control a check.
type Options struct {
	// Ignore lists fields others own on purpose (the environment's drift.ignore).
	Ignore []manifest.IgnoreRule
	// Correct applies the drifted and missing objects again.
	Correct bool
	// Claim, with Correct, refuses a cluster marked for another
	// environment before anything is checked or written, and marks an
	// unmarked one before the first correction (apply.Options.Claim).
	Claim bool
	// AdoptCluster, with Claim, moves a cluster marked for other
	// environments to this one.
	AdoptCluster bool
	// Concurrency bounds the requests in flight (DefaultOptions when zero).
	Concurrency int
}

// covers reports whether rule r leaves field f of object id of component
// out of the report.
func covers(r manifest.IgnoreRule, component string, id manifest.ID, f Field) bool {
	return r.Component == component &&
		(r.Kind == "" || r.Kind == id.Kind) &&
		(r.Namespace == "" || r.Namespace == id.Namespace) &&
		(r.Name == "" || r.Name == id.Name) &&
		(r.Manager == "" || r.Manager == f.Manager) &&
		under(f.Path, r.Path)
}

// under reports whether pointer p is q or below it.
func under(p, q string) bool {
	return p == q || len(p) > len(q) && p[:len(q)] == q && (q == "" || p[len(q)] == '/')
}

// Checker checks environments against one cluster. One Checker serves
// any number of checks: each starts with what the cluster serves now
// (cluster.Fresh), so the objects of a CRD deleted since the last one are
// missing, not an error.
type Checker struct {
	cluster *cluster.Cluster
}

// New returns a Checker for the cluster cfg points at.
func New(cfg *rest.Config) (*Checker, error) {
	c, err := cluster.Connect(cfg)
	if err != nil {
		return nil, err
	}
	return &Checker{cluster: c}, nil
}

// entry is one object of the environment and what the check found.
type entry struct {
	component string
	obj       *unstructured.Unstructured
	id        manifest.ID
	state     string
	fields    []Field
	ignored   int
}

// Check compares the cluster with the environment's rendered components
// and returns the report. See the package documentation.
func (c *Checker) Check(ctx context.Context, env string, comps []manifest.Component, opts Options) (*Report, error) {
	fresh, err := c.cluster.Fresh()
	if err != nil {
		return nil, err
	}
	return (&Checker{cluster: fresh}).check(ctx, env, comps, opts)
}

func (c *Checker) check(ctx context.Context, env string, comps []manifest.Component, opts Options) (*Report, error) {
	conc := opts.Concurrency
	if conc <= 0 {
		conc = DefaultOptions().Concurrency
	}
	var claim *clustermark.Claim
	if opts.Correct && opts.Claim {
		var err error
		if claim, err = clustermark.Check(ctx, c.cluster.Client, env, opts.AdoptCluster); err != nil {
			return nil, err
		}
	}
	var entries []*entry
	var objs []*unstructured.Unstructured
	// Fields controllers in the cluster set are neither asserted by the
	// dry run nor reported (lib/controlled).
	controllers := controlled.For(manifest.AllObjects(comps))
	for _, comp := range comps {
		for _, o := range comp.Objects {
			obj, err := cluster.Copy(o)
			if err != nil {
				return nil, fmt.Errorf("environment %s: component %s: %w", env, comp.Name, err)
			}
			controllers.Strip(obj)
			entries = append(entries, &entry{component: comp.Name, obj: obj, id: manifest.IDOf(obj)})
			objs = append(objs, obj)
		}
	}
	inv, err := inventory.Read(ctx, c.cluster.Client, env)
	if err != nil {
		return nil, err
	}
	// The kinds of the inventory too: an unmanaged object may be of a
	// kind the environment no longer has.
	kinds := slices.Clone(objs)
	for _, e := range inv.Entries {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(e.APIVersion())
		o.SetKind(e.Kind)
		kinds = append(kinds, o)
	}
	live, err := c.cluster.List(ctx, env, kinds, conc)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env, err)
	}

	var mu sync.Mutex
	var errs []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for _, e := range entries {
		g.Go(func() error {
			if err := c.checkObject(gctx, e, live, controllers, opts.Ignore); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("component %s: %s: %w", e.component, e.id, err))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(errs) > 0 {
		return nil, fmt.Errorf("environment %s: drift check failed:\n%w", env, errors.Join(errs...))
	}

	others, err := c.strangers(ctx, env, entries, live, inv)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env, err)
	}
	report := buildReport(env, entries, others)
	if opts.Correct && (report.Summary.Drifted+report.Summary.Missing) > 0 {
		if claim != nil {
			if err := claim.Mark(ctx); err != nil {
				return report, fmt.Errorf("environment %s: correcting: %w", env, err)
			}
		}
		if err := c.correct(ctx, entries, report, conc); err != nil {
			return report, fmt.Errorf("environment %s: correcting: %w", env, err)
		}
	}
	return report, nil
}

// checkObject checks one object: in sync when its listed live copy shows
// that a re-apply would change nothing (cluster.Unchanged), else by a
// dry run (and by both under cluster.VerifyPlan, which fails when they
// disagree).
func (c *Checker) checkObject(ctx context.Context, e *entry, live cluster.Live, controllers *controlled.Set, ignore []manifest.IgnoreRule) error {
	listed := false
	if cur := live.Get(e.id); cur != nil {
		if listed, _ = cluster.Unchanged(e.obj, cur); listed && !cluster.VerifyPlan() {
			return nil
		}
	}
	if err := c.dryRunObject(ctx, e, live, controllers, ignore); err != nil {
		return err
	}
	if listed && (e.state != "" || e.ignored > 0) {
		return fmt.Errorf("PLINTH_VERIFY_PLAN: its live copy shows it unchanged, its dry run finds it %s in %d fields (%d ignored)", e.state, len(e.fields), e.ignored)
	}
	return nil
}

// dryRunObject dry-runs one object and compares the result with the
// cluster's object: the very version the dry run was made on. A
// controller may write the object between the list and the dry run (the
// Deployment controller's revision annotation); then the object is read
// again, and dry-run again if it changed once more meanwhile.
func (c *Checker) dryRunObject(ctx context.Context, e *entry, live cluster.Live, controllers *controlled.Set, ignore []manifest.IgnoreRule) error {
	cur := live.Get(e.id)
	var dry *unstructured.Unstructured
	for attempt := 0; ; attempt++ {
		dry = e.obj.DeepCopy()
		err := c.cluster.DryRun(ctx, dry, true)
		switch {
		case cluster.NotServed(err) || cluster.MissingNamespace(err):
			e.state = StateMissing
			return nil
		case err != nil:
			return err
		}
		if cluster.DropIgnoredNamespace(e.obj, dry) {
			e.id.Namespace = ""
		}
		if dry.GetResourceVersion() == "" {
			e.state = StateMissing
			return nil
		}
		if cur != nil && cur.GetResourceVersion() == dry.GetResourceVersion() {
			break
		}
		// Not listed (there, but not labelled as the environment's any
		// more), or written since.
		cur = &unstructured.Unstructured{}
		cur.SetGroupVersionKind(e.obj.GroupVersionKind())
		if err := c.cluster.Client.Get(ctx, client.ObjectKeyFromObject(e.obj), cur); err != nil {
			return err
		}
		if cur.GetResourceVersion() == dry.GetResourceVersion() || attempt == 2 {
			break
		}
	}
	secret := e.id.Group == "" && e.id.Kind == "Secret"
	for _, f := range compare(dry.Object, cur.Object, secret) {
		if controllers.Owns(e.obj, f.Path) {
			continue
		}
		attribute(&f, cur)
		if slices.ContainsFunc(ignore, func(r manifest.IgnoreRule) bool { return covers(r, e.component, e.id, f) }) {
			e.ignored++
			continue
		}
		e.fields = append(e.fields, f)
	}
	if len(e.fields) > 0 {
		e.state = StateDrifted
	}
	return nil
}

// stranger is an object of the cluster the environment does not have.
type stranger struct {
	component string
	obj       *unstructured.Unstructured
	state     string
}

// strangers finds the live objects labelled as env's that are neither in
// the environment nor in its inventory (unmanaged), and the inventory's
// objects the environment dropped that still exist (stale).
func (c *Checker) strangers(ctx context.Context, env string, entries []*entry, live cluster.Live, inv *inventory.Inventory) ([]stranger, error) {
	inSet := map[string]bool{}
	for _, e := range entries {
		inSet[inventory.Key(e.id)] = true
	}
	inInventory := map[string]string{}
	for _, e := range inv.Entries {
		inInventory[inventory.Key(e.ID)] = e.Component
	}
	var out []stranger
	seen := map[string]bool{}
	for _, o := range live {
		k := inventory.Key(manifest.IDOf(o))
		if inSet[k] || seen[k] {
			continue
		}
		seen[k] = true
		if comp, ok := inInventory[k]; ok {
			out = append(out, stranger{component: comp, obj: o, state: StateStale})
			continue
		}
		out = append(out, stranger{component: o.GetLabels()[manifest.LabelComponent], obj: o, state: StateUnmanaged})
	}
	for _, e := range inv.Entries {
		k := inventory.Key(e.ID)
		if inSet[k] || seen[k] {
			continue
		}
		o := &unstructured.Unstructured{}
		o.SetAPIVersion(e.APIVersion())
		o.SetKind(e.Kind)
		err := c.cluster.Client.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, o)
		if apierrors.IsNotFound(err) || cluster.NotServed(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.ID, err)
		}
		out = append(out, stranger{component: e.Component, obj: o, state: StateStale})
	}
	return out, nil
}

// correct applies the drifted and missing objects again, taking their
// fields back from other managers: one server-side apply each.
func (c *Checker) correct(ctx context.Context, entries []*entry, report *Report, concurrency int) error {
	var objs []*unstructured.Unstructured
	fixed := map[string]bool{}
	for _, e := range entries {
		if e.state == StateDrifted || e.state == StateMissing {
			objs = append(objs, e.obj)
			fixed[e.id.String()] = true
		}
	}
	if err := c.cluster.Apply(ctx, objs, concurrency); err != nil {
		return err
	}
	report.Corrected = true
	for i := range report.Components {
		for j := range report.Components[i].Items {
			o := &report.Components[i].Items[j]
			if fixed[o.ID] {
				o.Corrected = true
			}
		}
	}
	return nil
}

func buildReport(env string, entries []*entry, others []stranger) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Environment: env, Checked: time.Now().UTC().Truncate(time.Second), Components: []Component{}}
	byName := map[string]*Component{}
	comp := func(name string) *Component {
		if byName[name] == nil {
			byName[name] = &Component{Name: name, Items: []Object{}}
		}
		return byName[name]
	}
	for _, e := range entries {
		c := comp(e.component)
		c.Objects++
		r.Summary.Objects++
		r.Summary.IgnoredFields += e.ignored
		switch e.state {
		case StateDrifted:
			c.Drifted++
			r.Summary.Drifted++
		case StateMissing:
			c.Missing++
			r.Summary.Missing++
		default:
			continue
		}
		c.Items = append(c.Items, objectOf(e.id, e.obj.GetAPIVersion(), e.state, e.fields))
	}
	for _, s := range others {
		c := comp(s.component)
		if s.state == StateStale {
			r.Summary.Stale++
		} else {
			r.Summary.Unmanaged++
		}
		c.Items = append(c.Items, objectOf(manifest.IDOf(s.obj), s.obj.GetAPIVersion(), s.state, nil))
	}
	for _, c := range byName {
		sort.Slice(c.Items, func(i, j int) bool { return c.Items[i].ID < c.Items[j].ID })
		r.Components = append(r.Components, *c)
	}
	sort.Slice(r.Components, func(i, j int) bool { return r.Components[i].Name < r.Components[j].Name })
	return r
}

func objectOf(id manifest.ID, apiVersion, state string, fields []Field) Object {
	return Object{ID: id.String(), APIVersion: apiVersion, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name, State: state, Fields: fields}
}
