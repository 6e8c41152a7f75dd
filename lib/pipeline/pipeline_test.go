package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
)

// TestMain makes the test binary the pipeline's sandbox child too.
func TestMain(m *testing.M) {
	pipeline.Serve()
	os.Exit(m.Run())
}

// The two forms of a render are one render: the files of deploy/dev/ hold
// exactly the objects of the manifest set, component by component, and
// the set carries the environment's settings as vet sees them.
func TestFilesAndObjectsAreOneRender(t *testing.T) {
	t.Setenv("PLINTH_CACHE_DIR", t.TempDir())
	req, err := pipeline.InRepository("../..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := pipeline.Files(ctx, req, pipeline.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	set, err := pipeline.Objects(ctx, req, pipeline.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Components) == 0 || len(set.Components) != out.Components {
		t.Fatalf("%d components in the set, %d in the files", len(set.Components), out.Components)
	}
	for _, c := range set.Components {
		var b bytes.Buffer
		if err := manifest.Encode(&b, c.Objects); err != nil {
			t.Fatal(err)
		}
		if got := out.Files[c.Name+".yaml"]; !bytes.Equal(got, b.Bytes()) {
			t.Errorf("component %s: the set's objects are not the file's", c.Name)
		}
	}
	if set.Environment != "dev" || set.Settings.Kubernetes != "1.34.4" || set.Settings.Drift.Policy != "report" {
		t.Errorf("settings: environment %q, Kubernetes %q, drift policy %q; want dev, 1.34.4, report", set.Environment, set.Settings.Kubernetes, set.Settings.Drift.Policy)
	}
	findings, err := pipeline.Vet(ctx, req.Env, pipeline.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var warnings int
	for _, f := range findings {
		if f.Severity == platform.SeverityWarning {
			warnings++
		}
	}
	if warnings != len(set.Warnings) {
		t.Errorf("vet has %d warnings, the set %d: %v", warnings, len(set.Warnings), set.Warnings)
	}
}

// An environment that is not valid renders nothing, and says which
// environment and why; so does one over its budget.
func TestRefusals(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, platform.EnvironmentsDir, "broken")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.cue"), []byte("package plinth\n\ncluster: version: \"0.1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req, err := pipeline.InRepository(root, "broken")
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Objects(context.Background(), req, pipeline.DefaultLimits())
	if err == nil || !strings.Contains(err.Error(), "environment broken is not valid") {
		t.Errorf("invalid environment: %v", err)
	}
	limits := pipeline.DefaultLimits()
	limits.Memory = 1 << 20
	_, err = pipeline.Files(context.Background(), req, limits)
	if err == nil || !strings.Contains(err.Error(), "environment broken: ") || !strings.Contains(err.Error(), "memory") {
		t.Errorf("over budget: %v", err)
	}
}
