package render

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/plinth-platform/plinth/lib/controlled"
	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
	"github.com/plinth-platform/plinth/overlays"
)

// Options locate the sources of a render.
type Options struct {
	// VendorDir holds the vendored sources; Lock pins them (plinth.lock).
	VendorDir string
	Lock      *source.Lock
	// Cache, when set, keeps each component's rendered objects by a key of
	// everything they depend on, so that a render after a small change
	// (or the other side of a diff) renders only the components it touched.
	Cache Cache
	// Build identifies the plinth binary in cache keys.
	Build string
	// Strict makes a chart template whose output changes on every render
	// (random values, certificates, the clock) an error instead of a warning.
	Strict bool
}

// Cache stores rendered components. Implementations must be safe for
// concurrent use; a failed Put only costs time.
type Cache interface {
	Get(key string) ([]byte, bool)
	Put(key string, data []byte)
}

// Result is a rendered environment.
type Result struct {
	Environment string
	// Components in dependency order, each with its objects in apply order.
	Components []manifest.Component
	// Images are the places where the objects name images, in component and object order.
	Images []ImageUse
}

// Render renders every component of the evaluated environment p.
func Render(ctx context.Context, p *platform.Platform, opts Options) (*Result, error) {
	env := p.Environment.Name
	comps, err := p.Catalog()
	if err != nil {
		return nil, err
	}
	order, err := dependencyOrder(comps)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env, err)
	}
	// Every missing source in one error, before the components render
	// concurrently (each would name only its own, the first to fail).
	if err := checkVendored(env, comps, opts); err != nil {
		return nil, err
	}
	caps, err := capabilities(p)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env, err)
	}
	images, err := locator(p)
	if err != nil {
		return nil, err
	}

	trees := &treeCache{trees: map[string]filesys.FileSystem{}}
	defer trees.close()
	results := make([]manifest.Component, len(order))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, name := range order {
		c := comps[name]
		g.Go(func() error {
			objs, warnings, err := renderRecovered(gctx, c, opts, caps, trees)
			if err != nil {
				return fmt.Errorf("environment %s: component %s: %w", env, name, err)
			}
			results[i] = manifest.Component{Name: name, DependsOn: c.DependsOn, Objects: objs, Warnings: warnings}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	r := &Result{Environment: env, Components: results}
	scopes := map[string]bool{}
	for _, c := range results {
		for k, v := range manifest.CRDScopes(c.Objects) {
			scopes[k] = v
		}
	}
	namespaces := createdNamespaces(comps, results)
	controllers := controlled.For(manifest.AllObjects(results))
	for i := range r.Components {
		c := &r.Components[i]
		if err := postprocess(env, comps[c.Name], c, namespaces[c.Name], scopes, images, controllers, &r.Images); err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", env, c.Name, err)
		}
		manifest.Sort(c.Objects)
	}
	if err := checkDuplicates(env, r.Components); err != nil {
		return nil, err
	}
	return r, nil
}

// MissingSourcesError is a render's error when sources of the environment
// are not vendored (not in the lock, or not in the vendor directory).
type MissingSourcesError struct {
	Environment string
	// Sources are the missing sources, one line each, sorted: the source,
	// the components that use it and why it is missing, e.g.
	// "chart kube-prometheus-stack 88.5.3 (monitoring): not in plinth.lock".
	Sources []string
}

func (e *MissingSourcesError) Error() string {
	var b strings.Builder
	n := len(e.Sources)
	noun := "sources are"
	if n == 1 {
		noun = "source is"
	}
	fmt.Fprintf(&b, "environment %s: %d %s not vendored: run plinth vendor %s", e.Environment, n, noun, e.Environment)
	for _, s := range e.Sources {
		b.WriteString("\n  ")
		b.WriteString(s)
	}
	return b.String()
}

// checkVendored names, in one error, every source of comps that is not
// vendored, with the components that use it.
func checkVendored(env string, comps map[string]*platform.Component, opts Options) error {
	missing := source.Missing(opts.VendorDir, opts.Lock, Sources(comps))
	if len(missing) == 0 {
		return nil
	}
	users := map[string][]string{} // source key → components, sorted
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		for _, s := range Sources(map[string]*platform.Component{name: comps[name]}) {
			users[s.Key()] = append(users[s.Key()], name)
		}
	}
	lines := make([]string, 0, len(missing))
	for _, m := range missing {
		lines = append(lines, fmt.Sprintf("%s (%s): %s", m.Source, strings.Join(users[m.Source.Key()], ", "), m.Reason))
	}
	slices.Sort(lines)
	return &MissingSourcesError{Environment: env, Sources: lines}
}

