package apicheck

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// nameRules are the built-in kinds whose names the API server checks other
// than as a DNS-1123 subdomain (apimachinery's NameIsDNSSubdomain, the rule
// of every other built-in kind), keyed by "group/Kind". Each is the name
// function the kind's ValidateObjectMeta call passes in
// k8s.io/kubernetes v1.34 pkg/apis/<group>/validation; apimachinery holds
// the functions, not which kind uses which. A nil rule leaves the name
// unchecked: any name goes, or the rule depends on other fields.
var nameRules = map[string]validation.ValidateNameFunc{
	"/Namespace": validation.ValidateNamespaceName, // a DNS-1123 label
	// core ValidateServiceName: a DNS-1035 label (the alpha gate
	// RelaxedServiceNameValidation would allow a DNS-1123 label).
	"/Service": validation.NameIsDNS1035Label,
	// apps ValidateStatefulSetName: the name prefixes its pods' host names.
	"apps/StatefulSet": validation.NameIsDNSLabel,
	// rbac ValidateRBACName: any path segment ("system:aggregate-to-admin").
	"rbac.authorization.k8s.io/Role":               rbacName,
	"rbac.authorization.k8s.io/ClusterRole":        rbacName,
	"rbac.authorization.k8s.io/RoleBinding":        rbacName,
	"rbac.authorization.k8s.io/ClusterRoleBinding": rbacName,
	// "We don't care what you call your certificate requests."
	"certificates.k8s.io/CertificateSigningRequest": nil,
	// Names derived from other fields: the signer, an IP address,
	// <group>.<resource>; a lease candidate's is a ConfigMap key.
	"certificates.k8s.io/ClusterTrustBundle":   nil,
	"networking.k8s.io/IPAddress":              nil,
	"internal.apiserver.k8s.io/StorageVersion": nil,
	"coordination.k8s.io/LeaseCandidate":       nil,
}

func rbacName(name string, _ bool) []string { return content.IsPathSegmentName(name) }

func anyName(string, bool) []string { return nil }

// nameRule returns the name function of a built-in kind.
func nameRule(groupKind string) validation.ValidateNameFunc {
	fn, ok := nameRules[groupKind]
	switch {
	case !ok:
		return validation.NameIsDNSSubdomain
	case fn == nil:
		return anyName
	}
	return fn
}

// validateMeta validates the metadata of a decoded built-in object with
// apimachinery, as the API server does on create.
func validateMeta(obj runtime.Object, id manifest.ID) []Problem {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil
	}
	requiresNamespace := false
	if manifest.ClusterScoped(id, nil) {
		acc.SetNamespace("") // the API server ignores it on a cluster-scoped kind, and so does render
	} else {
		requiresNamespace = acc.GetNamespace() != "" // without one, the applier chooses
	}
	var ps []Problem
	for _, e := range validation.ValidateObjectMetaAccessor(acc, requiresNamespace, nameRule(id.GroupKind()), field.NewPath("metadata")) {
		p := Problem{Path: e.Field, Message: e.ErrorBody()}
		switch e.Field {
		case "metadata.name":
			p.Hint = "rename the object"
		case "metadata.namespace":
			p.Hint = "namespaces are DNS-1123 labels"
		}
		ps = append(ps, p)
	}
	return ps
}
