// Package cluster is plinth's access to a Kubernetes cluster, shared by
// apply and drift: a client with the ssa resource manager (field manager
// "plinth"), the environment's live objects listed once per kind and
// version, and server-side dry-run applies.
package cluster
