// Package drift compares a cluster with an environment's rendered state
// and reports what differs, who changed it and when.
//
// For every object of the environment, the check makes one server-side
// dry-run apply as plinth (forcing ownership, as a re-apply would) and
// compares the result with the object in the cluster: the fields where
// they differ are exactly the fields a re-apply would change. The
// server's own defaulting, quantity normalisation, admission webhooks and
// list/map semantics apply to both sides, so none of them is drift. The
// cluster's objects are listed once per kind and version, so an unchanged
// object costs one request. Status and server-maintained metadata are not
// compared.
//
// Each drifted field is attributed to the field manager that owns it now
// (managedFields: manager, operation, time). Objects of the environment
// that the cluster lacks are missing; objects labelled as the
// environment's that its inventory does not list are unmanaged; inventory
// entries the environment dropped are stale.
//
// Secret values never leave the package: a Secret's changed keys are
// reported with both values redacted.
//
// A check never writes, unless asked to correct: then the drifted and
// missing objects, and only those, are applied again.
package drift
