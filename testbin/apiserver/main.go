// Command kube-apiserver is the Kubernetes API server of the version plinth
// tests against, built from Go modules so that tests need no download
// beyond the Go module proxy. bin/ caches it by version (make testbin).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
