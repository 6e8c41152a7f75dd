package image

import (
	"errors"
	"strings"
	"testing"
)

const (
	sha  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sha2 = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		str  string
	}{
		{"busybox", Ref{"docker.io", "library/busybox", "latest", ""}, "docker.io/library/busybox:latest"},
		{"busybox:1.36", Ref{"docker.io", "library/busybox", "1.36", ""}, "docker.io/library/busybox:1.36"},
		{"docker.io/busybox:1.36", Ref{"docker.io", "library/busybox", "1.36", ""}, "docker.io/library/busybox:1.36"},
		{"index.docker.io/library/busybox:1.36", Ref{"docker.io", "library/busybox", "1.36", ""}, "docker.io/library/busybox:1.36"},
		{"registry-1.docker.io/bitnami/redis:7", Ref{"registry-1.docker.io", "bitnami/redis", "7", ""}, "registry-1.docker.io/bitnami/redis:7"},
		{"kubeflownotebookswg/jupyter-scipy:v1.10.0", Ref{"docker.io", "kubeflownotebookswg/jupyter-scipy", "v1.10.0", ""}, "docker.io/kubeflownotebookswg/jupyter-scipy:v1.10.0"},
		{"quay.io/prometheus/prometheus:v3.5.0", Ref{"quay.io", "prometheus/prometheus", "v3.5.0", ""}, "quay.io/prometheus/prometheus:v3.5.0"},
		{"quay.io/argoproj/argoexec:v3.7.3@" + sha, Ref{"quay.io", "argoproj/argoexec", "v3.7.3", sha}, "quay.io/argoproj/argoexec:v3.7.3@" + sha},
		{"gcr.io/ml-pipeline/frontend@" + sha, Ref{"gcr.io", "ml-pipeline/frontend", "", sha}, "gcr.io/ml-pipeline/frontend@" + sha},
		{"localhost/foo:1", Ref{"localhost", "foo", "1", ""}, "localhost/foo:1"},
		{"localhost:5000/foo/bar", Ref{"localhost:5000", "foo/bar", "latest", ""}, "localhost:5000/foo/bar:latest"},
		{"nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0", Ref{"nexus.bank.local:8443", "quay.io/prometheus/prometheus", "v3.5.0", ""}, "nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0"},
		{"Registry.Example/foo:1", Ref{"Registry.Example", "foo", "1", ""}, "Registry.Example/foo:1"},
		{"[::1]:5000/foo:1", Ref{"[::1]:5000", "foo", "1", ""}, "[::1]:5000/foo:1"},
		{"nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04", Ref{"nvcr.io", "nvidia/k8s/dcgm-exporter", "4.2.3-4.1.3-ubuntu22.04", ""}, "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04"},
		{"a__b/c---d:T_1", Ref{"docker.io", "a__b/c---d", "T_1", ""}, "docker.io/a__b/c---d:T_1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			again, err := Parse(got.String())
			if err != nil || again != got {
				t.Errorf("Parse(String()) = %#v, %v; want %#v", again, err, got)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "empty"},
		{"busy box", "white space"},
		{"busybox ", "white space"},
		{"Busybox", "lowercase"},
		{"docker.io/Library/busybox", "lowercase"},
		{"quay.io/foo/Bar:1", "lowercase"},
		{"foo:", "invalid tag"},
		{"foo:-1", "invalid tag"},
		{"foo:" + strings.Repeat("a", 129), "invalid tag"},
		{"foo@sha256:abc", "invalid digest"},
		{"foo@sha256:" + strings.Repeat("A", 64), "lower-case hex"},
		{"foo@" + sha + "x", "invalid digest"},
		{"/foo", "invalid repository"},
		{"foo//bar", "invalid repository"},
		{"quay.io/", "no repository"},
		{":1", "no repository"},
		{"-foo.io/bar", "invalid registry"},
		{"foo.io:port/bar", "invalid registry"},
		{"https://quay.io/foo", "invalid"},
		{"foo/bar-/baz", "invalid repository"},
		{strings.Repeat("a", 256), "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.in)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestMirror(t *testing.T) {
	tests := []struct {
		ref, mirror, want string
	}{
		{"quay.io/prometheus/prometheus:v3.5.0", "nexus.bank.local:8443", "nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0"},
		{"busybox:1.36", "nexus.bank.local:8443", "nexus.bank.local:8443/docker.io/library/busybox:1.36"},
		{"quay.io/argoproj/argoexec:v3.7.3@" + sha, "nexus.bank.local:8443", "nexus.bank.local:8443/quay.io/argoproj/argoexec:v3.7.3@" + sha},
		{"ghcr.io/kubeflow/kfp-driver@" + sha, "nexus.bank.local:8443/docker", "nexus.bank.local:8443/docker/ghcr.io/kubeflow/kfp-driver@" + sha},
		{"registry.k8s.io/pause:3.10", "https://nexus.bank.local:8443/docker/", "nexus.bank.local:8443/docker/registry.k8s.io/pause:3.10"},
		// Already under the mirror: unchanged.
		{"nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0", "nexus.bank.local:8443", "nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0"},
		{"nexus.bank.local:8443/docker/quay.io/x/y:1", "nexus.bank.local:8443/docker", "nexus.bank.local:8443/docker/quay.io/x/y:1"},
		{"NEXUS.bank.local:8443/quay.io/x/y:1", "nexus.bank.local:8443", "NEXUS.bank.local:8443/quay.io/x/y:1"},
		// Same host, outside the mirror's path: mirrored.
		{"nexus.bank.local:8443/other/y:1", "nexus.bank.local:8443/docker", "nexus.bank.local:8443/docker/nexus.bank.local:8443/other/y:1"},
		// No mirror: unchanged.
		{"quay.io/x/y:1", "", "quay.io/x/y:1"},
	}
	for _, tt := range tests {
		t.Run(tt.ref+" "+tt.mirror, func(t *testing.T) {
			ref, err := Parse(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			got := Mirrors{Default: tt.mirror}.Pull(ref)
			if got.String() != tt.want {
				t.Errorf("Pull = %s, want %s", got, tt.want)
			}
			if tt.mirror != "" && !(Mirrors{Default: tt.mirror}).Serves(got) {
				t.Errorf("%s is not under %s", got, tt.mirror)
			}
			if twice := (Mirrors{Default: tt.mirror}).Pull(got); twice != got {
				t.Errorf("Pull is not idempotent: %s then %s", got, twice)
			}
		})
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		ref, mirror string
		want        bool
	}{
		{"nexus.bank.local:8443/quay.io/x/y:1", "nexus.bank.local:8443", true},
		{"nexus.bank.local:8443/quay.io/x/y:1", "nexus.bank.local:8443/", true},
		{"nexus.bank.local:8443/docker/quay.io/x/y:1", "nexus.bank.local:8443/docker", true},
		{"nexus.bank.local:8443/dockerx/y:1", "nexus.bank.local:8443/docker", false},
		{"nexus.bank.local/quay.io/x/y:1", "nexus.bank.local:8443", false},
		{"quay.io/x/y:1", "nexus.bank.local:8443", false},
		{"quay.io/x/y:1", "", false},
		{"busybox", "index.docker.io", true},
	}
	for _, tt := range tests {
		ref, err := Parse(tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := (Mirrors{Default: tt.mirror}).Serves(ref); got != tt.want {
			t.Errorf("%s served by %q = %v, want %v", tt.ref, tt.mirror, got, tt.want)
		}
	}
}
