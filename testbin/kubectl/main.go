// Command kubectl is the kubectl of the Kubernetes version plinth tests
// against, built from Go modules like the test API server, so that the
// apply benchmark (bench/apply.sh) compares plinth with
// `kubectl apply --server-side` without a download beyond the Go module
// proxy. bin/ caches it by version (make bin/k8s-<version>/kubectl).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	os.Exit(cli.Run(cmd.NewDefaultKubectlCommand()))
}
