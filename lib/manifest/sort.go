package manifest

import (
	"cmp"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// applyFirst lists the kinds applied before all others, in this order, and
// applyLast those applied after them. It is kustomize's legacy order as the
// Kubeflow manifests' example kustomization configures it (sortOptions,
// legacySortOptions): namespaces and CRDs first, so that the objects that
// live in them can be created, validating webhooks last, so that they do
// not reject objects of the same set.
var (
	applyFirst = []string{
		"Namespace",
		"ResourceQuota",
		"StorageClass",
		"CustomResourceDefinition",
		"MutatingWebhookConfiguration",
		"ServiceAccount",
		"PodSecurityPolicy",
		"NetworkPolicy",
		"Role",
		"ClusterRole",
		"RoleBinding",
		"ClusterRoleBinding",
		"ConfigMap",
		"Secret",
		"Endpoints",
		"Service",
		"LimitRange",
		"PriorityClass",
		"PersistentVolume",
		"PersistentVolumeClaim",
		"Deployment",
		"StatefulSet",
		"CronJob",
		"PodDisruptionBudget",
	}
	applyLast = []string{
		"ValidatingWebhookConfiguration",
	}
	kindRank = func() map[string]int {
		rank := make(map[string]int, len(applyFirst)+len(applyLast))
		for i, k := range applyFirst {
			rank[k] = i - len(applyFirst) // negative: before other kinds (0)
		}
		for i, k := range applyLast {
			rank[k] = i + 1 // positive: after other kinds
		}
		return rank
	}()
)

// Sort puts objs in apply order, in place: by kind rank (see the legacy
// kustomize order in the package source: Namespace, ResourceQuota,
// StorageClass, CustomResourceDefinition, … PodDisruptionBudget, then every
// other kind, then ValidatingWebhookConfiguration), then by kind, group,
// namespace and name. The sort is stable, so objects with the same
// identity keep their relative order.
func Sort(objs []*unstructured.Unstructured) {
	keyed := make([]keyedObject, len(objs))
	for i, o := range objs {
		keyed[i] = keyedObject{id: IDOf(o), obj: o}
	}
	sort.SliceStable(keyed, func(i, j int) bool { return less(keyed[i].id, keyed[j].id) })
	for i := range keyed {
		objs[i] = keyed[i].obj
	}
}

type keyedObject struct {
	id  ID
	obj *unstructured.Unstructured
}

// less orders identities for [Sort].
func less(a, b ID) bool {
	return cmp.Or(
		cmp.Compare(kindRank[a.Kind], kindRank[b.Kind]),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	) < 0
}
