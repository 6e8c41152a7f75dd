package diff

import (
	"encoding/json"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Rendered is the output of rendering the environments of one revision:
// environment name → component name → the component's objects. nil
// objects are ignored.
type Rendered map[string]map[string][]*unstructured.Unstructured

// Warning is one vet warning of an environment: the rule's identifier and
// its one-line text.
type Warning struct {
	Rule string `json:"rule"`
	Text string `json:"text"`
}

// Input is what [Compare] compares.
type Input struct {
	// Base and Head are the rendered environments of the two revisions.
	Base, Head Rendered
	// BaseWarnings and HeadWarnings are the vet warnings of each revision,
	// by environment name. A head warning that the base revision does not
	// have (same rule and text) becomes a "compatibility" note.
	BaseWarnings, HeadWarnings map[string][]Warning
	// BaseRef and HeadRef name the revisions in the report's header, e.g.
	// "main (3f2a1c0)" and "working tree".
	BaseRef, HeadRef string
	// Failed are the environments that could not be rendered in either
	// revision, by name, with the error (one line is enough: the CLI prints
	// the whole error on stderr). They are not compared: Base and Head
	// entries of a failed environment are ignored.
	Failed map[string]string
}

// Failure is an environment that could not be compared because a
// revision of it failed to render.
type Failure struct {
	Name string `json:"name"`
	// Error is the first line of the render's error.
	Error string `json:"error"`
}

// Status values of an [Environment] and a [Component].
const (
	StatusAdded     = "added"
	StatusRemoved   = "removed"
	StatusChanged   = "changed"
	StatusUnchanged = "unchanged"
)

// Action values of an [Object].
const (
	ActionAdded   = "added"
	ActionChanged = "changed"
	ActionRemoved = "removed"
)

// Severity values of a [Note], most severe first.
const (
	SeverityDanger  = "danger"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Kind values of a [Note].
const (
	NotePVCDeleted         = "pvc-deleted"
	NoteCRDDeleted         = "crd-deleted"
	NoteNamespaceDeleted   = "namespace-deleted"
	NoteEnvironmentRemoved = "environment-removed"
	NoteImmutableField     = "immutable-field"
	NoteGPURestart         = "gpu-restart"
	NoteCompatibility      = "compatibility"
	NoteMoved              = "moved"
	NoteAPIVersion         = "api-version"
)

// Report is the change between two revisions' rendered environments.
//
// Its JSON form ([Report.WriteJSON]) is a public schema, stable across
// releases: fields may be added, none is renamed or removed, and the
// meaning of a value does not change. Keys appear in the order below;
// lists are never null (an empty list is []), and optional fields are
// left out when empty.
//
//	{
//	  "base": "main (3f2a1c0)",      // Input.BaseRef
//	  "head": "working tree",        // Input.HeadRef
//	  "summary": {
//	    "environments": 3,           // environments compared (in either revision)
//	    "environmentsChanged": 1,    // of them, status other than "unchanged"
//	    "added": 1,                  // objects, over all environments
//	    "changed": 2,
//	    "removed": 1,
//	    "danger": 1,                 // notes, by severity
//	    "warning": 2,
//	    "info": 0
//	  },
//	  "notes": [                     // most severe first, then by environment,
//	    {                            // component, object, kind, message
//	      "severity": "danger",      // "danger" | "warning" | "info"
//	      "kind": "pvc-deleted",     // see the Note* constants
//	      "environment": "prod",
//	      "component": "storage",    // omitted when the note is about an environment
//	      "object": "PersistentVolumeClaim/ml/data", // omitted when not about one object
//	      "message": "PersistentVolumeClaim/ml/data is deleted: ..."
//	    }
//	  ],
//	  "failed": [                    // omitted when every environment rendered
//	    {"name": "okd", "error": "render okd: ..."}
//	  ],
//	  "environments": [              // every environment of either revision, by name
//	    {
//	      "name": "prod",
//	      "status": "changed",       // "added" | "removed" | "changed" | "unchanged"
//	      "added": 1, "changed": 2, "removed": 1,
//	      "components": [            // only components with changed objects, by name
//	        {
//	          "name": "storage",
//	          "status": "changed",   // "added" | "removed" | "changed"
//	          "added": 0, "changed": 1, "removed": 1,
//	          "objects": [           // removed, then changed, then added; each by id
//	            {
//	              "id": "Deployment.apps/ml/train", // Kind[.group]/[namespace/]name
//	              "kind": "Deployment",
//	              "namespace": "ml",               // omitted for cluster-scoped objects
//	              "name": "train",
//	              "apiVersion": "apps/v1",         // head's; base's for a removed object
//	              "action": "changed",             // "added" | "changed" | "removed"
//	              "movedFrom": "training",         // omitted unless moved between components
//	              "diff": "--- base/...\n+++ head/...\n@@ ...", // omitted unless changed
//	              "secretKeys": {                  // Secrets only; omitted when no key changed
//	                "added": ["token"], "removed": [], "changed": ["password"]
//	              }
//	            }
//	          ]
//	        }
//	      ]
//	    }
//	  ]
//	}
//
// No field ever holds a Secret's value or a hash of one.
type Report struct {
	Base    string  `json:"base"`
	Head    string  `json:"head"`
	Summary Summary `json:"summary"`
	// Notes are the impact notes, most severe first.
	Notes []Note `json:"notes"`
	// Failed are the environments that could not be compared because
	// they failed to render in a revision, sorted by name; left out when
	// empty. A failed environment is not in Environments.
	Failed []Failure `json:"failed,omitempty"`
	// Environments are all environments of either revision, sorted by
	// name, unchanged ones included, failed ones left out.
	Environments []Environment `json:"environments"`
}

// Summary totals a [Report].
type Summary struct {
	// Environments counts the environments of either revision.
	Environments int `json:"environments"`
	// EnvironmentsChanged counts those whose status is not "unchanged".
	EnvironmentsChanged int `json:"environmentsChanged"`
	// Added, Changed and Removed count objects over all environments.
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	// Danger, Warning and Info count notes by severity.
	Danger  int `json:"danger"`
	Warning int `json:"warning"`
	Info    int `json:"info"`
}

// Environment is the change of one environment.
type Environment struct {
	Name string `json:"name"`
	// Status is "added" (only in the head revision), "removed" (only in
	// the base revision), "changed" or "unchanged".
	Status string `json:"status"`
	// Added, Changed and Removed count the environment's objects.
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	// Components are the components with changed objects, by name.
	Components []Component `json:"components"`
}

// Component is the change of one component of an environment.
type Component struct {
	Name string `json:"name"`
	// Status is "added" (the component is only in the head revision),
	// "removed" (only in the base revision) or "changed".
	Status string `json:"status"`
	// Added, Changed and Removed count the component's objects.
	Added   int `json:"added"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	// Objects are the removed objects, then the changed, then the added,
	// each group sorted by ID.
	Objects []Object `json:"objects"`
}

// Object is the change of one object.
type Object struct {
	// ID is the object's identity as [manifest.ID.String] formats it:
	// "Kind.group/namespace/name", without the version.
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// APIVersion is the head revision's, or the base revision's for a
	// removed object.
	APIVersion string `json:"apiVersion"`
	// Action is "added", "changed" or "removed".
	Action string `json:"action"`
	// MovedFrom is the component of the base revision when the object
	// moved to another component (it is then reported, as changed, in the
	// component of the head revision).
	MovedFrom string `json:"movedFrom,omitempty"`
	// Diff is the unified diff of the object's canonical YAML, base to
	// head, with 3 lines of context and Secret values masked. It is empty
	// for added and removed objects, and for changed objects whose
	// masked YAML is the same (a Secret whose only change is a value, an
	// object that only moved).
	Diff string `json:"diff,omitempty"`
	// SecretKeys lists the keys of a Secret's data and stringData that
	// were added, removed or changed (all keys are added for an added
	// Secret, removed for a removed one); nil when no key changed and for
	// every other kind.
	SecretKeys *SecretKeys `json:"secretKeys,omitempty"`
}

// SecretKeys names the keys of a Secret whose values changed, sorted.
type SecretKeys struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

// Note points at a change that needs a reviewer's attention.
type Note struct {
	// Severity is "danger", "warning" or "info".
	Severity string `json:"severity"`
	// Kind is one of the Note* constants: "pvc-deleted", "crd-deleted",
	// "namespace-deleted", "environment-removed", "immutable-field",
	// "gpu-restart", "compatibility", "moved", "api-version".
	Kind        string `json:"kind"`
	Environment string `json:"environment"`
	Component   string `json:"component,omitempty"`
	// Object is the [Object.ID] the note is about, if any.
	Object string `json:"object,omitempty"`
	// Message is one line that says what happens.
	Message string `json:"message"`
}

// Changed reports whether any environment was added, removed or changed.
// Notes alone (a new vet warning with the same rendered objects) are not a
// change.
func (r *Report) Changed() bool {
	for _, e := range r.Environments {
		if e.Status != StatusUnchanged {
			return true
		}
	}
	return false
}

// WriteJSON writes r as indented JSON (two spaces), keys in the order of
// the schema documented on [Report], followed by a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
