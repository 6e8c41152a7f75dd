package apply

import (
	"fmt"
	"sort"
	"strings"

	"github.com/plinth-platform/plinth/lib/diff"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// Action is what apply did (or, in a plan, would do) to an object.
type Action string

// The actions of a [Change].
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	// Recreated: deleted and created again for an immutable field (Force).
	Recreated Action = "recreated"
	Deleted   Action = "deleted"
	// Kept: stale, but left in place: annotated plinth.dev/prune: disabled,
	// no longer labelled as the environment's, or not pruning (Prune off).
	Kept Action = "kept"
)

// Change is one object's action.
type Change struct {
	Component string
	ID        manifest.ID
	Action    Action
	// Diff is the change of a configured object, Secret values masked
	// (plans only).
	Diff string `json:",omitempty"`
	// SecretKeys names the keys of a Secret whose values change (plans only).
	SecretKeys *diff.SecretKeys `json:",omitempty"`
	// Reason says why an object is kept or recreated, or what it waits for.
	Reason string `json:",omitempty"`

	// released: a stale object plinth stops managing (annotation, label).
	released bool
}

// Result is what an apply did, or a dry run would do.
type Result struct {
	Environment string
	DryRun      bool
	Changes     []Change
}

// Count is the number of objects per action.
type Count map[Action]int

// Summary counts the changes per component, in component order.
func (r *Result) Summary() (components []string, counts map[string]Count) {
	counts = map[string]Count{}
	for _, c := range r.Changes {
		if counts[c.Component] == nil {
			counts[c.Component] = Count{}
			components = append(components, c.Component)
		}
		counts[c.Component][c.Action]++
	}
	sort.Strings(components)
	return components, counts
}

// Failure is one object the plan refused.
type Failure struct {
	Component string
	ID        manifest.ID
	// Field is the field at fault, when the server named one.
	Field   string `json:",omitempty"`
	Message string
}

func (f Failure) String() string {
	return fmt.Sprintf("component %s: %s: %s", f.Component, f.ID, f.Message)
}

// ValidationError lists every object that failed the plan; nothing was
// written to the cluster.
type ValidationError struct {
	Environment string
	Failures    []Failure
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %s: %d object(s) failed validation, nothing was written:", e.Environment, len(e.Failures))
	for _, f := range e.Failures {
		b.WriteString("\n  ")
		b.WriteString(f.String())
	}
	return b.String()
}
