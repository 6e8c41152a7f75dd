package platform

import "fmt"

// Severity says whether a finding stops plinth (error) or only informs (warning).
type Severity string

// Severities, ordered so that errors sort first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// RuleSchema is the rule id of findings that come from the schema itself:
// type errors, unknown fields, missing required fields, syntax errors.
const RuleSchema = "SCHEMA"

// Rule is one compatibility rule of the matrix (cue/rules.cue).
type Rule struct {
	ID        string   `json:"id"`
	Severity  Severity `json:"severity"`
	Condition string   `json:"condition"`
	Message   string   `json:"message"`
	Source    string   `json:"source"`
	Paths     []string `json:"paths"`
	// Action is the work on the cluster the rule's fix takes, when it is
	// more than a changed field (a runtime or storage migration).
	Action   string `json:"action,omitempty"`
	Violated bool   `json:"-"`
	Detail   string `json:"-"`
}

// Position is a place in a file, relative to the repository root.
type Position struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Finding is one problem with an environment: a violated rule or a schema error.
type Finding struct {
	Environment string   `json:"environment"`
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	// Path is the CUE path of the field concerned, e.g. components.kubeflow.version.
	Path     string   `json:"path"`
	Position Position `json:"position"`
	// Detail states the facts of this environment; Message says what to change.
	Detail  string `json:"detail,omitempty"`
	Message string `json:"message"`
	Source  string `json:"source,omitempty"`
}

// String formats a finding on one line, as compilers do:
// file:line:col: severity RULE path: detail: message.
func (f Finding) String() string {
	text := f.Message
	if f.Detail != "" {
		text = f.Detail + ": " + f.Message
	}
	path := f.Path
	if path == "" {
		path = "(environment)"
	}
	return fmt.Sprintf("%s: %s %s %s: %s", f.Position, f.Severity, f.Rule, path, text)
}
