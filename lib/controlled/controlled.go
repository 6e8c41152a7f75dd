package controlled

import (
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Rule is one controller and the fields it sets on the objects it selects.
type Rule struct {
	// Owner names the controller.
	Owner string
	// Manager is its field manager as managedFields show it, and Operation
	// how it writes ("Apply" or "Update"): the tests write the same way.
	Manager   string
	Operation string
	// Source documents the behaviour.
	Source string
	// Fields are the fields it sets, per kind.
	Fields []Field
	// selects tells the objects it writes to among those of Fields' kinds.
	selects func(o *unstructured.Unstructured, s *Set) bool
}

// Field is a field of one kind: Kind is "<group>/<Kind>" ("/Kind" for the
// core group), Path a JSON pointer whose "*" stands for every list item.
// Initial marks a rendered value that must be there when the object is
// created and is the controller's afterwards (istiod's validating webhook
// starts as failurePolicy Ignore, so that installing Istio's own objects
// does not wait for istiod, and istiod sets Fail once it serves).
type Field struct {
	Kind    string
	Path    string
	Initial bool
}

// caBundles are where a CA bundle lives in each kind that has one.
var caBundles = []Field{
	{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
	{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
	{Kind: "apiextensions.k8s.io/CustomResourceDefinition", Path: "/spec/conversion/webhook/clientConfig/caBundle"},
	{Kind: "apiregistration.k8s.io/APIService", Path: "/spec/caBundle"},
}

// Rules is the table.
var Rules = []Rule{
	{
		Owner:     "cert-manager's cainjector",
		Manager:   "cert-manager-cainjector",
		Operation: "Apply",
		Source:    "https://cert-manager.io/docs/concepts/ca-injector/ (annotations inject-ca-from, inject-ca-from-secret, inject-apiserver-ca; cainjector applies with force as cert-manager-cainjector, or updates without the ServerSideApply feature gate)",
		Fields:    caBundles,
		selects: annotated("cert-manager.io/inject-ca-from", "cert-manager.io/inject-ca-from-secret",
			"cert-manager.io/inject-apiserver-ca"),
	},
	{
		Owner:     "OpenShift's service CA operator",
		Manager:   "service-ca-operator",
		Operation: "Update",
		Source:    "https://docs.okd.io/latest/security/certificates/service-serving-certificate.html (annotation service.beta.openshift.io/inject-cabundle; ConfigMaps get data.service-ca.crt)",
		Fields:    append([]Field{{Kind: "/ConfigMap", Path: "/data/service-ca.crt"}}, caBundles...),
		selects:   annotated("service.beta.openshift.io/inject-cabundle"),
	},
	{
		Owner:     "istiod (sidecar injector webhook patcher)",
		Manager:   "pilot-discovery",
		Operation: "Update",
		Source:    "istio/istio pkg/webhooks/webhookpatch.go: patches the caBundle of the injector webhooks labelled istio.io/rev",
		Fields:    []Field{{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"}},
		selects:   labelled("istio.io/rev"),
	},
	{
		Owner:     "istiod (validation webhook controller)",
		Manager:   "pilot-discovery",
		Operation: "Update",
		Source:    "istio/istio pkg/webhooks/validation/controller: sets caBundle and failurePolicy (Ignore until its webhook serves, then Fail) of the validating webhooks labelled istio.io/rev",
		Fields: []Field{
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/failurePolicy", Initial: true},
		},
		selects: labelled("istio.io/rev"),
	},
	{
		Owner:     "Knative's webhooks",
		Manager:   "webhook",
		Operation: "Update",
		Source:    "knative/pkg webhook/resourcesemantics and configmaps: each webhook sets rules, caBundle and service path of its own configuration; webhook/resourcesemantics/conversion sets the CRDs' conversion caBundle",
		Fields: []Field{
			{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
			{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/service/path"},
			{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/rules"},
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/service/path"},
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/rules"},
			{Kind: "apiextensions.k8s.io/CustomResourceDefinition", Path: "/spec/conversion/webhook/clientConfig/caBundle"},
		},
		selects: labelled("app.kubernetes.io/name", "knative-serving", "knative-eventing"),
	},
	{
		Owner:     "kube-webhook-certgen (kube-prometheus-stack's admission webhook patch job)",
		Manager:   "kube-webhook-certgen",
		Operation: "Apply",
		Source:    "jet/kube-webhook-certgen, as kube-prometheus-stack runs it: applies caBundle with force as kube-webhook-certgen",
		Fields: []Field{
			{Kind: "admissionregistration.k8s.io/MutatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
			{Kind: "admissionregistration.k8s.io/ValidatingWebhookConfiguration", Path: "/webhooks/*/clientConfig/caBundle"},
		},
		selects: labelled("app.kubernetes.io/component", "prometheus-operator-webhook"),
	},
	{
		Owner:     "the HorizontalPodAutoscaler controller (kube-controller-manager)",
		Manager:   "kube-controller-manager",
		Operation: "Update",
		Source:    "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#migrating-deployments-and-statefulsets-to-horizontal-autoscaling (the HPA writes replicas through the scale subresource)",
		Fields: []Field{
			{Kind: "apps/Deployment", Path: "/spec/replicas"},
			{Kind: "apps/StatefulSet", Path: "/spec/replicas"},
			{Kind: "apps/ReplicaSet", Path: "/spec/replicas"},
		},
		selects: func(o *unstructured.Unstructured, s *Set) bool { return s.scaled[target(o)] },
	},
	{
		Owner:     "the ClusterRole aggregation controller (kube-controller-manager)",
		Manager:   "clusterrole-aggregation-controller",
		Operation: "Apply",
		Source:    "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles (the control plane overwrites the rules of a ClusterRole with an aggregationRule)",
		Fields:    []Field{{Kind: "rbac.authorization.k8s.io/ClusterRole", Path: "/rules"}},
		selects: func(o *unstructured.Unstructured, _ *Set) bool {
			_, ok := o.Object["aggregationRule"]
			return ok
		},
	},
}

// Set is what the table says about one set of objects (an environment):
// some rules depend on other objects of the set (an HPA and its target).
type Set struct {
	scaled map[scaleTarget]bool
}

type scaleTarget struct{ group, kind, namespace, name string }

func target(o *unstructured.Unstructured) scaleTarget {
	return scaleTarget{o.GroupVersionKind().Group, o.GetKind(), o.GetNamespace(), o.GetName()}
}

// For returns the Set of objs.
func For(objs []*unstructured.Unstructured) *Set {
	s := &Set{scaled: map[scaleTarget]bool{}}
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" || o.GroupVersionKind().Group != "autoscaling" {
			continue
		}
		apiVersion, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "apiVersion")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		gv, _ := schema.ParseGroupVersion(apiVersion)
		s.scaled[scaleTarget{gv.Group, kind, o.GetNamespace(), name}] = true
	}
	return s
}

// Fields returns the fields of o that controllers set, as patterns.
func (s *Set) Fields(o *unstructured.Unstructured) []Field {
	kind := o.GroupVersionKind().Group + "/" + o.GetKind()
	var out []Field
	for _, r := range Rules {
		var of []Field
		for _, f := range r.Fields {
			if f.Kind == kind {
				of = append(of, f)
			}
		}
		if len(of) > 0 && r.selects(o, s) {
			out = append(out, of...)
		}
	}
	return out
}

// HasInitial reports whether o has a field whose rendered value is only
// for creating it (Field.Initial).
func (s *Set) HasInitial(o *unstructured.Unstructured) bool {
	return slices.ContainsFunc(s.Fields(o), func(f Field) bool { return f.Initial })
}

// Strip removes from o the fields that controllers set and returns their
// paths (JSON pointers, list items by index): o as plinth applies it to
// an object that exists, and as the drift check compares it.
func (s *Set) Strip(o *unstructured.Unstructured) []string {
	return s.strip(o, true)
}

// StripKeepingInitial is Strip but keeps Initial fields: o as plinth
// renders it and creates it.
func (s *Set) StripKeepingInitial(o *unstructured.Unstructured) []string {
	return s.strip(o, false)
}

func (s *Set) strip(o *unstructured.Unstructured, initial bool) []string {
	var removed []string
	for _, f := range s.Fields(o) {
		if f.Initial && !initial {
			continue
		}
		strip(o.Object, "", strings.Split(f.Path, "/")[1:], &removed)
	}
	return removed
}

func strip(node any, at string, tokens []string, removed *[]string) {
	if len(tokens) == 0 {
		return
	}
	tok := tokens[0]
	switch v := node.(type) {
	case map[string]any:
		child, ok := v[tok]
		if !ok {
			return
		}
		if len(tokens) == 1 {
			delete(v, tok)
			*removed = append(*removed, at+"/"+tok)
			return
		}
		strip(child, at+"/"+tok, tokens[1:], removed)
	case []any:
		if tok != "*" {
			return
		}
		for i, item := range v {
			strip(item, at+"/"+strconv.Itoa(i), tokens[1:], removed)
		}
	}
}

// Owns reports whether the field at pointer path of o (or a field below
// it) is one a controller sets.
func (s *Set) Owns(o *unstructured.Unstructured, path string) bool {
	got := strings.Split(path, "/")[1:]
	for _, f := range s.Fields(o) {
		want := strings.Split(f.Path, "/")[1:]
		if len(got) < len(want) {
			continue
		}
		match := true
		for i, w := range want {
			if w != got[i] && (w != "*" || !isIndex(got[i])) {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func annotated(keys ...string) func(*unstructured.Unstructured, *Set) bool {
	return func(o *unstructured.Unstructured, _ *Set) bool {
		ann := o.GetAnnotations()
		for _, k := range keys {
			if _, ok := ann[k]; ok {
				return true
			}
		}
		return false
	}
}

// labelled selects objects with the label key, with one of values when given.
func labelled(key string, values ...string) func(*unstructured.Unstructured, *Set) bool {
	return func(o *unstructured.Unstructured, _ *Set) bool {
		v, ok := o.GetLabels()[key]
		if !ok {
			return false
		}
		if len(values) == 0 {
			return true
		}
		for _, want := range values {
			if v == want {
				return true
			}
		}
		return false
	}
}
