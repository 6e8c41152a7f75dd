package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/platform"
)

func runInit(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newInitCommand(&globalFlags{}, Streams{Out: &out, Err: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	var ec exitCodeError
	switch {
	case err == nil:
	case errors.As(err, &ec):
		code = ec.code
	default:
		t.Fatalf("init %v: %v", args, err)
	}
	return errb.String(), code
}

// The scaffold's example environment is valid, with no warnings.
func TestInitScaffoldIsValid(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "envs")
	if stderr, code := runInit(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	env, err := platform.Resolve(dir, "staging")
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Findings {
		t.Errorf("finding: %s", f)
	}
}

// A second init names every existing file and writes nothing, not even
// the files that are missing; --force overwrites.
func TestInitRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	if _, code := runInit(t, dir); code != 0 {
		t.Fatal("first init failed")
	}
	readme := filepath.Join(dir, "README.md")
	common := filepath.Join(dir, "environments", "common.cue")
	if err := os.Remove(readme); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(common, []byte("package plinth\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, code := runInit(t, dir)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr, common+" exists") || strings.Contains(stderr, "README.md") {
		t.Errorf("stderr does not name exactly the existing files:\n%s", stderr)
	}
	if _, err := os.Stat(readme); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("README.md written although init refused: %v", err)
	}
	if data, _ := os.ReadFile(common); string(data) != "package plinth\n" {
		t.Errorf("common.cue overwritten although init refused")
	}

	if stderr, code := runInit(t, "--force", dir); code != 0 {
		t.Fatalf("init --force: exit %d: %s", code, stderr)
	}
	if data, _ := os.ReadFile(common); string(data) == "package plinth\n" {
		t.Errorf("init --force did not overwrite common.cue")
	}
	if _, err := os.Stat(readme); err != nil {
		t.Errorf("init --force: %v", err)
	}
}
