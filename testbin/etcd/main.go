// Command etcd is the etcd server the test kube-apiserver stores its data
// in, built from Go modules (make testbin).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
