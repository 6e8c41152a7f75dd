// Package reconciler is plinth's controller: for each Environment
// (plinth.dev/v1alpha1) it keeps one environment of a git repository
// applied to the cluster it runs in, with the same lib/ pipeline as the
// CLI, and tells the platform owners about drift.
//
// One reconcile reads as the story: look at the remote head (ls-remote;
// fetch only when it moved) → render → apply (and prune, per spec) on a
// new revision → check drift every driftInterval (with jitter), report or
// correct per policy → status, events, metrics, notifications. Each stage
// is a method of the pass; a failing one returns a stageError (its reason,
// terminal or retried), which one function records. Git being
// unreachable or a commit that does not render leaves the cluster as it
// is, the last applied revision in the status and nothing pruned.
package reconciler
