// Command kube-controller-manager is the Kubernetes controller manager of the
// version plinth tests against, built from Go modules like kube-apiserver
// (../apiserver). lib/kubetest runs it beside the API server so that tests
// meet garbage collection, namespace finalization, service account tokens
// and Deployments that make ReplicaSets, as on a real cluster.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
