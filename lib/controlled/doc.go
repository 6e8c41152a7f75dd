// Package controlled knows the fields of rendered objects that controllers
// in the cluster set after plinth applies them: CA bundles that cert-manager's
// cainjector, OpenShift's service CA operator, istiod, Knative's webhooks and
// kube-webhook-certgen write into webhook configurations, CRDs and
// APIServices; the replicas of a workload a HorizontalPodAutoscaler scales;
// the rules of an aggregated ClusterRole.
//
// plinth neither renders nor applies such a field (Set.Strip): with
// server-side apply, a field plinth does not send is a field it does not
// own, so an apply never takes it back, a re-apply or drift correction
// never overwrites it, and the drift check's dry run keeps the controller's
// value. The drift check also skips them when they do differ (Set.Owns), as
// after an apply of an older plinth that still sent them.
//
// The table is Go, not CUE: apply and drift, which must not load the CUE
// evaluator, read it too.
package controlled
