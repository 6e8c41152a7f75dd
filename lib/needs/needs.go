package needs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Env is the opt-out variable: a comma-separated list of Names.
const Env = "PLINTH_SKIP"

// What tests may need, with what provides each.
const (
	Fixtures = "fixtures" // ../shared/fixtures beside the repository
	Chromium = "chromium" // make chromium
	Tools    = "tools"    // make tools: helm and kustomize in bin/
	Git      = "git"      // git and git-http-backend (Debian's git package)
)

// ProvideFixtures says where the shared fixtures come from.
// FixturesEnv names the shared fixtures' directory when they are not
// beside the repository (make sets it: see the Makefile's FIXTURES).
const FixturesEnv = "PLINTH_FIXTURES"

// FixturesDir is where the tests of the repository at repo find the
// shared fixtures: $PLINTH_FIXTURES, else ../shared/fixtures beside it.
func FixturesDir(repo string) string {
	if dir := os.Getenv(FixturesEnv); dir != "" {
		return dir
	}
	return filepath.Join(repo, "..", "shared", "fixtures")
}

const ProvideFixtures = "the shared test fixtures (upstream Helm charts and Kubeflow manifests, see their README.md) as ../shared/fixtures beside the repository"

// Names lists the values PLINTH_SKIP accepts.
var Names = []string{Fixtures, Chromium, Tools, Git}

// Skipped reports whether $PLINTH_SKIP names what. An unknown name in
// $PLINTH_SKIP is an error: a typo must not turn an intended skip into a
// failure that looks like a bug, nor go unnoticed.
func Skipped(what string) (bool, error) {
	skip := false
	for name := range strings.SplitSeq(os.Getenv(Env), ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case !slices.Contains(Names, name):
			return false, fmt.Errorf("%s=%q: unknown name %q (known: %s)", Env, os.Getenv(Env), name, strings.Join(Names, ", "))
		case name == what:
			skip = true
		}
	}
	return skip, nil
}

// Missing ends t because what is missing (err says how): it skips when
// $PLINTH_SKIP names what, and otherwise fails, naming provide, the
// command or path that provides it, and the opt-out.
func Missing(t testing.TB, what string, err error, provide string) {
	t.Helper()
	skip, perr := Skipped(what)
	if perr != nil {
		t.Fatal(perr)
	}
	if skip {
		t.Skipf("%s missing (%v): skipped, as %s=%s asks", what, err, Env, os.Getenv(Env))
	}
	t.Fatalf("%s missing: %v\n\tprovide it: %s\n\tor skip the tests that need it: %s=%s", what, err, provide, Env, what)
}

// Condition is Missing for a testscript condition: the error to return
// when what is missing and not skipped, nil when $PLINTH_SKIP names it
// (the condition is then false and the script skips).
func Condition(what string, err error, provide string) error {
	skip, perr := Skipped(what)
	if perr != nil {
		return perr
	}
	if skip {
		return nil
	}
	return fmt.Errorf("%s missing: %v; provide it: %s; or skip the scripts that need it: %s=%s", what, err, provide, Env, what)
}
