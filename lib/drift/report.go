package drift

import (
	"fmt"
	"time"
)

// SchemaVersion is the version of the JSON report (SCHEMA.md). It changes
// only when a field changes meaning or disappears.
const SchemaVersion = 1

// Object states.
const (
	// StateDrifted: the object exists, and fields plinth sets differ.
	StateDrifted = "drifted"
	// StateMissing: the environment has the object, the cluster does not
	// (someone deleted it).
	StateMissing = "missing"
	// StateUnmanaged: the cluster has an object labelled as the
	// environment's that is not in its inventory (made by hand, copied).
	StateUnmanaged = "unmanaged"
	// StateStale: in the inventory, no longer in the environment, not yet
	// pruned.
	StateStale = "stale"
)

// Absent stands for a field that does not exist on one side.
const Absent = "<absent>"

// Redacted stands for a Secret value: reports never show one.
const Redacted = "<redacted>"

// Report is the drift of one environment.
type Report struct {
	SchemaVersion int       `json:"schemaVersion"`
	Environment   string    `json:"environment"`
	Checked       time.Time `json:"checked"`
	// Corrected: the drifted and missing objects were applied again.
	Corrected  bool        `json:"corrected"`
	Summary    Summary     `json:"summary"`
	Components []Component `json:"components"`
}

// Summary counts objects over the whole environment.
type Summary struct {
	// Objects is the number of objects of the environment checked.
	Objects   int `json:"objects"`
	Drifted   int `json:"drifted"`
	Missing   int `json:"missing"`
	Unmanaged int `json:"unmanaged"`
	Stale     int `json:"stale"`
	// IgnoredFields counts drifted fields left out by the environment's ignore rules.
	IgnoredFields int `json:"ignoredFields"`
}

// Drift reports whether anything differs.
func (s Summary) Drift() bool {
	return s.Drifted+s.Missing+s.Unmanaged+s.Stale > 0
}

// Counts is the four counts as reports, events and conditions say them:
// "2 drifted, 1 missing, 0 unmanaged, 0 stale".
func (s Summary) Counts() string {
	return fmt.Sprintf("%d drifted, %d missing, %d unmanaged, %d stale", s.Drifted, s.Missing, s.Unmanaged, s.Stale)
}

// Component is one component's drift; components without drift are
// listed with their object count and no objects.
type Component struct {
	Name string `json:"name"`
	// Objects is the number of the component's objects checked.
	Objects int      `json:"objects"`
	Drifted int      `json:"drifted"`
	Missing int      `json:"missing"`
	Items   []Object `json:"items"`
}

// Object is one object that differs.
type Object struct {
	// ID is "Kind.group/namespace/name" (manifest.ID.String).
	ID         string  `json:"id"`
	APIVersion string  `json:"apiVersion"`
	Kind       string  `json:"kind"`
	Namespace  string  `json:"namespace,omitempty"`
	Name       string  `json:"name"`
	State      string  `json:"state"`
	Fields     []Field `json:"fields,omitempty"`
	// Corrected: applied again by this check (--correct, policy correct).
	Corrected bool `json:"corrected,omitempty"`
}

// Field is one drifted field: what plinth applied (Before) and what the
// cluster has now (After), with who changed it and when, from the
// object's managedFields.
type Field struct {
	// Path is a JSON pointer (RFC 6901) into the object: "/spec/replicas",
	// "/spec/template/spec/containers/0/image". Lists whose items have a
	// name are indexed by position in the desired object.
	Path string `json:"path"`
	// Before and After are JSON values, Absent, or Redacted for every
	// value of a Secret.
	Before string `json:"before"`
	After  string `json:"after"`
	// Manager, Operation ("Update" or "Apply") and Time are of the field
	// manager owning the field now; empty when no other manager owns it
	// (a field removed, say).
	Manager   string     `json:"manager,omitempty"`
	Operation string     `json:"operation,omitempty"`
	Time      *time.Time `json:"time,omitempty"`
}
