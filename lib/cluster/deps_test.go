package cluster_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The cluster side (connection, apply, drift, inventory, notifications)
// works on the manifest set and never loads the render side: no Helm, no
// CUE, no plinth package that renders or evaluates. A controller that only
// applies stays small, and a change to rendering cannot break applying.
func TestClusterSideImportsNoRenderSide(t *testing.T) {
	forbidden := regexp.MustCompile(`^(helm\.sh/|cuelang\.org/|github\.com/plinth-platform/plinth/lib/(render|platform|source|policy)$)`)
	for _, pkg := range []string{"cluster", "apply", "drift", "inventory", "notify", "manifest", "controlled"} {
		out, err := exec.Command("go", "list", "-deps", "github.com/plinth-platform/plinth/lib/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps lib/%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if forbidden.MatchString(dep) {
				t.Errorf("lib/%s depends on %s", pkg, dep)
			}
		}
	}
}
