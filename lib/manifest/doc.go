// Package manifest holds Kubernetes objects as plinth renders them: parsed
// from the YAML or JSON a renderer produced, identified, put in apply
// order, encoded canonically and digested.
//
// Objects are [unstructured.Unstructured] values, so any kind, built-in or
// custom, passes through unchanged. The package also knows which kinds are
// cluster-scoped ([ClusterScoped], [CRDScopes]) and where the containers of
// an object are ([Containers], [SetImage]), generically, so that Pod
// templates inside custom resources are found as well as those of
// Deployments and Jobs.
//
// [unstructured.Unstructured]: https://pkg.go.dev/k8s.io/apimachinery/pkg/apis/meta/v1/unstructured#Unstructured
package manifest
