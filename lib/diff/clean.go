package diff

import (
	"strings"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// clean makes s safe to show on one line (package safetext), newlines
// written as "\n".
func clean(s string) string { return safetext.Escape(s, `\n`) }

// cleanLines cleans every line of a multi-line text, keeping its newlines.
func cleanLines(s string) string {
	if !safetext.NeedsEscape(strings.ReplaceAll(s, "\n", "")) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clean(l)
	}
	return strings.Join(lines, "\n")
}
