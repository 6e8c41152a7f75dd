package render

import (
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/controlled"
	"github.com/plinth-platform/plinth/lib/image"
	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
)

// defaultNamespace puts the namespaced objects of a chart that name no
// namespace into the release namespace, as Helm would when installing.
func defaultNamespace(objs []*unstructured.Unstructured, ns string) {
	scopes := manifest.CRDScopes(objs)
	for _, o := range objs {
		if o.GetNamespace() == "" && !manifest.ClusterScoped(manifest.IDOf(o), scopes) {
			o.SetNamespace(ns)
		}
	}
}

// postprocess makes a component's objects plinth's: the namespaces it
// creates exist (see createdNamespaces), every object carries plinth's
// labels, fields that controllers in the cluster set are left out (see
// lib/controlled: an empty caBundle rendered would be asserted against
// the CA cert-manager injects), and every image the locator knows
// (image.Locator) points at the mirrors and is recorded in uses.
func postprocess(env string, c *platform.Component, r *manifest.Component, namespaces []string, scopes map[string]bool, images image.Locator, controllers *controlled.Set, uses *[]ImageUse) error {
	for _, name := range namespaces {
		if !hasNamespace(r.Objects, name) {
			ns := &unstructured.Unstructured{}
			ns.SetAPIVersion("v1")
			ns.SetKind("Namespace")
			ns.SetName(name)
			r.Objects = append(r.Objects, ns)
		}
	}
	// Objects are independent here; the image locator's walk over every
	// field is most of the time, so they go over every core, and their
	// uses are collected in object order.
	found := make([][]image.Use, len(r.Objects))
	errs := make([]error, len(r.Objects))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, o := range r.Objects {
		g.Go(func() error {
			if manifest.ClusterScoped(manifest.IDOf(o), scopes) && o.GetNamespace() != "" {
				o.SetNamespace("") // charts sometimes set it on cluster-scoped kinds; the API server ignores it
			}
			labels := o.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			labels[manifest.LabelManagedBy] = "plinth"
			labels[manifest.LabelEnvironment] = env
			labels[manifest.LabelComponent] = c.Name
			o.SetLabels(labels)
			controllers.StripKeepingInitial(o)
			found[i], errs[i] = images.Rewrite(o)
			return nil
		})
	}
	g.Wait() // every goroutine returns nil: errors are kept per object
	for i, o := range r.Objects {
		if errs[i] != nil {
			return fmt.Errorf("%s: %w", manifest.IDOf(o), errs[i])
		}
		for _, u := range found[i] {
			*uses = append(*uses, ImageUse{Component: c.Name, Object: manifest.IDOf(o).String(), Use: u})
		}
	}
	return nil
}

func hasNamespace(objs []*unstructured.Unstructured, name string) bool {
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" && o.GetName() == name {
			return true
		}
	}
	return false
}

// createdNamespaces says which namespaces each component creates: its
// own namespace, and the namespace of each of its charts that no
// component creates or renders (as helm install --create-namespace
// would), so that every namespaced object has its namespace exactly once.
func createdNamespaces(comps map[string]*platform.Component, results []manifest.Component) map[string][]string {
	made := map[string]bool{}
	out := map[string][]string{}
	for _, r := range results {
		if ns := comps[r.Name].Namespace; ns != "" {
			made[ns] = true
			out[r.Name] = append(out[r.Name], ns)
		}
		for _, o := range r.Objects {
			if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
				made[o.GetName()] = true
			}
		}
	}
	for _, r := range results {
		for _, h := range comps[r.Name].Helm {
			if h.Namespace != "" && !made[h.Namespace] {
				made[h.Namespace] = true
				out[r.Name] = append(out[r.Name], h.Namespace)
			}
		}
	}
	return out
}
