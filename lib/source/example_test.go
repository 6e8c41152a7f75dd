package source_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-platform/plinth/lib/source"
)

// Vendor a chart through a mirror (here a local directory holding a flat
// Helm repository), write plinth.lock, and resolve the chart for an offline
// render.
func Example() {
	ctx := context.Background()
	repo, _ := os.MkdirTemp("", "environments-")
	defer os.RemoveAll(repo)
	vendorDir := filepath.Join(repo, "vendor")

	chart := source.Source{
		Repo:    "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner",
		Chart:   "nfs-subdir-external-provisioner",
		Version: "4.0.18",
	}
	lock, err := source.Vendor(ctx, []source.Source{chart}, nil, source.VendorOptions{
		Dir:          vendorDir,
		ChartsMirror: filepath.Join("..", "..", "..", "shared", "fixtures", "charts"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := lock.Write(filepath.Join(repo, "plinth.lock")); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range lock.Sources {
		fmt.Println(e.Key)
		fmt.Println(e.Path, e.Digest)
	}

	// At render time: no network, just the lock and the vendor directory.
	lock, err = source.ReadLock(filepath.Join(repo, "plinth.lock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	path, err := source.Resolve(vendorDir, lock, chart)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Rel(repo, path))

	_, err = source.Resolve(vendorDir, lock, source.Source{Repo: chart.Repo, Chart: chart.Chart, Version: "4.0.19"})
	fmt.Println(err)
	// Output:
	// helm:https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner#nfs-subdir-external-provisioner@4.0.18
	// charts/nfs-subdir-external-provisioner-4.0.18.tgz sha256:4d1e7e7844aa661a7ae09793d20e261121d7ee6e508aa956a3b917124088c2d7
	// vendor/charts/nfs-subdir-external-provisioner-4.0.18.tgz <nil>
	// chart nfs-subdir-external-provisioner 4.0.19 is not in plinth.lock: run plinth vendor
}
