package diff_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-platform/plinth/lib/diff"
)

// allowedTags are the HTML tags WriteMarkdown writes itself.
var allowedTags = []string{"<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>"}

// checkMarkdown parses md as far as code fences and code spans go
// (CommonMark rules) and fails when a fence is left open, when HTML other
// than allowedTags appears outside code, or when <details> is unbalanced.
func checkMarkdown(t *testing.T, md string) {
	t.Helper()
	fence := ""
	details := 0
	for i, line := range strings.Split(md, "\n") {
		if fence != "" {
			if run := leadingRun(line, '`'); run >= len(fence) && strings.TrimSpace(line[run:]) == "" {
				fence = ""
			}
			continue
		}
		if run := leadingRun(line, '`'); run >= 3 {
			fence = line[:run]
			continue
		}
		rest := stripCodeSpans(line)
		if j := strings.IndexByte(rest, '@'); j >= 0 && !strings.HasPrefix(rest[j+1:], "\u2060") {
			t.Errorf("line %d: a mention outside code: %q", i+1, line)
		}
		for j := strings.IndexByte(rest, '<'); j >= 0; j = strings.IndexByte(rest, '<') {
			ok := false
			for _, tag := range allowedTags {
				if strings.HasPrefix(rest[j:], tag) {
					ok = true
					if tag == "<details>" {
						details++
					}
					if tag == "</details>" {
						details--
					}
					rest = rest[j+len(tag):]
					break
				}
			}
			if !ok {
				t.Errorf("line %d: HTML outside code: %q", i+1, line)
				break
			}
		}
	}
	if fence != "" {
		t.Errorf("code fence %q left open", fence)
	}
	if details != 0 {
		t.Errorf("<details> unbalanced by %d", details)
	}
}

func leadingRun(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// stripCodeSpans removes the code spans of a line: a run of n backticks up
// to the next run of exactly n; a backslash-escaped backtick is text.
func stripCodeSpans(line string) string {
	var out strings.Builder
	for i := 0; i < len(line); {
		if line[i] == '\\' && i+1 < len(line) {
			out.WriteString(line[i : i+2])
			i += 2
			continue
		}
		if line[i] != '`' {
			out.WriteByte(line[i])
			i++
			continue
		}
		n := leadingRun(line[i:], '`')
		closeAt := -1
		for j := i + n; j < len(line); {
			if line[j] != '`' {
				j++
				continue
			}
			m := leadingRun(line[j:], '`')
			if m == n {
				closeAt = j
				break
			}
			j += m
		}
		if closeAt < 0 {
			out.WriteString(line[i : i+n])
			i += n
			continue
		}
		out.WriteString("CODE")
		i = closeAt + n
	}
	return out.String()
}

func TestMarkdownInjection(t *testing.T) {
	evil := "x```\n<script>alert(1)</script>"
	base := diff.Rendered{"env|<b>": {"<img src=x onerror=alert(1)>": mustParse(`
apiVersion: v1
kind: ConfigMap
metadata: {name: "` + strings.ReplaceAll(evil, "\n", `\n`) + `", namespace: "@octocat"}
data: {readme: "before"}
---
apiVersion: v1
kind: Secret
metadata: {name: "s` + "`" + `<i>", namespace: shop}
stringData: {"k` + "``" + `<u>": s3cr3t-VALUE-1}
`)}}
	head := diff.Rendered{"env|<b>": {"<img src=x onerror=alert(1)>": mustParse(`
apiVersion: v1
kind: ConfigMap
metadata: {name: "` + strings.ReplaceAll(evil, "\n", `\n`) + `", namespace: "@octocat"}
data: {readme: "` + "````" + `\n<script>alert(2)</script>\n` + "```" + `\n</details>\n"}
---
apiVersion: v1
kind: Secret
metadata: {name: "s` + "`" + `<i>", namespace: shop}
stringData: {"k` + "``" + `<u>": s3cr3t-VALUE-2}
`)}}
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main`<b>", HeadRef: "<!-- head -->",
		HeadWarnings: map[string][]diff.Warning{"env|<b>": {{"R<1>", "image x@sha256:0 <script>```"}}}})
	if !r.Changed() {
		t.Fatal("no change")
	}
	for _, limit := range []int{0, 65536, 1200, 600} {
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b, limit); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			checkMarkdown(t, md)
			if strings.Contains(md, "\n<script>") {
				t.Errorf("markdown:\n%s", md)
			}
			if limit == 0 {
				for _, want := range []string{
					"<summary><code>&lt;img src=x onerror=alert(1)&gt;</code>",
					"| `env\\|<b>` |",
					"````diff\n", // a fence longer than the diff's backtick runs
					"the change introduces R&lt;1&gt;\\: image x@\u2060sha256\\:0 &lt;script&gt;\\`\\`\\`",
					"- changed ````ConfigMap/@octocat/x```\\n<script>alert(1)</script>````\n",
					"- changed ``Secret/shop/s`<i>``: secret keys changed ```k``<u>```\n\n</details>\n",
				} {
					if !strings.Contains(md, want) {
						t.Errorf("markdown does not contain %q:\n%s", want, md)
					}
				}
			}
		})
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "x```\n") {
		t.Errorf("text shows a raw newline of a name:\n%s", text.String())
	}
	assertNoSecrets(t, r, secretValues)
}

