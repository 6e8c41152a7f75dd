package diff

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// GitHubCommentLimit is the largest comment GitHub accepts, in characters:
// the limit to give [Report.WriteMarkdown] for a pull-request comment.
const GitHubCommentLimit = 65536

// WriteMarkdown writes r as GitHub Markdown for a pull-request comment: a
// title line, the two refs, the notes (each marked **Danger**, **Warning**
// or **Info**), a table of the environments (| Environment | Status |
// Added | Changed | Removed |), then for each environment with changes a
// collapsible <details> section per component, summarised
// "component: +N ~N -N", listing its objects (removed, changed, added),
// each changed object's diff in a ```diff block, and for a Secret the
// names of the keys that changed (never a value).
//
// The output is at most limit bytes long (bytes, not characters: GitHub
// counts characters, and a text never has more characters than bytes, so
// the output fits a comment of limit characters); limit <= 0 means no
// limit. When the whole report does not fit, WriteMarkdown drops, from the
// end of the document, first the objects' diffs (keeping the object
// lines), then the object lines, then whole component sections,
// environment sections, rows of the table, notes and the refs, as far as
// needed, and ends with a line that says so: "… truncated: N more objects
// not shown (limit 65,536 characters); run plinth diff locally for the full
// report" (preceded by "the diffs of N objects", "N more notes" … when
// those are left out too). If not even the title and that line fit, the
// output is the start of them, cut at limit bytes (at a character
// boundary).
//
// Everything that comes from the repository is neutralised: names, keys
// and refs are shown in code spans, diffs in fences longer than any run of
// backticks they contain, other text has Markdown and HTML escaped (and an
// invisible word joiner after "@", so that no one is mentioned), and
// control characters are shown as escapes.
func (r *Report) WriteMarkdown(w io.Writer, limit int) error {
	if _, err := io.WriteString(w, r.markdown(limit)); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

// mdPlan says how many of each kind of droppable part of the Markdown
// document to show, counting in document order.
type mdPlan struct {
	diffs, objects, components, sections, rows, notes int
	refs                                              int // 1: show the refs line, 0: do not
}

// markdown renders r in at most limit bytes (no limit when limit <= 0).
func (r *Report) markdown(limit int) string {
	p := r.mdTotals()
	if limit <= 0 {
		s, _ := r.renderMarkdown(p, 0)
		return s
	}
	if s, ok := r.renderMarkdown(p, limit); ok {
		return s
	}
	// Drop parts from the end, one kind after the other: show the largest
	// number of the current kind that fits (the length grows with it).
	for _, n := range []*int{&p.diffs, &p.objects, &p.components, &p.sections, &p.rows, &p.notes, &p.refs} {
		hi := *n
		*n = 0
		if _, ok := r.renderMarkdown(p, limit); !ok {
			continue
		}
		lo := 0
		for lo < hi {
			mid := lo + (hi-lo+1)/2
			*n = mid
			if _, ok := r.renderMarkdown(p, limit); ok {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		*n = lo
		s, _ := r.renderMarkdown(p, limit)
		return s
	}
	s, _ := r.renderMarkdown(p, 0)
	return safetext.Cut(s, limit)
}

// mdTotals is the plan that shows everything.
func (r *Report) mdTotals() mdPlan {
	p := mdPlan{notes: len(r.Notes), rows: len(r.Environments), refs: 1}
	for _, e := range r.Environments {
		if len(e.Components) > 0 {
			p.sections++
		}
		p.components += len(e.Components)
		for _, c := range e.Components {
			p.objects += len(c.Objects)
			for _, o := range c.Objects {
				if o.Diff != "" {
					p.diffs++
				}
			}
		}
	}
	return p
}

// limitedBuilder collects a document until it would exceed limit bytes
// (no limit when limit <= 0); then it stops and remembers it.
type limitedBuilder struct {
	sb    strings.Builder
	limit int
	over  bool
}

func (b *limitedBuilder) WriteString(s string) {
	if b.over {
		return
	}
	if b.limit > 0 && b.sb.Len()+len(s) > b.limit {
		b.over = true
		return
	}
	b.sb.WriteString(s)
}

// severityLabel is how a note's severity shows in Markdown.
var severityLabel = map[string]string{
	SeverityDanger:  "**Danger**",
	SeverityWarning: "**Warning**",
	SeverityInfo:    "**Info**",
}

// renderMarkdown renders the parts of r that p shows, and reports whether
// the document fits in limit bytes; when it does not, the returned text is
// incomplete.
func (r *Report) renderMarkdown(p mdPlan, limit int) (string, bool) {
	b := &limitedBuilder{limit: limit}
	s := r.Summary
	if r.Changed() {
		b.WriteString(fmt.Sprintf("### plinth diff: %d of %d %s changed (%d added, %d changed, %d removed)\n\n",
			s.EnvironmentsChanged, s.Environments, plural(s.Environments, "environment", "environments"),
			s.Added, s.Changed, s.Removed))
	} else {
		b.WriteString("### plinth diff: no changes\n\n")
	}
	if p.refs > 0 {
		b.WriteString("Base: " + codeSpan(r.Base) + " · Head: " + codeSpan(r.Head) + "\n\n")
	}

	if len(r.Failed) > 0 {
		b.WriteString("#### Not compared: failed to render\n\n")
		for _, f := range r.Failed {
			b.WriteString("- " + codeSpan(f.Name) + ": " + safetext.MarkdownText(safetext.Cut(f.Error, 500), newline) + "\n")
		}
		b.WriteString("\n")
	}

	shownNotes := min(p.notes, len(r.Notes))
	if shownNotes > 0 {
		b.WriteString("#### Notes\n\n")
		for _, n := range r.Notes[:shownNotes] {
			b.WriteString("- " + severityLabel[n.Severity] + " " + codeSpan(noteSubject(n)) + ": " + safetext.MarkdownText(n.Message, newline) + "\n")
			if b.over {
				return "", false
			}
		}
		b.WriteString("\n")
	}

	var hiddenObjects, hiddenDiffs int
	shownRows := min(p.rows, len(r.Environments))
	switch {
	case len(r.Environments) == 0:
		b.WriteString("No changes: neither revision has an environment.\n")
	case !r.Changed():
		b.WriteString(fmt.Sprintf("No changes: the rendered objects of %s are the same in both revisions.\n",
			plural(len(r.Environments), "the environment", "all "+strconv.Itoa(len(r.Environments))+" environments")))
	default:
		if shownRows > 0 {
			b.WriteString("| Environment | Status | Added | Changed | Removed |\n| --- | --- | ---: | ---: | ---: |\n")
			for _, e := range r.Environments[:shownRows] {
				b.WriteString(fmt.Sprintf("| %s | %s | %d | %d | %d |\n",
					safetext.TableCell(codeSpan(e.Name)), e.Status, e.Added, e.Changed, e.Removed))
				if b.over {
					return "", false
				}
			}
			b.WriteString("\n")
		}
		var sections, components, objects, diffs int
		// A component none of whose objects is shown is a list item
		// instead of a <details>; a blank line ends such a list.
		inComponentList := false
		endComponentList := func() {
			if inComponentList {
				b.WriteString("\n")
				inComponentList = false
			}
		}
	envs:
		for _, e := range r.Environments {
			if len(e.Components) == 0 {
				continue
			}
			if sections == p.sections {
				break
			}
			sections++
			endComponentList()
			b.WriteString("#### " + codeSpan(e.Name) + "\n\n")
			for _, c := range e.Components {
				if components == p.components {
					break envs
				}
				components++
				if objects == p.objects || len(c.Objects) == 0 {
					b.WriteString("- " + codeSpan(c.Name) + ": " + counts(c.Added, c.Changed, c.Removed) + "\n")
					inComponentList = true
					continue
				}
				endComponentList()
				b.WriteString("<details><summary><code>" + html.EscapeString(clean(c.Name)) + "</code>: " +
					counts(c.Added, c.Changed, c.Removed) + "</summary>\n\n")
				inList := false // the last thing written is a list item
				for _, o := range c.Objects {
					if objects == p.objects {
						break
					}
					objects++
					b.WriteString(objectLine(o))
					inList = true
					if o.Diff != "" {
						if diffs < p.diffs {
							diffs++
							// A blank line ends the list, then the fence.
							b.WriteString("\n" + safetext.CodeBlock(o.Diff, "diff") + "\n")
							inList = false
						} else {
							hiddenDiffs++
						}
					}
					if b.over {
						return "", false
					}
				}
				if inList {
					b.WriteString("\n")
				}
				b.WriteString("</details>\n\n")
			}
		}
		endComponentList()
		hiddenObjects = s.Added + s.Changed + s.Removed - objects
	}

	// The parts left out, in document order; the objects last, so that the
	// line reads "… N more objects not shown (limit …)".
	var hidden []string
	if n := len(r.Notes) - shownNotes; n > 0 {
		hidden = append(hidden, fmt.Sprintf("%d more %s", n, plural(n, "note", "notes")))
	}
	if n := len(r.Environments) - shownRows; n > 0 && r.Changed() {
		hidden = append(hidden, fmt.Sprintf("%d more %s of the table", n, plural(n, "row", "rows")))
	}
	if hiddenDiffs > 0 {
		hidden = append(hidden, fmt.Sprintf("the diffs of %d %s", hiddenDiffs, plural(hiddenDiffs, "object", "objects")))
	}
	if hiddenObjects > 0 {
		hidden = append(hidden, fmt.Sprintf("%d more %s", hiddenObjects, plural(hiddenObjects, "object", "objects")))
	}
	if len(hidden) > 0 {
		list := hidden[len(hidden)-1]
		if len(hidden) > 1 {
			list = strings.Join(hidden[:len(hidden)-1], ", ") + " and " + list
		}
		b.WriteString(fmt.Sprintf("… truncated: %s not shown (limit %s characters); run plinth diff locally for the full report\n",
			list, thousands(limit)))
	}
	return b.sb.String(), !b.over
}

// objectLine is the list item of one object.
func objectLine(o Object) string {
	var sb strings.Builder
	sb.WriteString("- ")
	sb.WriteString(o.Action)
	sb.WriteString(" ")
	sb.WriteString(codeSpan(o.ID))
	if o.MovedFrom != "" {
		sb.WriteString(" (moved from component ")
		sb.WriteString(codeSpan(o.MovedFrom))
		sb.WriteString(")")
	}
	if o.SecretKeys != nil {
		sb.WriteString(": secret keys ")
		sb.WriteString(secretKeysText(o.SecretKeys, codeSpan))
	}
	sb.WriteString("\n")
	return sb.String()
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands formats n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
