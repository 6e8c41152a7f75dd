package diff

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// actionMark is the one-character mark of an object's action in text and
// Markdown: "+" added, "~" changed, "-" removed.
var actionMark = map[string]string{ActionAdded: "+", ActionChanged: "~", ActionRemoved: "-"}

// WriteText writes r as a terse listing for a terminal: the notes first,
// one per line ("danger: prod/storage: PersistentVolumeClaim/ml/data is
// deleted: …"), then each changed environment, its changed components and
// their objects, "- ID" removed, "~ ID" changed (with its diff and the
// Secret keys that changed, indented) and "+ ID" added, and a last line of
// totals. Unchanged environments are left out. A report without changes
// ends with the line "no changes".
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "%s: %s: %s\n", n.Severity, clean(noteSubject(n)), clean(n.Message))
	}
	for _, f := range r.Failed {
		fmt.Fprintf(bw, "failed: %s: not compared: %s\n", clean(f.Name), clean(f.Error))
	}
	if !r.Changed() {
		if len(r.Failed) > 0 {
			bw.WriteString("no changes in the environments compared\n")
			return flush(bw, "text")
		}
		bw.WriteString("no changes\n")
		return flush(bw, "text")
	}
	if len(r.Notes) > 0 {
		bw.WriteString("\n")
	}
	for _, e := range r.Environments {
		if e.Status == StatusUnchanged {
			continue
		}
		fmt.Fprintf(bw, "%s: %s (%s)\n", clean(e.Name), e.Status, counts(e.Added, e.Changed, e.Removed))
		for _, c := range e.Components {
			fmt.Fprintf(bw, "  %s: %s (%s)\n", clean(c.Name), c.Status, counts(c.Added, c.Changed, c.Removed))
			for _, o := range c.Objects {
				fmt.Fprintf(bw, "    %s %s", actionMark[o.Action], clean(o.ID))
				if o.MovedFrom != "" {
					fmt.Fprintf(bw, " (moved from %s)", clean(o.MovedFrom))
				}
				bw.WriteString("\n")
				if o.SecretKeys != nil {
					fmt.Fprintf(bw, "        secret keys: %s\n", secretKeysText(o.SecretKeys, clean))
				}
				if o.Diff != "" {
					for _, line := range strings.SplitAfter(strings.TrimSuffix(o.Diff, "\n"), "\n") {
						bw.WriteString("        ")
						bw.WriteString(clean(strings.TrimSuffix(line, "\n")))
						bw.WriteString("\n")
					}
				}
			}
		}
	}
	s := r.Summary
	fmt.Fprintf(bw, "%d of %d environments changed: %d added, %d changed, %d removed\n",
		s.EnvironmentsChanged, s.Environments, s.Added, s.Changed, s.Removed)
	return flush(bw, "text")
}

// flush flushes bw, wrapping its first write error.
func flush(bw *bufio.Writer, format string) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

// noteSubject is "environment", "environment/component" or
// "environment/component/…" as far as the note says.
func noteSubject(n Note) string {
	if n.Component == "" {
		return n.Environment
	}
	return n.Environment + "/" + n.Component
}

// counts formats "+1 ~2 -0".
func counts(added, changed, removed int) string {
	return fmt.Sprintf("+%d ~%d -%d", added, changed, removed)
}

// secretKeysText formats the keys of sk, each through quote:
// "added a, b; changed c; removed d".
func secretKeysText(sk *SecretKeys, quote func(string) string) string {
	var parts []string
	for _, g := range []struct {
		verb string
		keys []string
	}{{"added", sk.Added}, {"changed", sk.Changed}, {"removed", sk.Removed}} {
		if len(g.keys) == 0 {
			continue
		}
		qs := make([]string, len(g.keys))
		for i, k := range g.keys {
			qs[i] = quote(k)
		}
		parts = append(parts, g.verb+" "+strings.Join(qs, ", "))
	}
	return strings.Join(parts, "; ")
}
