package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/render"
)

// TestMain makes the test binary the pipeline's sandbox child too, so
// that commands render as plinth does.
func TestMain(m *testing.M) {
	pipeline.Serve()
	os.Exit(m.Run())
}

func startRegistry(t *testing.T) string {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func parseRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func runPlinth(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Streams{Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// plinth mirror renders the environment and copies its images, under the
// per-upstream prefix of network.mirrors.registries, to --to; a second
// run finds them there.
func TestMirrorCommand(t *testing.T) {
	t.Setenv("PLINTH_CACHE_DIR", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no one's credentials
	up, dst := startRegistry(t), startRegistry(t)
	digests := map[string]string{}
	for _, ref := range []string{"team/app:v1", "team/db:v2"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(parseRef(t, up+"/"+ref), img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests[ref] = d.String()
	}
	root := t.TempDir()
	env := fmt.Sprintf(`package plinth

cluster: {version: "1.34.4"}
network: mirrors: registries: %q: "nexus.bank.local:8443/up"
objects: tools: {
	apiVersion: "v1"
	kind:       "Namespace"
	metadata: name: "tools"
}
objects: web: {
	apiVersion: "apps/v1"
	kind:       "Deployment"
	metadata: {name: "web", namespace: "tools"}
	spec: {
		selector: matchLabels: app: "web"
		template: {
			metadata: labels: app: "web"
			spec: containers: [
				{name: "app", image: "%s/team/app:v1"},
				{name: "db", image: "%s/team/db:v2@%s"},
			]
		}
	}
}
`, up, up, up, digests["team/db:v2"])
	if err := os.MkdirAll(filepath.Join(root, "environments", "lab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "environments", "lab", "env.cue"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, code := runPlinth(t, "--root", root, "mirror", "lab", "--to", dst, "--dry-run")
	if code != 0 || strings.Count(stdout, "would copy ") != 2 || !strings.Contains(stderr, "2 to copy, 0 already there, 0 failed") {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	_, stderr, code = runPlinth(t, "--root", root, "mirror", "lab", "--to", dst)
	want := []string{
		fmt.Sprintf("copied     %s/team/app:v1@%s -> %s/up/team/app:v1\n", up, digests["team/app:v1"], dst),
		fmt.Sprintf("copied     %s/team/db:v2@%s -> %s/up/team/db:v2\n", up, digests["team/db:v2"], dst),
		"plinth mirror: 2 copied, 0 already there, 0 failed\n",
	}
	for _, w := range want {
		if code != 0 || !strings.Contains(stderr, w) {
			t.Fatalf("exit %d, stderr:\n%s\nwant a line %q", code, stderr, w)
		}
	}
	for ref, d := range digests {
		desc, err := remote.Head(parseRef(t, dst+"/up/"+ref))
		if err != nil || desc.Digest.String() != d {
			t.Errorf("%s at the mirror: %v, %v; want %s", ref, desc, err, d)
		}
	}

	stdout, stderr, code = runPlinth(t, "--root", root, "mirror", "lab", "--to", dst, "--dry-run")
	if code != 0 || strings.Count(stdout, "(already there)") != 2 || !strings.Contains(stderr, "0 to copy, 2 already there") {
		t.Errorf("dry run after the copy: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// Across the gap: onto a disk, from it into another registry.
	disk, inside := "oci-layout:"+filepath.Join(t.TempDir(), "disk"), startRegistry(t)
	_, stderr, code = runPlinth(t, "--root", root, "mirror", "lab", "--to", disk)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("copied     %s/team/app:v1@%s -> %s\n", up, digests["team/app:v1"], disk)) {
		t.Errorf("to a layout: exit %d, stderr:\n%s", code, stderr)
	}
	_, stderr, code = runPlinth(t, "--root", root, "mirror", "lab", "--from", disk, "--to", inside, "-j", "1")
	if code != 0 || !strings.Contains(stderr, "2 copied, 0 already there, 0 failed") {
		t.Errorf("from the layout: exit %d, stderr:\n%s", code, stderr)
	}

	for _, args := range [][]string{{"--to", "nexus"}, {"--to", dst, "--from", "https://x.io"}, {"--to", dst, "--jobs", "0"}, {"--to", dst, "--ca-file", filepath.Join(root, "missing.pem")}} {
		_, stderr, code := runPlinth(t, append([]string{"--root", root, "mirror", "lab"}, args...)...)
		if code != 2 || !strings.HasPrefix(stderr, "plinth mirror: ") {
			t.Errorf("mirror %v: exit %d, stderr %q; want 2 and the reason", args, code, stderr)
		}
	}
}

// A repository named without a tag (Istio's hub) is reported, not copied.
func TestMirrorImages(t *testing.T) {
	var errb bytes.Buffer
	got := mirrorImages([]render.Image{
		{Image: "docker.io/library/istio", Mirror: "nexus.bank.local:8443/docker.io/library/istio"},
		{Image: "quay.io/prometheus/prometheus:v3.5.0", Mirror: "nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0"},
	}, &errb)
	if len(got) != 1 || got[0].Upstream.String() != "quay.io/prometheus/prometheus:v3.5.0" || got[0].Mirror.Registry != "nexus.bank.local:8443" {
		t.Errorf("images to copy: %+v", got)
	}
	if want := "plinth mirror: not copied: docker.io/library/istio: names a repository without a tag"; !strings.HasPrefix(errb.String(), want) {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}
