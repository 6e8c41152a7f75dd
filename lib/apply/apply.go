package apply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/clustermark"
	"github.com/plinth-platform/plinth/lib/controlled"
	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// AnnotationPrune set to "disabled" keeps an object when it leaves the environment.
const AnnotationPrune = "plinth.dev/prune"

// Options control an apply.
type Options struct {
	// DryRun plans and writes nothing.
	DryRun bool
	// Prune deletes objects of the previous inventory that the set no longer has.
	Prune bool
	// AllowEmpty allows a set without objects (which, with Prune, deletes everything).
	AllowEmpty bool
	// Wait waits for each layer of components to be ready (kstatus) before the next.
	Wait bool
	// Timeout bounds each wait: CRDs established, a namespace to appear, a
	// layer ready (DefaultOptions when zero).
	Timeout time.Duration
	// Force deletes and recreates objects whose change touches an immutable field.
	Force bool
	// Adopt takes over objects of another environment or a Helm release,
	// and fields that other field managers own.
	Adopt bool
	// ForceConflicts takes over fields that other field managers own (a
	// kubectl edit), as drift correction does, but not objects of another
	// owner: that takes Adopt.
	ForceConflicts bool
	// Claim refuses, before anything is written, a cluster marked for
	// another environment (ConfigMap plinth-system/plinth-cluster, package
	// clustermark), and marks an unmarked cluster for this one with the
	// first write. The CLI and the controller always claim; tests of this
	// package share one API server among many environments and do not.
	Claim bool
	// AdoptCluster, with Claim, moves a cluster marked for other
	// environments to this one.
	AdoptCluster bool
	// Revision is recorded in the inventory (a git commit, say).
	Revision string
	// Concurrency bounds the requests in flight (DefaultOptions when zero).
	Concurrency int
	// Progress receives one line per step (nil: none).
	Progress func(string)

	env string
}

// DefaultOptions are the bounds an apply uses where Options leave them
// zero: 8 requests in flight (as kubectl's own apply pool), each wait up to
// five minutes.
func DefaultOptions() Options {
	return Options{Concurrency: 8, Timeout: 5 * time.Minute}
}

func (o Options) concurrency() int {
	if o.Concurrency > 0 {
		return o.Concurrency
	}
	return DefaultOptions().Concurrency
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultOptions().Timeout
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, args...))
	}
}

// Applier applies environments to one cluster. One Applier serves any
// number of applies: each starts with what the cluster serves now
// (cluster.Fresh), so a CRD deleted since the last one is not served.
type Applier struct {
	cluster *cluster.Cluster
	client  client.Client
	manager *ssa.ResourceManager
}

// New returns an Applier for the cluster cfg points at.
func New(cfg *rest.Config) (*Applier, error) {
	c, err := cluster.Connect(cfg)
	if err != nil {
		return nil, err
	}
	return applierFor(c), nil
}

func applierFor(c *cluster.Cluster) *Applier {
	return &Applier{cluster: c, client: c.Client, manager: c.Manager}
}

// ErrEmpty is in the error of Apply for a set without objects, unless
// Options.AllowEmpty: a property of the input, not of the cluster.
var ErrEmpty = errors.New("renders no objects")

// Apply plans the environment's rendered components (in dependency
// order, as render returns them) against the cluster and, unless
// opts.DryRun, applies them: see the package documentation for the
// steps. The Result lists what was done up to an error, too. The
// values of the set's Secrets never appear in the error.
func (a *Applier) Apply(ctx context.Context, env string, comps []manifest.Component, opts Options) (*Result, error) {
	c, err := a.cluster.Fresh()
	if err != nil {
		return &Result{Environment: env, DryRun: opts.DryRun}, err
	}
	res, err := applierFor(c).apply(ctx, env, comps, opts)
	return res, redactSecrets(err, comps)
}

func (a *Applier) apply(ctx context.Context, env string, comps []manifest.Component, opts Options) (*Result, error) {
	opts.env = env
	a.manager.SetConcurrency(opts.concurrency())
	res := &Result{Environment: env, DryRun: opts.DryRun}
	items, err := itemsOf(comps)
	if err != nil {
		return res, fmt.Errorf("environment %s: %w", env, err)
	}
	if len(items) == 0 && !opts.AllowEmpty {
		return res, fmt.Errorf("environment %s %w: refusing to apply (and, with prune, to delete everything) without --allow-empty", env, ErrEmpty)
	}

	var claim *clustermark.Claim
	if opts.Claim {
		if claim, err = clustermark.Check(ctx, a.client, env, opts.AdoptCluster); err != nil {
			return res, err
		}
	}
	prev, err := inventory.Read(ctx, a.client, env)
	if err != nil {
		return res, err
	}
	opts.progress("planning %d objects", len(items))
	failures, err := a.plan(ctx, items, opts)
	if err != nil {
		return res, fmt.Errorf("environment %s: planning: %w", env, err)
	}
	if len(failures) > 0 {
		return res, &ValidationError{Environment: env, Failures: failures}
	}
	next := entries(items)
	staleChanges, err := a.staleChanges(ctx, inventory.Minus(prev.Entries, next), prev.Created, opts)
	if err != nil {
		return res, fmt.Errorf("environment %s: %w", env, err)
	}
	if opts.DryRun {
		res.Changes = append(changesOf(items, true), staleChanges...)
		return res, nil
	}

	// Mark the cluster for this environment, then record everything this
	// apply may create, before creating it.
	if claim != nil {
		if err := claim.Mark(ctx); err != nil {
			return res, err
		}
	}
	created := createdNamespaces(prev.Created, items)
	if err := a.record(ctx, prev, inventory.Union(prev.Entries, next), created, opts.Revision); err != nil {
		return res, err
	}
	if err := a.applyStages(ctx, items, opts, res); err != nil {
		return res, fmt.Errorf("environment %s: %w", env, err)
	}
	if opts.Prune && len(staleChanges) > 0 {
		opts.progress("pruning stale objects")
		if err := a.prune(ctx, env, staleChanges); err != nil {
			return res, fmt.Errorf("environment %s: prune: %w", env, err)
		}
	}
	res.Changes = append(res.Changes, staleChanges...)

	// Stale objects left in place stay in the inventory, for a later
	// prune; those released by annotation or label leave it.
	var kept []inventory.Entry
	for _, c := range staleChanges {
		if c.Action == Kept && !c.released {
			kept = append(kept, inventory.Entry{Component: c.Component, ID: c.ID})
		}
	}
	final := inventory.Union(next, kept)
	if err := a.record(ctx, prev, final, stillListed(created, final), opts.Revision); err != nil {
		return res, err
	}
	return res, nil
}

