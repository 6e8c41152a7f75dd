package render

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/fixtures"
	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/needs"
	"github.com/plinth-platform/plinth/lib/platform"
)

// referenceTool finds a CLI the Makefile builds into bin/ from the Go
// module proxy (make tools): helm v3.22.0 and kustomize v5.8.1, the tools
// a user would run instead of plinth.
func referenceTool(t *testing.T, name string) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		needs.Missing(t, needs.Tools, err, "make tools (builds helm and kustomize into bin/)")
	}
	return bin
}

// canonical sorts objects and encodes them, so that two renders compare
// as sets of objects whatever order the tools printed them in.
func canonical(t *testing.T, objs []*unstructured.Unstructured) []byte {
	t.Helper()
	manifest.Sort(objs)
	var b bytes.Buffer
	if err := manifest.Encode(&b, objs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestHelmMatchesHelmTemplate renders every fixture chart through plinth's
// Helm SDK path and through `helm template` with the same values, Kubernetes
// version and API versions: the object sets must be identical.
func TestHelmMatchesHelmTemplate(t *testing.T) {
	helm := referenceTool(t, "helm")
	vendorFixtures(t)
	caps := Capabilities{KubeVersion: "v1.34.4", APIVersions: []string{"cert-manager.io/v1", "monitoring.coreos.com/v1"}}
	for _, c := range []struct {
		archive string
		part    platform.HelmPart
	}{
		{"kube-prometheus-stack-88.5.3.tgz", platform.HelmPart{Chart: "kube-prometheus-stack", Release: "kps", Namespace: "monitoring",
			Values: map[string]any{"prometheus": map[string]any{"prometheusSpec": map[string]any{"retention": "15d"}}, "grafana": map[string]any{"admin": map[string]any{"existingSecret": "grafana-admin"}}}}},
		{"gpu-operator-v26.7.0.tgz", platform.HelmPart{Chart: "gpu-operator", Release: "gpu-operator", Namespace: "gpu-operator",
			Values: map[string]any{"mig": map[string]any{"strategy": "mixed"}}}},
		{"rancher-2.15.0.tgz", platform.HelmPart{Chart: "rancher", Release: "rancher", Namespace: "cattle-system",
			Values: map[string]any{"hostname": "rancher.bank.local", "replicas": 3}}},
		{"nexus-repository-manager-64.2.0.tgz", platform.HelmPart{Chart: "nexus-repository-manager", Release: "nexus", Namespace: "nexus",
			Values: map[string]any{"persistence": map[string]any{"storageSize": "500Gi"}}}},
		{"nfs-subdir-external-provisioner-4.0.18.tgz", platform.HelmPart{Chart: "nfs-subdir-external-provisioner", Release: "nfs", Namespace: "nfs-provisioner",
			Values: map[string]any{"nfs": map[string]any{"server": "10.1.2.3", "path": "/exports"}}}},
		{"rook-ceph-v1.20.6.tgz", platform.HelmPart{Chart: "rook-ceph", Release: "rook-ceph", Namespace: "rook-ceph"}},
		{"nxrm-ha-95.2.0.tgz", platform.HelmPart{Chart: "nxrm-ha", Release: "nxrm", Namespace: "nexus"}},
	} {
		t.Run(c.part.Chart, func(t *testing.T) {
			archive := filepath.Join(fixtures.Dir(t), "charts", c.archive)
			c.part.Lookup = "warn" // the comparison is with helm template, whose lookup finds nothing too
			got, _, err := renderChart(context.Background(), archive, c.part, nil, caps, false)
			if err != nil {
				t.Fatal(err)
			}
			values, err := yaml.Marshal(c.part.Values)
			if err != nil {
				t.Fatal(err)
			}
			valuesFile := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(valuesFile, values, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"template", c.part.Release, archive, "--namespace", c.part.Namespace, "--kube-version", caps.KubeVersion,
				"--include-crds", "--skip-tests", "-f", valuesFile}
			for _, a := range caps.APIVersions {
				args = append(args, "--api-versions", a)
			}
			cmd := exec.Command(helm, args...)
			cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, stderr.String())
			}
			want, err := manifest.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("plinth rendered no objects")
			}
			if g, w := canonical(t, got), canonical(t, want); !bytes.Equal(g, w) {
				t.Errorf("plinth (%d objects) and helm template (%d objects) differ:\n%s", len(got), len(want), firstDiff(g, w))
			}
		})
	}
}

// TestKustomizeMatchesKustomizeBuild builds the Kustomize parts of prod
// (cert-manager, Istio, Kubeflow from kubeflow/manifests 26.03) in-process
// and with `kustomize build` over a copy of the same tree and the same
// generated kustomization: the object sets must be identical.
func TestKustomizeMatchesKustomizeBuild(t *testing.T) {
	kustomize := referenceTool(t, "kustomize")
	vendorDir, lock := vendorFixtures(t)
	comps, err := evaluateExample("prod").Catalog()
	if err != nil {
		t.Fatal(err)
	}
	trees := &treeCache{trees: map[string]filesys.FileSystem{}}
	for _, name := range []string{"certManager", "istio", "kubeflow"} {
		t.Run(name, func(t *testing.T) {
			part := comps[name].Kustomize[0]
			mem, label, err := trees.get(Options{VendorDir: vendorDir, Lock: lock}, part)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := buildKustomize(mem, label, name, part.Paths)
			if err != nil {
				t.Fatal(err)
			}

			tree := filepath.Join(t.TempDir(), "tree")
			if err := os.CopyFS(tree, os.DirFS(filepath.Join(fixtures.Dir(t), "kubeflow-manifests"))); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(tree, ".build", name)
			var k strings.Builder
			k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
			for _, p := range part.Paths {
				k.WriteString("- ../../" + p + "\n")
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(kustomize, "build", dir)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kustomize build: %v\n%s", err, stderr.String())
			}
			want, err := manifest.Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				t.Fatal("plinth built no objects")
			}
			if g, w := canonical(t, got), canonical(t, want); !bytes.Equal(g, w) {
				t.Errorf("plinth (%d objects) and kustomize build (%d objects) differ:\n%s", len(got), len(want), firstDiff(g, w))
			}
		})
	}
}
