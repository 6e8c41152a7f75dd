// Package reconciler will hold plinth's controller: the Environment CRD
// types and the reconcile loop (git poll → render → apply → prune → drift
// schedule → status), built on the same lib/ pipeline as the CLI.
package reconciler
