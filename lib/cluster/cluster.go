package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/inventory"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// Cluster is a connection to one cluster.
type Cluster struct {
	Client  client.Client
	Manager *ssa.ResourceManager

	cfg  *rest.Config
	http *http.Client
}

// Connect returns a Cluster for the API server cfg points at.
func Connect(cfg *rest.Config) (*Cluster, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	return connect(cfg, hc)
}

// Fresh returns a Cluster over the same HTTP client that knows nothing
// yet of the kinds the cluster serves. A client maps each kind to its
// resource once and keeps the mapping (its RESTMapper asks discovery
// again only for a kind it does not know), so a kind that stopped being
// served (its CRD deleted) would still go to its old resource and fail as
// "not found" rather than "not served". An Applier or Checker used for
// many operations (the controller's, one per environment) starts each
// with a fresh one: discovery as current as a new connection's, at the
// same cost (it is lazy).
func (c *Cluster) Fresh() (*Cluster, error) { return connect(c.cfg, c.http) }

func connect(cfg *rest.Config, hc *http.Client) (*Cluster, error) {
	c, err := client.New(cfg, client.Options{HTTPClient: hc})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", cfg.Host, err)
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	return &Cluster{Client: c, Manager: ssa.NewResourceManager(c, poller, ssa.Owner{Field: manifest.FieldManager, Group: "plinth.dev"}), cfg: cfg, http: hc}, nil
}

// Live holds the environment's objects in the cluster by LiveKey.
type Live map[string]*unstructured.Unstructured

// LiveKey identifies a live object as listed in one version: the server
// returns every object of a kind in each version asked for.
func LiveKey(id manifest.ID) string { return inventory.Key(id) + "@" + id.Version }

// Get returns the live object for id (in id's version), or nil.
func (l Live) Get(id manifest.ID) *unstructured.Unstructured { return l[LiveKey(id)] }

// List lists the objects labelled as env's, of every kind and version
// among objs, one request each, concurrency at a time. Kinds the cluster
// does not serve yet have no objects.
func (c *Cluster) List(ctx context.Context, env string, objs []*unstructured.Unstructured, concurrency int) (Live, error) {
	kinds := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		kinds[o.GroupVersionKind()] = true
	}
	var mu sync.Mutex
	out := Live{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for gvk := range kinds {
		g.Go(func() error {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			err := c.Client.List(gctx, list, client.MatchingLabels{manifest.LabelEnvironment: env})
			if NotServed(err) || apierrors.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("listing %s: %w", gvk.Kind, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range list.Items {
				o := &list.Items[i]
				o.SetGroupVersionKind(gvk)
				out[LiveKey(manifest.IDOf(o))] = o
			}
			return nil
		})
	}
	return out, g.Wait()
}

// DryRun applies obj as plinth in server-side dry-run mode; obj receives
// the result. force takes fields other managers own, as a re-apply would.
func (c *Cluster) DryRun(ctx context.Context, obj *unstructured.Unstructured, force bool) error {
	opts := []client.PatchOption{client.DryRunAll, client.FieldOwner(manifest.FieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	// The same request fluxcd/pkg/ssa makes (Client.Apply would need
	// typed apply configurations).
	//lint:ignore SA1019 server-side apply of unstructured objects, as ssa does
	return c.Client.Patch(ctx, obj, client.Apply, opts...)
}

// NotServed reports whether err says the cluster does not serve the kind.
func NotServed(err error) bool {
	return err != nil && (meta.IsNoMatchError(err) || strings.Contains(err.Error(), "no matches for kind"))
}

// DropIgnoredNamespace clears obj's namespace when dry, its dry-run
// result, has none: the kind is cluster-scoped and the server ignored it,
// so every later request about the object (waits, prune, inventory) must
// too. It reports whether it cleared it.
func DropIgnoredNamespace(obj, dry *unstructured.Unstructured) bool {
	if dry.GetNamespace() == "" && obj.GetNamespace() != "" {
		obj.SetNamespace("")
		return true
	}
	return false
}

// MissingNamespace reports whether err says the object's namespace does
// not exist (an apply creates a missing object itself).
func MissingNamespace(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d != nil && d.Kind == "namespaces"
}

// Copy returns a copy of o made through JSON: values built in Go (an
// int, say) become the JSON types unstructured objects must hold, and
// the caller's object stays untouched.
func Copy(o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	data, err := o.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", manifest.IDOf(o), err)
	}
	return obj, nil
}

// Apply writes objs with one server-side apply each, taking over fields
// other managers hold (as fluxcd/pkg/ssa's ApplyAll, whose GET and second
// dry run per object it spares: the caller planned them). Kinds go in
// ssa's reconcile order (CRDs, Namespaces, accounts, roles, ConfigMaps
// and the like first, webhook configurations last), one rank after the
// other; the objects of one rank go concurrency at a time. Each object
// receives the result.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured, concurrency int) error {
	ranks := map[int][]*unstructured.Unstructured{}
	for _, o := range objs {
		r := rank(o.GetKind())
		ranks[r] = append(ranks[r], o)
	}
	for _, r := range slices.Sorted(maps.Keys(ranks)) {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(concurrency, 1))
		for _, o := range ranks[r] {
			g.Go(func() error {
				if gctx.Err() != nil {
					return gctx.Err() // an earlier write failed: start no more
				}
				utils.RemoveCABundleFromCRD(o)
				err := c.apply(gctx, o)
				// A CRD established a moment ago may not be in discovery,
				// nor in this client's mapping of kinds, yet: ask again
				// with a fresh mapping, for up to 5 s.
				for try := 0; NotServed(err) && try < 10 && gctx.Err() == nil; try++ {
					time.Sleep(500 * time.Millisecond)
					fresh, ferr := c.Fresh()
					if ferr != nil {
						break
					}
					err = fresh.apply(gctx, o)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", manifest.IDOf(o), err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) apply(ctx context.Context, o *unstructured.Unstructured) error {
	//lint:ignore SA1019 server-side apply of unstructured objects, as ssa does
	return c.Client.Patch(ctx, o, client.Apply, client.ForceOwnership, client.FieldOwner(manifest.FieldManager))
}

// rank is kind's place in ssa.ReconcileOrder: the kinds it lists first
// below zero, in order, those it lists last above, every other kind 0.
func rank(kind string) int {
	if i := slices.Index(ssa.ReconcileOrder.First, kind); i >= 0 {
		return i - len(ssa.ReconcileOrder.First)
	}
	if i := slices.Index(ssa.ReconcileOrder.Last, kind); i >= 0 {
		return i + 1
	}
	return 0
}
