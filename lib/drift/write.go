package drift

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// The writers show only what the Report holds: Secret values are masked
// before (Redacted), and every string that comes from the cluster or the
// environment is made safe for its medium by package safetext: control
// characters, line separators and bidirectional-text controls are shown
// as Go escapes ("\x1b", "\u202e"), a newline as "⏎", Markdown is
// neutralised by code spans and HTML by html/template.

// WriteText writes r for a terminal: a header line ("drift in prod: 2
// drifted, 1 missing, 0 unmanaged, 0 stale of 120 objects", or "no drift in
// prod (120 objects)"), then each component with drift ("pipelines (40
// objects): 2 drifted, 1 missing"), its objects ("  drifted
// Deployment.apps/ml/api", "(corrected)" when applied again) and their
// fields, times in UTC:
//
//	/spec/replicas: 1 → 3  (kubectl-edit, Update, 2026-11-20T10:00:00Z)
//
// (the parenthesis is left out when no other manager owns the field).
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	env := oneLine(r.Environment)
	if s.Drift() {
		fmt.Fprintf(bw, "drift in %s: %s of %d objects\n", env, s.Counts(), s.Objects)
	} else {
		fmt.Fprintf(bw, "no drift in %s (%d objects)\n", env, s.Objects)
	}
	if s.IgnoredFields > 0 {
		fmt.Fprintf(bw, "%d drifted %s ignored by the environment's ignore rules\n",
			s.IgnoredFields, plural(s.IgnoredFields, "field", "fields"))
	}
	if r.Corrected {
		bw.WriteString("corrected: the drifted and missing objects were applied again\n")
	}
	for _, c := range r.Components {
		if len(c.Items) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s (%d %s): %s\n", oneLine(c.Name), c.Objects, plural(c.Objects, "object", "objects"), componentCounts(c))
		for _, o := range c.Items {
			fmt.Fprintf(bw, "  %s %s", oneLine(o.State), oneLine(o.ID))
			if o.Corrected {
				bw.WriteString(" (corrected)")
			}
			bw.WriteString("\n")
			for _, f := range o.Fields {
				fmt.Fprintf(bw, "    %s: %s → %s", oneLine(f.Path), oneLine(f.Before), oneLine(f.After))
				if f.Manager != "" {
					parts := []string{oneLine(f.Manager)}
					if f.Operation != "" {
						parts = append(parts, oneLine(f.Operation))
					}
					if f.Time != nil {
						parts = append(parts, f.Time.UTC().Format(time.RFC3339))
					}
					fmt.Fprintf(bw, "  (%s)", strings.Join(parts, ", "))
				}
				bw.WriteString("\n")
			}
		}
	}
	return flushReport(bw, "text")
}

