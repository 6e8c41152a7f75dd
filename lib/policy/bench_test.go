package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// BenchmarkCheckProd runs every rule on prod as `make examples` renders it
// into tmp/examples/deploy/prod (skipped without it): the cost policy adds
// to a cold render.
func BenchmarkCheckProd(b *testing.B) {
	files, _ := filepath.Glob("../../tmp/examples/deploy/prod/*.yaml")
	if len(files) == 0 {
		b.Skip("no tmp/examples/deploy/prod: run make examples")
	}
	var comps []manifest.Component
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		objs, err := manifest.Parse(data)
		if err != nil {
			b.Fatalf("%s: %v", f, err)
		}
		comps = append(comps, manifest.Component{Name: filepath.Base(f), Objects: objs})
	}
	facts := Facts{
		Environment:       "prod",
		KubernetesVersion: "1.34.4",
		AirGapped:         true,
		Mirrors:           []string{"nexus.bank.local:8443", "nexus.bank.local:8443/dockerhub", "nexus.bank.local:8444/nvidia"},
		MirrorAllow:       []string{"quay.io/ceph/ceph", "quay.io/ceph/nvmeof:1.5", "vgpu-manager", "nvcr.io/nvidia/driver"},
		AllowedEgress:     []string{"nexus.bank.local", "git.bank.local", ".bank.local", ".svc", ".cluster.local"},
	}
	for b.Loop() {
		if vs := Check(facts, comps); len(vs) > 0 {
			b.Fatalf("prod violates policy: %v", vs[0])
		}
	}
}
