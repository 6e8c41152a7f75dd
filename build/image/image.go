package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repository is where the controller's image is published; the plinth
// component renders it (cue/catalog.cue) and render rewrites it to the
// mirror.
const Repository = "ghcr.io/plinth-platform/plinth"

// Path is the binary's place in the image, its entrypoint.
const Path = "/usr/local/bin/plinth"

// User is the numeric user and group the image runs as: not root, and
// numeric so that Kubernetes can check runAsNonRoot without /etc/passwd
// (distroless's "nonroot").
const User = "65532:65532"

// Inputs are everything an image is made of.
type Inputs struct {
	Binary     string // the static plinth binary
	Repository string
	Version    string
	Commit     string
	Created    time.Time // the commit's time
}

// Build returns the image: one layer with the binary (and an empty,
// world-writable /tmp) on an empty base, OCI media types, labels for
// version, revision and source.
func Build(in Inputs) (v1.Image, error) {
	bin, err := os.ReadFile(in.Binary)
	if err != nil {
		return nil, err
	}
	files, err := filesystem(bin, in.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: in.Created}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: created, CreatedBy: "make image (build/image)", Comment: "plinth " + in.Version},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = created
	cf.Config.User = User
	cf.Config.Entrypoint = []string{Path}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "plinth",
		"org.opencontainers.image.version":  in.Version,
		"org.opencontainers.image.revision": in.Commit,
		"org.opencontainers.image.source":   "https://github.com/plinth-platform/plinth",
		"org.opencontainers.image.created":  in.Created.UTC().Format(time.RFC3339),
	}
	return mutate.ConfigFile(img, cf)
}

// filesystem returns the layer's tar: directories, /tmp and the binary,
// owned by root, every time the commit's.
func filesystem(bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: Path[1:], Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
	} {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bin); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes img as the only image of a new OCI image layout at
// dir, named repository:version (the annotation containerd's and
// skopeo's imports read).
func WriteLayout(dir string, in Inputs, img v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	ref := in.Repository + ":" + in.Version
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref,
		"io.containerd.image.name":          ref,
	}))
}

// WriteArchive writes the layout at dir as one tar file (the OCI image
// archive that podman, skopeo and containerd load), entries sorted, every
// time mtime, so that it is as reproducible as the layout.
func WriteArchive(path, dir string, mtime time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(names)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		if err := addFile(tw, dir, p, mtime); err != nil {
			f.Close()
			return err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addFile(tw *tar.Writer, dir, p string, mtime time.Time) error {
	info, err := os.Lstat(p)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return err
	}
	h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Format: tar.FormatPAX}
	switch {
	case info.IsDir():
		h.Typeflag, h.Mode, h.Name = tar.TypeDir, 0o755, h.Name+"/"
		return tw.WriteHeader(h)
	case info.Mode().IsRegular():
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, info.Size()
	default:
		return fmt.Errorf("%s: not a file or directory", p)
	}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	_, err = tw.Write(data)
	return err
}
