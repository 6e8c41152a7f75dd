package cli

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// setVersion sets the -ldflags variables for one test.
func setVersion(t *testing.T, v, c, d string) {
	t.Helper()
	old := [3]string{version, commit, date}
	version, commit, date = v, c, d
	t.Cleanup(func() { version, commit, date = old[0], old[1], old[2] })
}

func TestVersionPin(t *testing.T) {
	const hash = "c0fa94f61961077fbcd247fe96484e3d3960af5a"
	for _, tc := range []struct{ version, commit, want string }{
		{"v1.2.3", hash, "v1.2.3"},                               // a build at a release tag
		{"v1.3.0-rc.1", hash, "v1.3.0-rc.1"},                     // a pre-release tag
		{"v1.2.3-4-gc0fa94f", hash, hash},                        // commits after the tag
		{"v1.2.3-dirty", hash, hash},                             // uncommitted changes on the tag
		{"c0fa94f-dirty", hash, hash},                            // no tag at all
		{"v0.0.0-20261206074226-c0fa94f61961+dirty", hash, hash}, // go build's pseudo-version
	} {
		setVersion(t, tc.version, tc.commit, "2026-12-06T07:42:26Z")
		if got := currentVersion().Pin(); got != tc.want {
			t.Errorf("version %q: pin %q, want %q", tc.version, got, tc.want)
		}
	}
}

// Without -ldflags, the version, commit and date come from the build
// information, and so do the modules (a test binary has none of its own).
func TestVersionText(t *testing.T) {
	setVersion(t, "", "", "")
	info := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/plinth-platform/plinth", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "cuelang.org/go", Version: "v0.17.1"},
			{Path: "helm.sh/helm/v3", Version: "v3.22.0"},
			{Path: "sigs.k8s.io/kustomize/api", Version: "v0.21.0", Replace: &debug.Module{Path: "sigs.k8s.io/kustomize/api", Version: "v0.21.2"}},
		},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "c0fa94f61961077fbcd247fe96484e3d3960af5a"}, {Key: "vcs.time", Value: "2026-12-06T07:42:26Z"}},
	}
	var b strings.Builder
	if err := versionFrom(info).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"plinth v1.2.3\n", "commit:    c0fa94f61961077fbcd247fe96484e3d3960af5a\n", "built:     2026-12-06T07:42:26Z\n", "cue:       v0.17.1\n", "helm:      v3.22.0\n", "kustomize: v0.21.2\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plinth version does not print %q:\n%s", want, b.String())
		}
	}
}

// plinth init pins the version that wrote the CI files: the release, or
// the commit of a build between releases.
func TestInitPinsVersion(t *testing.T) {
	for _, tc := range []struct{ version, want string }{
		{"v1.2.3", "v1.2.3"},
		{"v1.2.3-4-gc0fa94f-dirty", "c0fa94f61961077fbcd247fe96484e3d3960af5a"},
	} {
		setVersion(t, tc.version, "c0fa94f61961077fbcd247fe96484e3d3960af5a", "2026-12-06T07:42:26Z")
		dir := t.TempDir()
		if stderr, code := runInit(t, dir); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, f := range []string{".github/workflows/plinth.yml", ".gitlab-ci.yml"} {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if want := `PLINTH_VERSION: "` + tc.want + `"`; !strings.Contains(string(data), want) {
				t.Errorf("version %s: %s does not pin %s", tc.version, f, want)
			}
		}
	}
}
