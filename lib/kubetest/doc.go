// Package kubetest starts a real kube-apiserver and etcd for tests, through
// controller-runtime's envtest, and a real kube-controller-manager beside
// them. The binaries are built from Go modules by `make testbin` into
// bin/k8s-<version>/ (see docs/development.md); set KUBEBUILDER_ASSETS to
// use others.
//
// A package starts one API server for all its tests in TestMain:
//
//	var cluster *kubetest.Cluster
//
//	func TestMain(m *testing.M) { kubetest.Main(m, &cluster) }
//
// and each test works in a namespace of its own (Cluster.Namespace), so
// tests can run in parallel against the same server.
//
// The controller manager runs every default controller, as on a real
// cluster: garbage collection deletes dependents of deleted owners,
// deleted namespaces are emptied and finalized, Deployments make
// ReplicaSets and ReplicaSets make Pods, every namespace gets the
// ServiceAccount "default" and the ConfigMap "kube-root-ca.crt", Services
// get EndpointSlices, aggregated ClusterRoles are aggregated. There is no
// scheduler and no kubelet: Pods stay Pending, so Deployments never become
// available.
//
// A test that counts writes from the server's side starts a cluster of
// its own with StartWith(Options{Audit: true}): the API server then logs
// every write (Metadata level: verb, object, user, field manager, code),
// and Cluster.AuditWrites reads the log back. Clients given
// Cluster.KubeconfigAs act as users of their own, so the log tells them
// apart (two replicas of a controller, in cmd/plinth's TestFailover).
package kubetest