// WriteMarkdown writes r as Markdown for a ticket: a title, a line with
// the time of the check and the totals, a table of the components
// (| Component | Objects | Drifted | Missing |), then for each component
// with drift a heading, and for each of its objects a heading with its
// state and ID and a table of its fields (| Field | Before | After | Who |
// When |; "—" when no other manager owns the field).
//
// Names and values are shown in code spans delimited by a run of
// backticks longer than any in the value, with "|" escaped in tables, so a
// value can neither close its span nor break its table; a newline in a
// value shows as "⏎".
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	s := r.Summary
	env := mdCodeSpan(r.Environment)
	if s.Drift() {
		fmt.Fprintf(bw, "# Drift in %s\n\n", env)
		fmt.Fprintf(bw, "Checked %s: **%d drifted**, **%d missing**, %d unmanaged, %d stale of %d objects.",
			r.Checked.UTC().Format(time.RFC3339), s.Drifted, s.Missing, s.Unmanaged, s.Stale, s.Objects)
	} else {
		fmt.Fprintf(bw, "# No drift in %s\n\n", env)
		fmt.Fprintf(bw, "Checked %s: the cluster matches the environment (%d objects).",
			r.Checked.UTC().Format(time.RFC3339), s.Objects)
	}
	if s.IgnoredFields > 0 {
		fmt.Fprintf(bw, " %d drifted %s ignored by the environment's ignore rules.",
			s.IgnoredFields, plural(s.IgnoredFields, "field", "fields"))
	}
	if r.Corrected {
		bw.WriteString(" The drifted and missing objects were applied again.")
	}
	bw.WriteString("\n\n")

	if len(r.Components) > 0 {
		bw.WriteString("| Component | Objects | Drifted | Missing |\n| --- | ---: | ---: | ---: |\n")
		for _, c := range r.Components {
			fmt.Fprintf(bw, "| %s | %d | %d | %d |\n", mdCell(c.Name), c.Objects, c.Drifted, c.Missing)
		}
		bw.WriteString("\n")
	}

	for _, c := range r.Components {
		if len(c.Items) == 0 {
			continue
		}
		fmt.Fprintf(bw, "## %s\n\n", mdCodeSpan(c.Name))
		for _, o := range c.Items {
			fmt.Fprintf(bw, "### %s %s", safetext.MarkdownText(o.State, newline), mdCodeSpan(o.ID))
			if o.Corrected {
				bw.WriteString(" (corrected)")
			}
			bw.WriteString("\n\n")
			if len(o.Fields) == 0 {
				fmt.Fprintf(bw, "%s\n\n", stateSentence(o.State))
				continue
			}
			bw.WriteString("| Field | Before | After | Who | When |\n| --- | --- | --- | --- | --- |\n")
			for _, f := range o.Fields {
				who, when := "—", "—"
				if f.Manager != "" {
					who = mdCell(f.Manager)
					if f.Operation != "" {
						who += " (" + safetext.TableCell(safetext.MarkdownText(f.Operation, newline)) + ")"
					}
				}
				if f.Time != nil {
					when = f.Time.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(bw, "| %s | %s | %s | %s | %s |\n",
					mdCell(f.Path), mdCell(f.Before), mdCell(f.After), who, when)
			}
			bw.WriteString("\n")
		}
	}
	return flushReport(bw, "markdown")
}

// WriteJSON writes r as indented JSON (two spaces) followed by a newline,
// as documented in SCHEMA.md. Lists are never null: a report without
// components, or a component without items, has [].
func (r *Report) WriteJSON(w io.Writer) error {
	out := *r
	out.Components = make([]Component, len(r.Components))
	copy(out.Components, r.Components)
	for i := range out.Components {
		if out.Components[i].Items == nil {
			out.Components[i].Items = []Object{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

// WriteHTML writes r as one self-contained HTML page (inline CSS, no
// script, no external resource) for a browser and for print: a title with
// the environment and the time of the check, a card per count (drifted,
// missing, unmanaged, stale), a table of the components, then for each
// component with drift its objects, each with a table of its fields
// (Field, Before, After, Who, When). A report without drift says so.
// Everything from the report is escaped by html/template.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := reportHTML.Execute(bw, r); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return flushReport(bw, "html")
}

// flushReport flushes bw, wrapping its first write error.
func flushReport(bw *bufio.Writer, format string) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

// componentCounts is "3 drifted, 1 missing, 1 unmanaged" (the states a
// component's items have, "no drift" when none).
func componentCounts(c Component) string {
	var unmanaged, stale int
	for _, o := range c.Items {
		switch o.State {
		case StateUnmanaged:
			unmanaged++
		case StateStale:
			stale++
		}
	}
	var parts []string
	for _, n := range []struct {
		n     int
		state string
	}{{c.Drifted, StateDrifted}, {c.Missing, StateMissing}, {unmanaged, StateUnmanaged}, {stale, StateStale}} {
		if n.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n.n, n.state))
		}
	}
	if len(parts) == 0 {
		return "no drift"
	}
	return strings.Join(parts, ", ")
}

