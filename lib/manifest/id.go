package manifest

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ID identifies an object in a manifest set: its group, version and kind,
// and its namespace and name. Namespace is empty for cluster-scoped objects
// and for namespaced objects that leave it to the applier.
type ID struct {
	Group, Version, Kind, Namespace, Name string
}

// IDOf returns the identity of o.
func IDOf(o *unstructured.Unstructured) ID {
	group, version := splitAPIVersion(o.GetAPIVersion())
	return ID{
		Group:     group,
		Version:   version,
		Kind:      o.GetKind(),
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
	}
}

// splitAPIVersion splits "apps/v1" into "apps" and "v1", and "v1" into ""
// and "v1".
func splitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

// String formats the identity as Kind.group/namespace/name, leaving out
// ".group" for the core group and "namespace/" when there is no namespace:
// "Deployment.apps/kubeflow/ml-pipeline", "Namespace/kubeflow".
func (id ID) String() string {
	var b strings.Builder
	b.WriteString(id.Kind)
	if id.Group != "" {
		b.WriteByte('.')
		b.WriteString(id.Group)
	}
	b.WriteByte('/')
	if id.Namespace != "" {
		b.WriteString(id.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(id.Name)
	return b.String()
}

// GroupKind returns "group/Kind", the key of [CRDScopes] and of the table
// of cluster-scoped kinds; the core group gives "/Kind".
func (id ID) GroupKind() string {
	return id.Group + "/" + id.Kind
}

// APIVersion returns the object's apiVersion: "group/version", or
// "version" for the core group.
func (id ID) APIVersion() string {
	if id.Group == "" {
		return id.Version
	}
	return id.Group + "/" + id.Version
}
