package manifest

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// clusterScoped lists the cluster-scoped kinds plinth knows without a CRD
// in the set, keyed by "group/Kind" ("/Kind" for the core group).
//
// Built-in kinds are those of the Kubernetes API reference. The custom kinds
// are the cluster-scoped ones of the stacks plinth deploys, checked against
// their CRDs (spec.scope: Cluster): cert-manager, Kubeflow (profiles,
// trainer, training-operator, KServe, Knative serving, Argo Workflows,
// metacontroller, as in the kubeflow/manifests release) and OpenShift/OKD.
// A CRD in the set overrides this table (see [CRDScopes]).
var clusterScoped = map[string]bool{
	// core
	"/ComponentStatus":  true,
	"/Namespace":        true,
	"/Node":             true,
	"/PersistentVolume": true,
	// admissionregistration.k8s.io
	"admissionregistration.k8s.io/MutatingAdmissionPolicy":          true,
	"admissionregistration.k8s.io/MutatingAdmissionPolicyBinding":   true,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":     true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy":        true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": true,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration":   true,
	// apiextensions.k8s.io, apiregistration.k8s.io
	"apiextensions.k8s.io/CustomResourceDefinition": true,
	"apiregistration.k8s.io/APIService":             true,
	// certificates.k8s.io
	"certificates.k8s.io/CertificateSigningRequest": true,
	"certificates.k8s.io/ClusterTrustBundle":        true,
	// flowcontrol.apiserver.k8s.io
	"flowcontrol.apiserver.k8s.io/FlowSchema":                 true,
	"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": true,
	// networking.k8s.io
	"networking.k8s.io/IngressClass": true,
	"networking.k8s.io/IPAddress":    true,
	"networking.k8s.io/ServiceCIDR":  true,
	// node.k8s.io, scheduling.k8s.io
	"node.k8s.io/RuntimeClass":        true,
	"scheduling.k8s.io/PriorityClass": true,
	// policy, extensions (PodSecurityPolicy, removed in 1.25)
	"extensions/PodSecurityPolicy": true,
	"policy/PodSecurityPolicy":     true,
	// rbac.authorization.k8s.io
	"rbac.authorization.k8s.io/ClusterRole":        true,
	"rbac.authorization.k8s.io/ClusterRoleBinding": true,
	// resource.k8s.io
	"resource.k8s.io/DeviceClass":   true,
	"resource.k8s.io/ResourceSlice": true,
	// storage.k8s.io
	"storage.k8s.io/CSIDriver":             true,
	"storage.k8s.io/CSINode":               true,
	"storage.k8s.io/StorageClass":          true,
	"storage.k8s.io/VolumeAttachment":      true,
	"storage.k8s.io/VolumeAttributesClass": true,

	// cert-manager
	"cert-manager.io/ClusterIssuer": true,
	// Kubeflow: profiles, trainer, training-operator v2, KServe
	"kubeflow.org/Profile":                        true,
	"kubeflow.org/ClusterTrainingRuntime":         true,
	"trainer.kubeflow.org/ClusterTrainingRuntime": true,
	"serving.kserve.io/ClusterServingRuntime":     true,
	"serving.kserve.io/ClusterStorageContainer":   true,
	"serving.kserve.io/LocalModelCache":           true,
	"serving.kserve.io/LocalModelNode":            true,
	"serving.kserve.io/LocalModelNodeGroup":       true,
	// Knative serving, Argo Workflows, metacontroller (KFP multi-user)
	"networking.internal.knative.dev/ClusterDomainClaim": true,
	"argoproj.io/ClusterWorkflowTemplate":                true,
	"metacontroller.k8s.io/CompositeController":          true,
	"metacontroller.k8s.io/DecoratorController":          true,
	// OpenShift / OKD
	"security.openshift.io/SecurityContextConstraints": true,
	"operator.openshift.io/ImageContentSourcePolicy":   true,
	"config.openshift.io/ImageDigestMirrorSet":         true,
	"config.openshift.io/ImageTagMirrorSet":            true,
}

// ClusterScoped reports whether objects of id's group and kind are
// cluster-scoped. crdScopes, as [CRDScopes] returns it, takes precedence;
// kinds it does not name are looked up in plinth's table of built-in
// Kubernetes kinds and well-known custom kinds. Unknown kinds are taken to
// be namespaced.
func ClusterScoped(id ID, crdScopes map[string]bool) bool {
	if cluster, ok := crdScopes[id.GroupKind()]; ok {
		return cluster
	}
	return clusterScoped[id.GroupKind()]
}

// CRDScopes returns the scope of every CustomResourceDefinition in objs,
// keyed by "group/Kind" of the resource it defines: true when its
// spec.scope is Cluster, false otherwise.
func CRDScopes(objs []*unstructured.Unstructured) map[string]bool {
	scopes := map[string]bool{}
	for _, o := range objs {
		id := IDOf(o)
		if id.Group != "apiextensions.k8s.io" || id.Kind != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		if group == "" || kind == "" {
			continue
		}
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		scopes[group+"/"+kind] = scope == "Cluster"
	}
	return scopes
}
