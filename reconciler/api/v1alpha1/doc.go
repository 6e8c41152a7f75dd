// Package v1alpha1 is the plinth.dev/v1alpha1 API: the Environment
// custom resource that tells a plinth controller which environment of
// which git repository to keep applied. Field names are a public
// contract. The CRD manifest (overlays/plinth-controller/crd, which the
// plinth component renders) and the deep-copy functions are generated
// from these types: make generate.
//
// +kubebuilder:object:generate=true
// +groupName=plinth.dev
package v1alpha1
