package source_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrepo "helm.sh/helm/v3/pkg/repo"

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

	// The bank's chart mirror: one chart and its index.
	mirror := filepath.Join(repo, "mirror")
	os.Mkdir(mirror, 0o755)
	_, err := chartutil.Save(&chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "nfs-subdir-external-provisioner", Version: "4.0.18"},
		Templates: []*chart.File{{Name: "templates/sc.yaml", Data: []byte("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: nfs}\nprovisioner: nfs\n")}},
	}, mirror)
	if err != nil {
		fmt.Println(err)
		return
	}
	index, err := helmrepo.IndexDirectory(mirror, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	index.WriteFile(filepath.Join(mirror, "index.yaml"), 0o644)

	nfs := source.Source{
		Repo:    "https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner",
		Chart:   "nfs-subdir-external-provisioner",
		Version: "4.0.18",
	}
	lock, err := source.Vendor(ctx, []source.Source{nfs}, nil, source.VendorOptions{
		Dir:          vendorDir,
		ChartsMirror: mirror,
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
		fmt.Println(e.Path, strings.HasPrefix(e.Digest, "sha256:"))
	}

	// At render time: no network, just the lock and the vendor directory.
	lock, err = source.ReadLock(filepath.Join(repo, "plinth.lock"))
	if err != nil {
		fmt.Println(err)
		return
	}
	path, err := source.Resolve(vendorDir, lock, nfs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Rel(repo, path))

	_, err = source.Resolve(vendorDir, lock, source.Source{Repo: nfs.Repo, Chart: nfs.Chart, Version: "4.0.19"})
	fmt.Println(err)
	// Output:
	// helm:https://kubernetes-sigs.github.io/nfs-subdir-external-provisioner#nfs-subdir-external-provisioner@4.0.18
	// charts/nfs-subdir-external-provisioner-4.0.18.tgz true
	// vendor/charts/nfs-subdir-external-provisioner-4.0.18.tgz <nil>
	// chart nfs-subdir-external-provisioner 4.0.19 is not in plinth.lock: run plinth vendor
}
