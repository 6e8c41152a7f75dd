// Package policy checks a rendered environment, object by object, before
// it is written or applied: API versions the target Kubernetes no longer
// serves, images not pulled through the mirror of an air-gapped
// environment, network endpoints outside its allowed egress, tenant
// components that create cluster-scoped objects, containers without
// resource limits, and objects too large for the API server to store.
//
// [Check] returns every [Violation] at once, in a deterministic order; it
// never fails and never prints. Deciding what a violation means (a failed
// render, a warning) is the caller's business.
//
// Secrets are never read: no rule looks into a Secret's data (OBJECT-SIZE
// takes only the lengths of its values), so no secret value can end up in a
// message.
package policy