// renderRecovered is renderComponent with a panic (of the Helm SDK,
// krusty, CUE or plinth itself) turned into the component's error, so one
// bad component fails its render instead of the process.
func renderRecovered(ctx context.Context, c *platform.Component, opts Options, caps Capabilities, trees *treeCache) (objs []*unstructured.Unstructured, warnings []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			objs, warnings, err = nil, nil, fmt.Errorf("render panicked: %v", r)
		}
	}()
	return renderComponent(ctx, c, opts, caps, trees)
}

// renderComponent renders a component (or takes its raw render from the
// cache) and applies its patches.
func renderComponent(ctx context.Context, c *platform.Component, opts Options, caps Capabilities, trees *treeCache) ([]*unstructured.Unstructured, []string, error) {
	objs, warnings, err := renderCached(ctx, c, opts, caps, trees)
	if err != nil {
		return nil, nil, err
	}
	return applyPatches(c, objs, warnings)
}

// renderCached renders a component's parts, through the cache when there
// is one (its entries hold the raw render, before patches).
func renderCached(ctx context.Context, c *platform.Component, opts Options, caps Capabilities, trees *treeCache) ([]*unstructured.Unstructured, []string, error) {
	if c.Unsupported != "" {
		return nil, nil, fmt.Errorf("%s", c.Unsupported)
	}
	if opts.Cache == nil {
		return renderParts(ctx, c, opts, caps, trees)
	}
	key, err := componentKey(c, opts, caps)
	if err != nil {
		return nil, nil, err
	}
	if data, ok := opts.Cache.Get(key); ok {
		if objs, warnings, err := decodeCached(data); err == nil {
			return objs, warnings, nil
		}
	}
	objs, warnings, err := renderParts(ctx, c, opts, caps, trees)
	if err != nil {
		return nil, nil, err
	}
	if data, err := encodeCached(objs, warnings); err == nil {
		opts.Cache.Put(key, data)
	}
	return objs, warnings, nil
}

// renderParts renders a component's charts, bases and objects, before
// post-processing.
func renderParts(ctx context.Context, c *platform.Component, opts Options, caps Capabilities, trees *treeCache) ([]*unstructured.Unstructured, []string, error) {
	var objs []*unstructured.Unstructured
	var warnings []string
	for _, h := range c.Helm {
		archive, err := source.Resolve(opts.VendorDir, opts.Lock, chartSource(h))
		if err != nil {
			return nil, nil, err
		}
		o, w, err := renderChart(ctx, archive, h, c.Values, caps, opts.Strict)
		if err != nil {
			return nil, nil, err
		}
		defaultNamespace(o, h.Namespace)
		objs, warnings = append(objs, o...), append(warnings, w...)
	}
	for i, k := range c.Kustomize {
		mem, label, err := trees.get(opts, k)
		if err != nil {
			return nil, nil, err
		}
		o, w, err := buildKustomize(mem, label, fmt.Sprintf("%s-%d", c.Name, i), k.Paths)
		if err != nil {
			return nil, nil, err
		}
		objs, warnings = append(objs, o...), append(warnings, w...)
	}
	for i, m := range c.Objects {
		o := &unstructured.Unstructured{Object: m}
		if o.GetKind() == "" || o.GetAPIVersion() == "" || o.GetName() == "" {
			return nil, nil, fmt.Errorf("object %d has no apiVersion, kind or name", i)
		}
		objs = append(objs, o)
	}
	return objs, warnings, nil
}

