// Command cluster is make demo's local cluster: a real kube-apiserver,
// etcd and kube-controller-manager (lib/kubetest, the binaries of make
// testbin), and the hand edit the demo makes with another field manager.
//
//	cluster serve KUBECONFIG   start, write KUBECONFIG, print "ready", run
//	                           until SIGINT/SIGTERM or until the parent exits
//	cluster edit KUBECONFIG    raise team-a's CPU quota as `kubectl edit`
//	                           would: a merge patch, field manager kubectl-edit
package main
