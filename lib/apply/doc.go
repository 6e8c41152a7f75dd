// Package apply puts a rendered environment into a cluster with
// server-side apply (github.com/fluxcd/pkg/ssa, field manager "plinth"),
// safely:
//
//  0. Claim (Options.Claim): a cluster whose marker names other
//     environments is refused before the plan reads or writes anything
//     (package clustermark), unless Options.AdoptCluster.
//  1. Plan: the objects are listed once per kind; an object whose live
//     copy shows it unchanged (cluster.Unchanged) is planned from the
//     list, every other one is applied in server-side dry-run mode, as
//     plinth (without taking fields other managers own, unless the
//     environment adopts them). The plan says per object: create, change
//     (with the diff), unchanged, recreate. Any failure (invalid object,
//     conflict with another field manager, immutable field, missing
//     namespace) is collected; if there is one, nothing is written and
//     every failure is returned at once ([ValidationError]).
//     Objects the server cannot dry-run yet are validated another way:
//     objects of a namespace the set creates are dry-run in the namespace
//     "default" (only their namespace differs), custom resources of a
//     CRD the set installs against that CRD's schema.
//  2. Marker and inventory: an unmarked (or adopted) cluster is marked
//     for the environment, and the union of the previous inventory and
//     the set is recorded, before the first write (package inventory).
//  3. Stages: CRDs and Namespaces first, waiting for CRDs to be
//     established; then the components layer by layer in dependsOn order,
//     waiting for each layer to be ready (kstatus) when asked to. Objects in
//     a namespace that Kubeflow's profile controller creates wait for it.
//  4. Prune: objects of the previous inventory that the set no longer has
//     are deleted, unless annotated plinth.dev/prune: disabled and only
//     when they still carry the environment's label. Never after a failed
//     step, never down to zero objects without AllowEmpty.
//  5. Inventory: the set (plus stale objects left in place) is recorded.
//
// The package never prints; progress goes to Options.Progress.
package apply