// treeCache shares one in-memory copy of each source tree between the
// components that build from it (cert-manager, Istio and Kubeflow all
// come from kubeflow/manifests).
type treeCache struct {
	mu    sync.Mutex
	trees map[string]filesys.FileSystem
}

// close releases the trees read from disk.
func (t *treeCache) close() {
	for _, mem := range t.trees {
		if lazy, ok := mem.(*lazyTree); ok {
			lazy.root.Close()
		}
	}
}

func (t *treeCache) get(opts Options, k platform.KustomizePart) (filesys.FileSystem, string, error) {
	var key, label string
	switch {
	case k.Git != nil:
		key, label = "git:"+k.Git.URL+"@"+k.Git.Ref, fmt.Sprintf("%s@%s", k.Git.URL, k.Git.Ref)
	case k.Overlay != "":
		key, label = "overlay:"+k.Overlay, "overlays/"+k.Overlay
	default:
		return nil, "", fmt.Errorf("a kustomize part needs a git source or an overlay")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Verify and copy a tree once per render, however many parts use it.
	if mem, ok := t.trees[key]; ok {
		return mem, label, nil
	}
	var mem filesys.FileSystem
	if k.Git != nil {
		dir, err := source.Resolve(opts.VendorDir, opts.Lock, source.Source{URL: k.Git.URL, Ref: k.Git.Ref})
		if err != nil {
			return nil, "", err
		}
		if mem, err = diskTree(dir, label); err != nil {
			return nil, "", err
		}
	} else {
		sub, err := fs.Sub(overlays.FS, k.Overlay)
		if err != nil {
			return nil, "", err
		}
		if mem, err = memTree(sub, label); err != nil {
			return nil, "", err
		}
	}
	t.trees[key] = mem
	return mem, label, nil
}

// capabilities: the cluster's Kubernetes version as Helm parses it and the
// extra API versions the catalog lists.
func capabilities(p *platform.Platform) (Capabilities, error) {
	v, err := p.KubernetesVersion()
	if err != nil {
		return Capabilities{}, err
	}
	v = strings.TrimPrefix(v, "v")
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	facts, err := p.RenderFacts()
	if err != nil {
		return Capabilities{}, err
	}
	return Capabilities{KubeVersion: "v" + v, APIVersions: facts.APIVersions}, nil
}

// dependencyOrder sorts components so that each comes after those it
// depends on; ties go by name. A cycle or a dependency on a component
// that is not enabled is an error naming them.
func dependencyOrder(comps map[string]*platform.Component) ([]string, error) {
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		for _, d := range comps[name].DependsOn {
			if _, ok := comps[d]; !ok {
				return nil, fmt.Errorf("component %s depends on %s, which is not enabled", name, d)
			}
		}
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, stack []string) error
	visit = func(name string, stack []string) error {
		switch state[name] {
		case 1:
			i := slices.Index(stack, name)
			return fmt.Errorf("dependsOn cycle: %s", strings.Join(append(stack[i:], name), " → "))
		case 2:
			return nil
		}
		state[name] = 1
		deps := slices.Clone(comps[name].DependsOn)
		slices.Sort(deps)
		for _, d := range slices.Compact(deps) {
			if err := visit(d, append(stack, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// checkDuplicates fails when two objects have the same identity: the
// cluster would see one overwrite the other.
func checkDuplicates(env string, comps []manifest.Component) error {
	where := map[string]string{}
	var dups []string
	for _, c := range comps {
		for _, o := range c.Objects {
			id := manifest.IDOf(o).String()
			if prev, ok := where[id]; ok {
				dups = append(dups, fmt.Sprintf("%s (in %s and %s)", id, prev, c.Name))
				continue
			}
			where[id] = c.Name
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("environment %s: objects rendered twice: %s", env, strings.Join(dups, "; "))
	}
	return nil
}
