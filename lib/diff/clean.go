package diff

import "github.com/plinth-platform/plinth/lib/safetext"

// newline is how a diff shows a newline within one line: as in a Go or
// YAML string, so a value reads as it is written.
const newline = `\n`

// clean makes s safe to show on one line (package safetext).
func clean(s string) string { return safetext.Escape(s, newline) }

// codeSpan shows s verbatim in a Markdown code span (package safetext).
func codeSpan(s string) string { return safetext.CodeSpan(s, newline) }
