package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/kubetest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cluster serve|edit KUBECONFIG, or cluster git DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2])
	case "edit":
		err = edit(os.Args[2])
	case "git":
		err = serveGit(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q (serve, edit or git)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func serve(kubeconfig string) error {
	parent := os.Getppid()
	c, err := kubetest.Start()
	if err != nil {
		return err
	}
	if err := c.WriteKubeconfig(kubeconfig); err != nil {
		return errors.Join(err, c.Stop())
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// The demo script stops the cluster when it exits (trap); should it be
	// killed outright, the cluster notices that its parent is gone.
	for running := true; running; {
		select {
		case <-sig:
			running = false
		case <-tick.C:
			running = os.Getppid() == parent
		}
	}
	err = c.Stop()
	if rmErr := os.Remove(kubeconfig); !errors.Is(rmErr, fs.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// serveGit serves the bare repositories under dir over git's smart HTTP
// on a free port of 127.0.0.1, without credentials, until SIGINT or
// SIGTERM; a push to a repository that does not exist creates it. It
// prints "ready http://127.0.0.1:PORT". bench/controller.sh uses it: the
// controller fetches over http:// as it would from a git server (gitkit
// runs the git binary's upload-pack and receive-pack, as in the
// reconciler's tests).
func serveGit(dir string) error {
	srv := gittestserver.NewGitServer(dir).AutoCreate()
	if err := srv.StartHTTP(); err != nil {
		return err
	}
	defer srv.StopHTTP()
	fmt.Println("ready", srv.HTTPAddress())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// edit raises the CPU quota of dev's tenant team-a from 8 to 16 by hand.
func edit(kubeconfig string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	quota := &unstructured.Unstructured{}
	quota.SetAPIVersion("v1")
	quota.SetKind("ResourceQuota")
	quota.SetNamespace("team-a")
	quota.SetName("tenant-quota")
	patch := []byte(`{"spec":{"hard":{"requests.cpu":"16","limits.cpu":"16"}}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cl.Patch(ctx, quota, client.RawPatch(types.MergePatchType, patch), client.FieldOwner("kubectl-edit"))
}