func TestCodeSpanEscaping(t *testing.T) {
	// Names with backticks at either end and in runs still make one span.
	for _, name := range []string{"`a", "a`", "``", "a``b`", " a ", "a\x1b[31mred"} {
		base := one(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
		head := one(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \""+strings.ReplaceAll(name, "\x1b", `\e`)+"\"}\n")
		r := diff.Compare(diff.Input{Base: base, Head: head})
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b, 0); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		checkMarkdown(t, md)
		if strings.Contains(md, "\x1b") {
			t.Errorf("%q: raw escape character in markdown", name)
		}
		var line string
		for _, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, "- added ") {
				line = l
			}
		}
		if got := stripCodeSpans(line); got != "- added CODE" {
			t.Errorf("%q: object line %q is %q outside code", name, line, got)
		}
	}
}

// bigReport is a report with envs × comps × objs changed ConfigMaps, each
// with a diff of 2 × lines changed lines.
func bigReport(t testing.TB, envs, comps, objs, lines int) *diff.Report {
	cm := func(o, plus int) *unstructuredT {
		data := map[string]interface{}{}
		for l := 0; l < lines; l++ {
			data[fmt.Sprintf("key-%04d", l)] = fmt.Sprintf("value %d", l+plus)
		}
		return &unstructuredT{Object: map[string]interface{}{
			"apiVersion": "v1",
			"kind":       "ConfigMap",
			"metadata":   map[string]interface{}{"name": fmt.Sprintf("cm-%04d", o), "namespace": "ns"},
			"data":       data,
		}}
	}
	base, head := diff.Rendered{}, diff.Rendered{}
	for e := 0; e < envs; e++ {
		env := fmt.Sprintf("env-%02d", e)
		base[env] = map[string][]*unstructuredT{}
		head[env] = map[string][]*unstructuredT{}
		for c := 0; c < comps; c++ {
			comp := fmt.Sprintf("component-%03d", c)
			for o := 0; o < objs; o++ {
				base[env][comp] = append(base[env][comp], cm(o, 0))
				head[env][comp] = append(head[env][comp], cm(o, 1))
			}
		}
	}
	return diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main", HeadRef: "HEAD"})
}

var truncatedRE = regexp.MustCompile(`(?m)^… truncated: (?:[^()]* and )?(\d+) more objects? not shown \(limit ([\d,]+) characters\); run plinth diff locally for the full report$`)