// record writes the inventory when its entries, created namespaces or
// revision change: a no-op apply writes nothing at all.
func (a *Applier) record(ctx context.Context, inv *inventory.Inventory, entries []inventory.Entry, created []string, revision string) error {
	if inv.Revision == revision && inventory.Equal(inv.Entries, entries) && slices.Equal(inv.Created, created) && !inv.Updated.IsZero() {
		return nil
	}
	inv.Entries, inv.Created, inv.Revision = entries, created, revision
	return inventory.Write(ctx, a.client, inv)
}

// createdNamespaces adds to the namespaces plinth created before those
// this apply creates, sorted.
func createdNamespaces(before []string, items []*item) []string {
	out := slices.Clone(before)
	for _, it := range items {
		if it.action == Created && isNamespace(it.id) && !slices.Contains(out, it.id.Name) {
			out = append(out, it.id.Name)
		}
	}
	slices.Sort(out)
	return out
}

// stillListed keeps the created namespaces that entries still list.
func stillListed(created []string, entries []inventory.Entry) []string {
	var out []string
	for _, name := range created {
		if slices.ContainsFunc(entries, func(e inventory.Entry) bool { return isNamespace(e.ID) && e.Name == name }) {
			out = append(out, name)
		}
	}
	return out
}

func isNamespace(id manifest.ID) bool { return id.Group == "" && id.Kind == "Namespace" }

func isCRD(id manifest.ID) bool {
	return id.Group == "apiextensions.k8s.io" && id.Kind == "CustomResourceDefinition"
}

// itemsOf flattens the components into items with their dependency layer:
// 0 for components without dependencies, else one more than the deepest
// dependency. Each object is a copy (cluster.Copy), without kubectl's
// last-applied-configuration annotation and without the fields that
// controllers in the cluster set (lib/controlled): apply never takes
// those back.
func itemsOf(comps []manifest.Component) ([]*item, error) {
	layer := map[string]int{}
	var items []*item
	controllers := controlled.For(manifest.AllObjects(comps))
	for _, c := range comps {
		l := 0
		for _, d := range c.DependsOn {
			l = max(l, layer[d]+1)
		}
		layer[c.Name] = l
		for _, o := range c.Objects {
			obj, err := cluster.Copy(o)
			if err != nil {
				return nil, fmt.Errorf("component %s: %w", c.Name, err)
			}
			// kubectl's copy of the object (Secret values included) is
			// never applied; ApplyAll removes it from live objects.
			if ann := obj.GetAnnotations(); ann != nil {
				if _, ok := ann[lastApplied]; ok {
					delete(ann, lastApplied)
					obj.SetAnnotations(ann)
				}
			}
			it := &item{component: c.Name, layer: l, obj: obj, id: manifest.IDOf(obj)}
			if controllers.HasInitial(obj) {
				it.initial = obj.DeepCopy()
				controllers.StripKeepingInitial(it.initial)
			}
			controllers.Strip(obj)
			items = append(items, it)
		}
	}
	return items, nil
}

func entries(items []*item) []inventory.Entry {
	es := make([]inventory.Entry, len(items))
	for i, it := range items {
		es[i] = inventory.Entry{Component: it.component, ID: it.id}
	}
	inventory.Sort(es)
	return es
}

func changesOf(items []*item, withDiff bool) []Change {
	out := make([]Change, 0, len(items))
	for _, it := range items {
		c := Change{Component: it.component, ID: it.id, Action: it.action, Reason: it.reason}
		if withDiff {
			c.Diff, c.SecretKeys = it.diff, it.secretKeys
		}
		out = append(out, c)
	}
	return out
}

func sortFailures(fs []Failure) {
	slices.SortFunc(fs, func(x, y Failure) int {
		return cmp.Or(cmp.Compare(x.Component, y.Component), cmp.Compare(x.ID.String(), y.ID.String()))
	})
}
