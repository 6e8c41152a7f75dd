package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// The image of a plinth binary, built twice from the same inputs: the
// same digest and byte-identical archives; its config runs the binary as
// user 65532 with OCI labels; the binary taken back out of its layer is
// plinth and runs. (make image builds the binary statically; here it is
// built as the tests build, which shares their compile cache.)
func TestImageIsReproducibleAndRunsPlinth(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "plinth")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/plinth-platform/plinth/cmd/plinth/cli.version=v9.9.9-test",
		"github.com/plinth-platform/plinth/cmd/plinth")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := Inputs{Binary: bin, Repository: Repository, Version: "v9.9.9-test", Commit: strings.Repeat("ab", 20),
		Created: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}

	var digests []string
	var archives [][]byte
	for i := range 2 {
		out := filepath.Join(dir, "out", string(rune('a'+i)))
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := run(in, in.Created.Format(time.RFC3339), filepath.Join(out, "layout"), filepath.Join(out, "image.tar")); err != nil {
			t.Fatal(err)
		}
		// What the layout holds, read back with ggcr.
		p, err := layout.FromPath(filepath.Join(out, "layout"))
		if err != nil {
			t.Fatal(err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil || len(m.Manifests) != 1 {
			t.Fatalf("index: %v manifests, %v", m, err)
		}
		if ref := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != Repository+":v9.9.9-test" {
			t.Errorf("ref name %q", ref)
		}
		digests = append(digests, m.Manifests[0].Digest.String())
		data, err := os.ReadFile(filepath.Join(out, "image.tar"))
		if err != nil {
			t.Fatal(err)
		}
		archives = append(archives, data)
	}
	if digests[0] != digests[1] || !bytes.Equal(archives[0], archives[1]) {
		t.Fatalf("two builds of the same inputs differ: %v, archives equal %v", digests, bytes.Equal(archives[0], archives[1]))
	}

	img, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != digests[0] {
		t.Errorf("Build's digest %s, the layout's %s", d, digests[0])
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/plinth"}) || cf.OS != "linux" {
		t.Errorf("config: user %q, entrypoint %v, os %s", cf.Config.User, cf.Config.Entrypoint, cf.OS)
	}
	for k, v := range map[string]string{"org.opencontainers.image.version": "v9.9.9-test", "org.opencontainers.image.revision": in.Commit} {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}

	// The entrypoint, taken out of the layer, is this plinth.
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var got []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || !h.ModTime.Equal(in.Created) {
			t.Errorf("%s: uid %d, mtime %s", h.Name, h.Uid, h.ModTime)
		}
		if "/"+h.Name == cf.Config.Entrypoint[0] {
			if h.Mode&0o111 == 0 {
				t.Errorf("%s is not executable: %o", h.Name, h.Mode)
			}
			if got, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	extracted := filepath.Join(dir, "extracted")
	if err := os.WriteFile(extracted, got, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "v9.9.9-test") {
		t.Errorf("the image's entrypoint, run with version: %v\n%s", err, out)
	}
}