func TestMarkdownTruncation(t *testing.T) {
	tests := []struct {
		name                    string
		r                       *diff.Report
		limit                   int
		wantTruncated, wantDiff bool
		wantNote                string // a regexp the truncation line must match, if any
	}{{
		name: "fits", r: bigReport(t, 1, 2, 2, 3), limit: diff.GitHubCommentLimit,
		wantDiff: true,
	}, {
		name: "diffs dropped, lines kept", r: bigReport(t, 1, 2, 20, 20), limit: 8000,
		wantTruncated: true, wantDiff: true,
		wantNote: `^… truncated: the diffs of \d+ objects not shown \(limit 8,000 characters\); run plinth diff locally for the full report$`,
	}, {
		name: "huge", r: bigReport(t, 3, 20, 40, 2), limit: diff.GitHubCommentLimit,
		wantTruncated: true,
	}, {
		name: "tiny limit", r: bigReport(t, 2, 3, 3, 3), limit: 100,
		wantTruncated: true, // the start of "… truncated: …", cut
	}, {
		name: "limit one", r: bigReport(t, 1, 1, 1, 1), limit: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.r.WriteMarkdown(&b, tt.limit); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			if len(md) > tt.limit {
				t.Fatalf("%d bytes, limit %d", len(md), tt.limit)
			}
			if !utf8.ValidString(md) {
				t.Error("output is not valid UTF-8")
			}
			truncated := strings.Contains(md, "… truncated:")
			if truncated != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v:\n%s", truncated, tt.wantTruncated, tail(md))
			}
			if got := strings.Contains(md, "```diff"); got != tt.wantDiff {
				t.Errorf("has diffs = %v, want %v", got, tt.wantDiff)
			}
			if tt.wantNote != "" && !regexp.MustCompile(`(?m)`+tt.wantNote).MatchString(md) {
				t.Errorf("truncation line does not match %s:\n%s", tt.wantNote, tail(md))
			}
			if tt.name == "huge" {
				m := truncatedRE.FindStringSubmatch(md)
				if m == nil {
					t.Fatalf("no truncation note:\n%s", tail(md))
				}
				if m[2] != "65,536" {
					t.Errorf("limit shown as %s", m[2])
				}
				shown := strings.Count(md, "\n- changed `")
				if total := tt.r.Summary.Changed; shown+atoi(t, m[1]) != total {
					t.Errorf("%d shown + %s not shown != %d objects", shown, m[1], total)
				}
			}
			if tt.limit >= 1000 {
				checkMarkdown(t, md)
			}
		})
	}
}

// TestMarkdownPathological truncates reports whose every part is large:
// many notes, environments, components and objects, long refs.
func TestMarkdownPathological(t *testing.T) {
	base, head := diff.Rendered{}, diff.Rendered{}
	for e := 0; e < 300; e++ {
		env := fmt.Sprintf("environment-%04d", e)
		base[env] = map[string][]*unstructuredT{}
		for c := 0; c < 20; c++ {
			comp := fmt.Sprintf("c%02d", c)
			for o := 0; o < 20; o++ {
				base[env][comp] = append(base[env][comp], &unstructuredT{Object: map[string]interface{}{
					"apiVersion": "v1",
					"kind":       "PersistentVolumeClaim",
					"metadata":   map[string]interface{}{"name": fmt.Sprintf("claim-%03d-%03d", c, o), "namespace": "ns"},
				}})
			}
		}
	}
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: strings.Repeat("ref", 100), HeadRef: "HEAD"})
	if len(r.Notes) < 100000 {
		t.Fatalf("%d notes", len(r.Notes))
	}
	for _, limit := range []int{diff.GitHubCommentLimit, 5000, 400, 50} {
		var b bytes.Buffer
		if err := r.WriteMarkdown(&b, limit); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		if len(md) > limit {
			t.Errorf("limit %d: %d bytes", limit, len(md))
		}
		if m := truncatedRE.FindStringSubmatch(md); limit >= 400 && (m == nil || m[1] != "120000" || !strings.Contains(md, "more notes, 300 more rows of the table and 120000 more objects")) {
			t.Errorf("limit %d: truncation note missing:\n%s", limit, tail(md))
		}
		if limit >= 5000 {
			checkMarkdown(t, md)
		}
	}
}

func TestMarkdownNoChanges(t *testing.T) {
	r := diff.Compare(diff.Input{Base: one(t, configMap), Head: one(t, configMap), BaseRef: "main", HeadRef: "HEAD"})
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b, diff.GitHubCommentLimit); err != nil {
		t.Fatal(err)
	}
	want := "### plinth diff: no changes\n\nBase: `main` · Head: `HEAD`\n\nNo changes: the rendered objects of the environment are the same in both revisions.\n"
	if b.String() != want {
		t.Errorf("markdown:\n%q\nwant:\n%q", b.String(), want)
	}
}

func tail(s string) string {
	if len(s) > 600 {
		return "…" + s[len(s)-600:]
	}
	return s
}

func atoi(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}