// stateSentence says what an object's state means, for an object
// without fields.
func stateSentence(state string) string {
	switch state {
	case StateMissing:
		return "The environment has this object; the cluster does not."
	case StateUnmanaged:
		return "The cluster has this object, labelled as the environment's, but the environment's inventory does not list it."
	case StateStale:
		return "The inventory lists this object, but the environment no longer has it; it is not yet pruned."
	case StateDrifted:
		return "Fields plinth sets differ."
	}
	return ""
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// newline is how a report shows a newline within one line.
const newline = "⏎"

// oneLine makes s safe to show on one line of a terminal or a page
// (package safetext).
func oneLine(s string) string { return safetext.Escape(s, newline) }

// mdCodeSpan shows s verbatim in a Markdown code span (package safetext).
func mdCodeSpan(s string) string { return safetext.CodeSpan(s, newline) }

// mdCell is mdCodeSpan for a table cell.
func mdCell(s string) string { return safetext.TableCell(mdCodeSpan(s)) }

// htmlValue is a value for a <code> with white-space: pre-wrap: each
// newline shows as "⏎" and breaks the line; the rest as oneLine.
func htmlValue(s string) string { return safetext.Escape(s, newline+"\n") }

// htmlTime is the time of a field's change as shown on the page.
func htmlTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// stateClass is the CSS class of an object's state.
func stateClass(state string) string {
	switch state {
	case StateDrifted, StateMissing, StateUnmanaged, StateStale:
		return state
	}
	return "other"
}

// valueClass is the CSS class of a field's value: Absent and Redacted
// are shown apart from real values.
func valueClass(v string) string {
	switch v {
	case Absent:
		return "absent"
	case Redacted:
		return "redacted"
	}
	return ""
}

// reportHTML is the page of WriteHTML.
var reportHTML = template.Must(template.New("report").Funcs(template.FuncMap{
	"line":       oneLine,
	"value":      htmlValue,
	"valueClass": valueClass,
	"state":      stateClass,
	"sentence":   stateSentence,
	"plural":     plural,
	"counts":     componentCounts,
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"human":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"fieldISO":   func(t *time.Time) string { return t.UTC().Format(time.RFC3339) },
	"fieldTime":  htmlTime,
}).Parse(reportTemplate))

// reportTemplate is the HTML page: no script, no external resource.
const reportTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Summary.Drift}}Drift{{else}}No drift{{end}} in {{line .Environment}} · {{human .Checked}}</title>
<style>
:root {
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --head: #f6f8fa;
  --drifted: #bf8700; --drifted-bg: #fff8c5;
  --missing: #cf222e; --missing-bg: #ffebe9;
  --unmanaged: #8250df; --unmanaged-bg: #fbefff;
  --stale: #57606a; --stale-bg: #eaeef2;
  --ok: #1a7f37; --ok-bg: #dafbe1;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body {
  margin: 0 auto; padding: 32px 40px 48px; max-width: 1200px;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", "DejaVu Sans", Helvetica, Arial, sans-serif;
  color: var(--fg); background: #fff;
}
code { font: 12.5px/1.45 ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
header { border-bottom: 1px solid var(--line); padding-bottom: 16px; margin-bottom: 24px; }
.eyebrow { margin: 0; color: var(--muted); font-size: 12px; letter-spacing: .08em; text-transform: uppercase; }
h1 { margin: 4px 0 6px; font-size: 28px; font-weight: 600; }
h1 .env { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace; font-weight: 600; }
.meta { margin: 0; color: var(--muted); }
h2 { margin: 32px 0 12px; font-size: 20px; font-weight: 600; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h2 .counts { font-size: 13px; font-weight: 400; color: var(--muted); margin-left: 8px; }
h3 { margin: 0; font-size: 14px; font-weight: 600; display: flex; flex-wrap: wrap; align-items: center; gap: 8px; }
h3 code { font-size: 13.5px; word-break: break-all; }
.banner { border-radius: 8px; padding: 14px 18px; margin: 0 0 24px; font-size: 15px; }
.banner.clean { background: var(--ok-bg); border: 1px solid #aceebb; color: #0a3622; }
.banner.drift { background: var(--drifted-bg); border: 1px solid #eedc82; color: #4d2d00; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 0 0 12px; }
.card { border: 1px solid var(--line); border-top-width: 4px; border-radius: 8px; padding: 12px 16px; background: #fff; }
.card .n { display: block; font-size: 30px; font-weight: 600; line-height: 1.2; }
.card .l { color: var(--muted); }
.card.drifted { border-top-color: var(--drifted); }
.card.missing { border-top-color: var(--missing); }
.card.unmanaged { border-top-color: var(--unmanaged); }
.card.stale { border-top-color: var(--stale); }
.card.zero { border-top-color: var(--line); }
.card.zero .n { color: var(--muted); }
.card.drifted:not(.zero) .n { color: var(--drifted); }
.card.missing:not(.zero) .n { color: var(--missing); }
.card.unmanaged:not(.zero) .n { color: var(--unmanaged); }
.note { margin: 4px 0; color: var(--muted); }
table { width: 100%; border-collapse: collapse; border: 1px solid var(--line); }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--head); font-weight: 600; font-size: 13px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; width: 7em; }
table.components td.none { color: var(--muted); }
tr.has-drift td:first-child { font-weight: 600; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.component { margin-top: 8px; }
.object { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 16px; overflow: hidden; break-inside: avoid; }
.object .head { padding: 10px 14px; background: var(--head); border-bottom: 1px solid var(--line); }
.object .kind { color: var(--muted); font-size: 12.5px; margin: 2px 0 0; }
.object table { border: 0; }
.object tr > :first-child { border-left: 0; }
.object tr > :last-child { border-right: 0; }
.object tbody tr:last-child td { border-bottom: 0; }
.object thead th { background: #fff; border-top: 0; }
.object .explain { margin: 0; padding: 10px 14px; color: var(--muted); }
table.fields { table-layout: fixed; }
table.fields col.field { width: 23%; }
table.fields col.value { width: 21%; }
table.fields col.who { width: 16%; }
table.fields col.when { width: 19%; }
.card.stale:not(.zero) .n { color: var(--stale); }
td code { white-space: pre-wrap; word-break: break-all; }
td.before code, td.after code { display: block; padding: 1px 6px; border-radius: 4px; }
td.before code { background: var(--head); }
td.after code { background: var(--drifted-bg); }
code.absent, code.redacted { font-style: italic; color: var(--muted); }
td.after code.absent, td.after code.redacted { background: var(--head); }
.op { color: var(--muted); font-size: 12.5px; }
.dash { color: var(--muted); }
td.when { font-size: 13px; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid transparent; }
.badge.drifted { color: #7d4e00; background: var(--drifted-bg); border-color: #eedc82; }
.badge.missing { color: #a40e26; background: var(--missing-bg); border-color: #ffcecb; }
.badge.unmanaged { color: #6639ba; background: var(--unmanaged-bg); border-color: #ecd8ff; }
.badge.stale, .badge.other { color: var(--stale); background: var(--stale-bg); border-color: var(--line); }
.badge.corrected { color: var(--ok); background: var(--ok-bg); border-color: #aceebb; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 10px; }
@media (max-width: 720px) { body { padding: 16px; } .cards { grid-template-columns: repeat(2, 1fr); } }
@media print {
  body { padding: 0; max-width: none; font-size: 10.5pt; }
  code { font-size: 9pt; }
  a { color: inherit; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
</style>
</head>
<body>
<header>
<p class="eyebrow">plinth drift report</p>
<h1>{{if .Summary.Drift}}Drift in{{else}}No drift in{{end}} <span class="env">{{line .Environment}}</span></h1>
<p class="meta">Checked <time datetime="{{iso .Checked}}">{{human .Checked}}</time> · {{.Summary.Objects}} {{plural .Summary.Objects "object" "objects"}}{{if .Corrected}} · <span class="badge corrected">corrected</span>{{end}}</p>
</header>
<main>
{{- with .Summary}}
{{- if .Drift}}
<p class="banner drift"><strong>The cluster differs from the environment.</strong> A re-apply would change the drifted objects and create the missing ones.</p>
{{- else}}
<p class="banner clean"><strong>No drift.</strong> The cluster matches the environment: all {{.Objects}} {{plural .Objects "object" "objects"}} checked are as plinth applied them.</p>
{{- end}}
<section class="cards" aria-label="Summary">
<div class="card drifted{{if not .Drifted}} zero{{end}}"><span class="n">{{.Drifted}}</span><span class="l">drifted</span></div>
<div class="card missing{{if not .Missing}} zero{{end}}"><span class="n">{{.Missing}}</span><span class="l">missing</span></div>
<div class="card unmanaged{{if not .Unmanaged}} zero{{end}}"><span class="n">{{.Unmanaged}}</span><span class="l">unmanaged</span></div>
<div class="card stale{{if not .Stale}} zero{{end}}"><span class="n">{{.Stale}}</span><span class="l">stale</span></div>
</section>
{{- if .IgnoredFields}}
<p class="note">{{.IgnoredFields}} drifted {{plural .IgnoredFields "field" "fields"}} ignored by the environment's ignore rules.</p>
{{- end}}
{{- end}}
{{- if .Corrected}}
<p class="note">The drifted and missing objects were applied again.</p>
{{- end}}
{{- if .Components}}
<h2>Components</h2>
<table class="components">
<thead><tr><th>Component</th><th class="num">Objects</th><th class="num">Drifted</th><th class="num">Missing</th></tr></thead>
<tbody>
{{- range $i, $c := .Components}}
<tr{{if $c.Items}} class="has-drift"{{end}}><td>{{if $c.Items}}<a href="#component-{{$i}}">{{line $c.Name}}</a>{{else}}{{line $c.Name}}{{end}}</td><td class="num">{{$c.Objects}}</td><td class="num{{if not $c.Drifted}} none{{end}}">{{$c.Drifted}}</td><td class="num{{if not $c.Missing}} none{{end}}">{{$c.Missing}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- range $i, $c := .Components}}
{{- if $c.Items}}
<section class="component" id="component-{{$i}}">
<h2>{{line $c.Name}} <span class="counts">{{counts $c}} · {{$c.Objects}} {{plural $c.Objects "object" "objects"}}</span></h2>
{{- range $c.Items}}
<article class="object">
<div class="head">
<h3><span class="badge {{state .State}}">{{line .State}}</span> <code>{{line .ID}}</code>{{if .Corrected}} <span class="badge corrected">corrected</span>{{end}}</h3>
<p class="kind">{{line .Kind}} · {{line .APIVersion}}{{if .Namespace}} · namespace {{line .Namespace}}{{end}} · {{line .Name}}</p>
</div>
{{- if .Fields}}
<table class="fields">
<colgroup><col class="field"><col class="value"><col class="value"><col class="who"><col class="when"></colgroup>
<thead><tr><th>Field</th><th>Before</th><th>After</th><th>Who</th><th>When</th></tr></thead>
<tbody>
{{- range .Fields}}
<tr><td class="path"><code>{{line .Path}}</code></td><td class="before"><code class="{{valueClass .Before}}">{{value .Before}}</code></td><td class="after"><code class="{{valueClass .After}}">{{value .After}}</code></td><td class="who">{{if .Manager}}<code>{{line .Manager}}</code>{{if .Operation}} <span class="op">{{line .Operation}}</span>{{end}}{{else}}<span class="dash">—</span>{{end}}</td><td class="when">{{with .Time}}<time datetime="{{fieldISO .}}">{{fieldTime .}}</time>{{else}}<span class="dash">—</span>{{end}}</td></tr>
{{- end}}
</tbody>
</table>
{{- else}}
<p class="explain">{{sentence .State}}</p>
{{- end}}
</article>
{{- end}}
</section>
{{- end}}
{{- end}}
</main>
{{if .Summary.Drift}}<footer>Before: what plinth applied. After: what the cluster has now. Who and When: the field manager that owns the field now, from the object's managedFields. Secret values are never shown.</footer>{{end}}
</body>
</html>
`
