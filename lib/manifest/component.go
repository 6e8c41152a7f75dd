package manifest

import "k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

// What marks an object as plinth's, in the cluster: render puts the labels
// on every object, apply writes as FieldManager.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelEnvironment = "plinth.dev/environment"
	LabelComponent   = "plinth.dev/component"
	FieldManager     = "plinth"
)

// Component is one component of an environment as rendered: its objects
// in apply order, the components it depends on, and what the tools said
// while rendering it. An environment's manifest set is its components in
// dependency order; render makes it, apply, drift and diff take it.
type Component struct {
	Name      string
	DependsOn []string
	Objects   []*unstructured.Unstructured
	// Warnings are what the tools said while rendering (deprecated charts, kustomize deprecations).
	Warnings []string
}

// AllObjects returns the objects of every component, in order.
func AllObjects(comps []Component) []*unstructured.Unstructured {
	var all []*unstructured.Unstructured
	for _, c := range comps {
		all = append(all, c.Objects...)
	}
	return all
}
