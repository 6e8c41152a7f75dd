package policy

import "fmt"

// removedAPI is an API version of some kinds that Kubernetes stopped
// serving.
type removedAPI struct {
	minor        int    // removed in Kubernetes 1.<minor>
	groupVersion string // apiVersion as written in manifests
	kinds        []string
	replacement  string // what to do instead, after "; "
}

// removedAPIs are the API removals of Kubernetes that break manifests, from
// the Deprecated API Migration Guide,
// https://kubernetes.io/docs/reference/using-api/deprecation-guide/
// (sections v1.16, v1.22, v1.25, v1.26, v1.27, v1.29, v1.32), as collected
// in the project's research notes (domain-facts §7.1). Alpha APIs, which go
// without the deprecation period, are not listed.
var removedAPIs = []removedAPI{
	{16, "extensions/v1beta1", []string{"Deployment", "DaemonSet", "ReplicaSet"}, "use apps/v1"},
	{16, "extensions/v1beta1", []string{"NetworkPolicy"}, "use networking.k8s.io/v1"},
	{16, "extensions/v1beta1", []string{"PodSecurityPolicy"}, "use policy/v1beta1 (itself removed in 1.25: use Pod Security Admission)"},
	{16, "apps/v1beta1", []string{"Deployment", "StatefulSet", "ReplicaSet"}, "use apps/v1"},
	{16, "apps/v1beta2", []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}, "use apps/v1"},

	{22, "admissionregistration.k8s.io/v1beta1", []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}, "use admissionregistration.k8s.io/v1"},
	{22, "apiextensions.k8s.io/v1beta1", []string{"CustomResourceDefinition"}, "use apiextensions.k8s.io/v1 (a structural schema is required)"},
	{22, "apiregistration.k8s.io/v1beta1", []string{"APIService"}, "use apiregistration.k8s.io/v1"},
	{22, "authentication.k8s.io/v1beta1", []string{"TokenReview"}, "use authentication.k8s.io/v1"},
	{22, "authorization.k8s.io/v1beta1", []string{"LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview"}, "use authorization.k8s.io/v1"},
	{22, "certificates.k8s.io/v1beta1", []string{"CertificateSigningRequest"}, "use certificates.k8s.io/v1"},
	{22, "coordination.k8s.io/v1beta1", []string{"Lease"}, "use coordination.k8s.io/v1"},
	{22, "extensions/v1beta1", []string{"Ingress"}, "use networking.k8s.io/v1 (pathType is required, backend fields are renamed)"},
	{22, "networking.k8s.io/v1beta1", []string{"Ingress"}, "use networking.k8s.io/v1 (pathType is required, backend fields are renamed)"},
	{22, "networking.k8s.io/v1beta1", []string{"IngressClass"}, "use networking.k8s.io/v1"},
	{22, "rbac.authorization.k8s.io/v1beta1", []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, "use rbac.authorization.k8s.io/v1"},
	{22, "rbac.authorization.k8s.io/v1alpha1", []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, "use rbac.authorization.k8s.io/v1"},
	{22, "scheduling.k8s.io/v1beta1", []string{"PriorityClass"}, "use scheduling.k8s.io/v1"},
	{22, "storage.k8s.io/v1beta1", []string{"CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"}, "use storage.k8s.io/v1"},

	{25, "batch/v1beta1", []string{"CronJob"}, "use batch/v1"},
	{25, "discovery.k8s.io/v1beta1", []string{"EndpointSlice"}, "use discovery.k8s.io/v1"},
	{25, "events.k8s.io/v1beta1", []string{"Event"}, "use events.k8s.io/v1"},
	{25, "autoscaling/v2beta1", []string{"HorizontalPodAutoscaler"}, "use autoscaling/v2"},
	{25, "policy/v1beta1", []string{"PodDisruptionBudget"}, "use policy/v1"},
	{25, "policy/v1beta1", []string{"PodSecurityPolicy"}, "there is no replacement: use Pod Security Admission"},
	{25, "node.k8s.io/v1beta1", []string{"RuntimeClass"}, "use node.k8s.io/v1"},

	{26, "autoscaling/v2beta2", []string{"HorizontalPodAutoscaler"}, "use autoscaling/v2"},
	{26, "flowcontrol.apiserver.k8s.io/v1beta1", []string{"FlowSchema", "PriorityLevelConfiguration"}, "use flowcontrol.apiserver.k8s.io/v1 (Kubernetes 1.29+) or v1beta3 (1.26+)"},

	{27, "storage.k8s.io/v1beta1", []string{"CSIStorageCapacity"}, "use storage.k8s.io/v1"},

	{29, "flowcontrol.apiserver.k8s.io/v1beta2", []string{"FlowSchema", "PriorityLevelConfiguration"}, "use flowcontrol.apiserver.k8s.io/v1 (Kubernetes 1.29+) or v1beta3 (1.26+)"},

	{32, "flowcontrol.apiserver.k8s.io/v1beta3", []string{"FlowSchema", "PriorityLevelConfiguration"}, "use flowcontrol.apiserver.k8s.io/v1"},
}

// removedIndex maps "groupVersion Kind" to its removal.
var removedIndex = func() map[string]removedAPI {
	idx := map[string]removedAPI{}
	for _, r := range removedAPIs {
		for _, k := range r.kinds {
			idx[r.groupVersion+" "+k] = r
		}
	}
	return idx
}()

// apiRemoved reports an object whose apiVersion the target Kubernetes no
// longer serves for its kind.
func (c *checker) apiRemoved(o object, report reportFunc) {
	if !c.k8sKnown {
		return
	}
	gv := o.id.APIVersion()
	r, ok := removedIndex[gv+" "+o.id.Kind]
	if !ok || c.k8sMinor < r.minor {
		return
	}
	report(RuleAPIRemoved, "apiVersion",
		fmt.Sprintf("%s %s was removed in Kubernetes 1.%d; %s", gv, o.id.Kind, r.minor, r.replacement))
}
