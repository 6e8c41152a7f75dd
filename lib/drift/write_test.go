package drift

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hostileValue is a drifted value that tries to break every format: a
// pipe and backticks for Markdown tables and code spans, a script and an
// event handler for HTML, a newline, and a terminal escape sequence.
const hostileValue = "\"a|b ``c` <script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">\nnext\x1b[31m\""

// writeSample is a report with every state, a Secret field, a removed
// field, a field owned by no manager, and hostileValue.
func writeSample() *Report {
	t1 := time.Date(2026, 11, 20, 9, 14, 3, 0, time.UTC)
	t2 := time.Date(2026, 11, 21, 17, 2, 45, 0, time.FixedZone("CET", 3600))
	return &Report{
		SchemaVersion: SchemaVersion,
		Environment:   "prod",
		Checked:       time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC),
		Summary: Summary{
			Objects: 57, Drifted: 3, Missing: 1, Unmanaged: 1, Stale: 1, IgnoredFields: 2,
		},
		Components: []Component{
			{Name: "cert-manager", Objects: 12},
			{
				Name: "pipelines", Objects: 40, Drifted: 3, Missing: 1,
				Items: []Object{
					{
						ID: "Deployment.apps/kubeflow/ml-pipeline", APIVersion: "apps/v1", Kind: "Deployment",
						Namespace: "kubeflow", Name: "ml-pipeline", State: StateDrifted, Corrected: true,
						Fields: []Field{
							{Path: "/spec/replicas", Before: "1", After: "3", Manager: "kubectl-edit", Operation: "Update", Time: &t1},
							{Path: "/spec/template/spec/containers/0/image", Before: `"ml-pipeline/api-server:2.4.0"`, After: hostileValue,
								Manager: "argocd-controller", Operation: "Apply", Time: &t2},
						},
					},
					{
						ID: "Secret/kubeflow/mysql-secret", APIVersion: "v1", Kind: "Secret",
						Namespace: "kubeflow", Name: "mysql-secret", State: StateDrifted,
						Fields: []Field{
							{Path: "/data/password", Before: Redacted, After: Redacted, Manager: "kubectl-edit", Operation: "Update", Time: &t1},
						},
					},
					{
						ID: "ConfigMap/kubeflow/pipeline-install-config", APIVersion: "v1", Kind: "ConfigMap",
						Namespace: "kubeflow", Name: "pipeline-install-config", State: StateDrifted,
						Fields: []Field{
							{Path: "/data/bucketName", Before: `"mlpipeline"`, After: Absent},
						},
					},
					{
						ID: "Service/kubeflow/ml-pipeline-ui", APIVersion: "v1", Kind: "Service",
						Namespace: "kubeflow", Name: "ml-pipeline-ui", State: StateMissing, Corrected: true,
					},
					{
						ID: "ConfigMap/kubeflow/debug-copy", APIVersion: "v1", Kind: "ConfigMap",
						Namespace: "kubeflow", Name: "debug-copy", State: StateUnmanaged,
					},
					{
						ID: "ClusterRole.rbac.authorization.k8s.io/ml-pipeline-old", APIVersion: "rbac.authorization.k8s.io/v1",
						Kind: "ClusterRole", Name: "ml-pipeline-old", State: StateStale,
					},
				},
			},
			{Name: "istio", Objects: 5},
		},
		Corrected: true,
	}
}

// noDriftSample is a report of an environment without drift.
func noDriftSample() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Environment:   "dev",
		Checked:       time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC),
		Summary:       Summary{Objects: 17},
		Components:    []Component{{Name: "cert-manager", Objects: 12}, {Name: "istio", Objects: 5}},
	}
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./lib/drift -run TestWriteGolden -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("%s differs at line %d:\n  golden: %q\n  got:    %q", path, i+1, w, g)
				break
			}
		}
		t.Log("if the change is intended: go test ./lib/drift -run TestWriteGolden -update, and review the diff")
	}
}

func TestWriteGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report *Report
		write  func(*Report, *bytes.Buffer) error
	}{
		{"report.txt", writeSample(), func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }},
		{"report.md", writeSample(), func(r *Report, b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"report.json", writeSample(), func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"nodrift.txt", noDriftSample(), func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }},
		{"nodrift.md", noDriftSample(), func(r *Report, b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(tc.report, &b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

func TestWriteText(t *testing.T) {
	for _, tc := range []struct {
		name          string
		report        *Report
		contains      []string
		lacks         []string
		firstLine     string
		lines         int
		objectIndents int // lines that start with exactly two spaces
	}{
		{
			name:      "drift",
			report:    writeSample(),
			firstLine: "drift in prod: 3 drifted, 1 missing, 1 unmanaged, 1 stale of 57 objects",
			contains: []string{
				"\npipelines (40 objects): 3 drifted, 1 missing, 1 unmanaged, 1 stale\n",
				"\n  drifted Deployment.apps/kubeflow/ml-pipeline (corrected)\n",
				"\n    /spec/replicas: 1 → 3  (kubectl-edit, Update, 2026-11-20T09:14:03Z)\n",
				// Times in UTC.
				"(argocd-controller, Apply, 2026-11-21T16:02:45Z)\n",
				// The newline as ⏎, the escape character escaped.
				"<script>window.pwned=1</script>",
				"⏎next\\x1b[31m\"",
				"\n    /data/password: <redacted> → <redacted>  (kubectl-edit, Update, 2026-11-20T09:14:03Z)\n",
				// No manager: no parenthesis.
				"\n    /data/bucketName: \"mlpipeline\" → <absent>\n",
				"\n  missing Service/kubeflow/ml-pipeline-ui (corrected)\n",
				"\n  unmanaged ConfigMap/kubeflow/debug-copy\n",
				"\n  stale ClusterRole.rbac.authorization.k8s.io/ml-pipeline-old\n",
				"\n2 drifted fields ignored by the environment's ignore rules\n",
			},
			lacks: []string{"\x1b", "cert-manager", "istio", "\nnext"},
			// header, ignored, corrected, component, 6 objects, 4 fields
			lines:         1 + 1 + 1 + 1 + 6 + 4,
			objectIndents: 6,
		},
		{
			name:      "no drift",
			report:    noDriftSample(),
			firstLine: "no drift in dev (17 objects)",
			lacks:     []string{"cert-manager", "istio"},
			lines:     1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.report.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasSuffix(out, "\n") {
				t.Errorf("no final newline: %q", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if lines[0] != tc.firstLine {
				t.Errorf("first line %q, want %q", lines[0], tc.firstLine)
			}
			if len(lines) != tc.lines {
				t.Errorf("%d lines, want %d:\n%s", len(lines), tc.lines, out)
			}
			objects := 0
			for _, l := range lines {
				if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
					objects++
				}
			}
			if objects != tc.objectIndents {
				t.Errorf("%d object lines, want %d:\n%s", objects, tc.objectIndents, out)
			}
			for _, s := range tc.contains {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.lacks {
				if strings.Contains(out, s) {
					t.Errorf("output has %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestWriteMarkdown(t *testing.T) {
	r := writeSample()
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, s := range []string{
		"# Drift in `prod`\n",
		"Checked 2026-11-22T08:30:00Z: **3 drifted**, **1 missing**, 1 unmanaged, 1 stale of 57 objects. 2 drifted fields ignored",
		"| Component | Objects | Drifted | Missing |\n",
		"| `cert-manager` | 12 | 0 | 0 |\n",
		"| `pipelines` | 40 | 3 | 1 |\n",
		"## `pipelines`\n",
		"### drifted `Deployment.apps/kubeflow/ml-pipeline` (corrected)\n",
		"| Field | Before | After | Who | When |\n",
		"| `/spec/replicas` | `1` | `3` | `kubectl-edit` (Update) | 2026-11-20T09:14:03Z |\n",
		// Times in UTC.
		"| 2026-11-21T16:02:45Z |\n",
		"| `/data/password` | `<redacted>` | `<redacted>` |",
		"| `/data/bucketName` | `\"mlpipeline\"` | `<absent>` | — | — |\n",
		"### missing `Service/kubeflow/ml-pipeline-ui` (corrected)\n\nThe environment has this object; the cluster does not.\n",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	if strings.Contains(md, "\x1b") {
		t.Error("markdown has an escape character")
	}

	// Every table row has as many cells as its header, and every cell of
	// a field table is empty, plain text, or one code span that shows the
	// value exactly (newline as ⏎): no value can break the table or its
	// span, or reach the page as HTML.
	want := map[string]bool{}
	for _, c := range r.Components {
		want[oneLine(c.Name)] = true
		for _, o := range c.Items {
			for _, f := range o.Fields {
				for _, v := range []string{f.Path, f.Before, f.After, f.Manager} {
					want[oneLine(v)] = true
				}
			}
		}
	}
	var cols int
	spans := map[string]bool{}
	for i, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			if strings.Contains(stripCodeSpans(t, line), "<") {
				t.Errorf("line %d: HTML outside code: %q", i+1, line)
			}
			continue
		}
		cells := splitRow(line)
		if cols == 0 {
			cols = len(cells)
		}
		if len(cells) != cols {
			t.Errorf("line %d: %d cells, want %d: %q", i+1, len(cells), cols, line)
		}
		for _, cell := range cells {
			cell = strings.TrimSpace(strings.ReplaceAll(cell, `\|`, "|"))
			if strings.Contains(stripCodeSpans(t, cell), "<") {
				t.Errorf("line %d: HTML outside code: %q", i+1, cell)
			}
			if strings.HasPrefix(cell, "`") {
				content, rest := codeSpan(t, cell)
				spans[content] = true
				if rest != "" && !strings.HasPrefix(rest, " (") {
					t.Errorf("line %d: %q after the code span %q", i+1, rest, content)
				}
			}
		}
	}
	if !spans[oneLine(hostileValue)] {
		t.Errorf("no code span shows %q exactly", oneLine(hostileValue))
	}
	for v := range want {
		if v != "" && !spans[v] {
			t.Errorf("no code span shows %q", v)
		}
	}
}

// splitRow splits a Markdown table row on the pipes not escaped, as
// GitHub does (code spans included), dropping the outer ones.
func splitRow(line string) []string {
	var cells []string
	start := 1
	for i := 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '|':
			cells = append(cells, line[start:i])
			start = i + 1
		}
	}
	return cells
}

// codeSpan parses the code span s starts with (CommonMark): its content,
// stripped of one space each side when padded, and what follows it.
func codeSpan(t *testing.T, s string) (content, rest string) {
	t.Helper()
	n := len(s) - len(strings.TrimLeft(s, "`"))
	delim := s[:n]
	for i := n; i < len(s); {
		j := strings.Index(s[i:], delim)
		if j < 0 {
			break
		}
		j += i
		k := j + n
		if k < len(s) && s[k] == '`' || j > 0 && s[j-1] == '`' {
			// A longer run of backticks: not the closing delimiter.
			for k < len(s) && s[k] == '`' {
				k++
			}
			i = k
			continue
		}
		content = s[n:j]
		if len(content) >= 2 && content[0] == ' ' && content[len(content)-1] == ' ' && strings.Trim(content, " ") != "" {
			content = content[1 : len(content)-1]
		}
		return content, s[k:]
	}
	t.Errorf("unclosed code span: %q", s)
	return "", ""
}

// stripCodeSpans removes the code spans of a line.
func stripCodeSpans(t *testing.T, s string) string {
	t.Helper()
	var sb strings.Builder
	for {
		i := strings.IndexByte(s, '`')
		if i < 0 {
			sb.WriteString(s)
			return sb.String()
		}
		sb.WriteString(s[:i])
		_, s = codeSpan(t, s[i:])
	}
}

func TestMarkdownCodeSpan(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "` `"},
		{"plain", "`plain`"},
		{"a`b", "``a`b``"},
		{"``x", "``` ``x ```"},
		{" lead", "`  lead `"},
		{"a|b", "`a|b`"},
		{"a\nb", "`a⏎b`"},
		{"bell\a", "`bell\\x07`"},
		{"rtl\u202eoverride", "`rtl\\u202eoverride`"},
	} {
		if got := mdCodeSpan(tc.in); got != tc.want {
			t.Errorf("mdCodeSpan(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := mdCell("a|b"), "`a\\|b`"; got != want {
		t.Errorf("mdCell(a|b) = %q, want %q", got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	r := writeSample()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	// Times compare by instant; the rest must round-trip, and the
	// components without drift gain an empty list of items.
	for i := range r.Components {
		if r.Components[i].Items == nil {
			r.Components[i].Items = []Object{}
		}
	}
	if !back.Checked.Equal(r.Checked) {
		t.Errorf("checked %v, want %v", back.Checked, r.Checked)
	}
	back.Checked = r.Checked
	for ci := range back.Components {
		for oi := range back.Components[ci].Items {
			for fi, f := range back.Components[ci].Items[oi].Fields {
				wf := r.Components[ci].Items[oi].Fields[fi]
				if (f.Time == nil) != (wf.Time == nil) || f.Time != nil && !f.Time.Equal(*wf.Time) {
					t.Errorf("field %s: time %v, want %v", f.Path, f.Time, wf.Time)
				}
				back.Components[ci].Items[oi].Fields[fi].Time = wf.Time
			}
		}
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("round trip differs:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "\n  \"schemaVersion\": 1,\n") {
		t.Errorf("no indented schemaVersion 1:\n%s", b.String())
	}

	// Lists are never null.
	var empty bytes.Buffer
	if err := (&Report{SchemaVersion: SchemaVersion, Environment: "dev", Components: []Component{{Name: "x"}}}).WriteJSON(&empty); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(empty.String(), "null") || !strings.Contains(empty.String(), `"items": []`) {
		t.Errorf("null list:\n%s", empty.String())
	}
	empty.Reset()
	if err := (&Report{SchemaVersion: SchemaVersion, Environment: "dev"}).WriteJSON(&empty); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(empty.String(), `"components": []`) {
		t.Errorf("null components:\n%s", empty.String())
	}
}

// TestWriteJSONKeys checks that the JSON keys are those SCHEMA.md
// documents, in its order.
func TestWriteJSONKeys(t *testing.T) {
	doc, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeSample().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	// Every key of the output is in a table of SCHEMA.md.
	seen := map[string]bool{}
	for line := range strings.SplitSeq(b.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, `"`) {
			continue
		}
		key, _, ok := strings.Cut(line[1:], `"`)
		if ok && strings.HasPrefix(line[len(key)+2:], ":") {
			seen[key] = true
		}
	}
	for key := range seen {
		if !strings.Contains(string(doc), "| `"+key+"`") {
			t.Errorf("key %q is not documented in SCHEMA.md", key)
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d keys seen", len(seen))
	}
}

func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := writeSample().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, s := range []string{
		"<title>Drift in prod · 2026-11-22 08:30:00 UTC</title>",
		"&lt;script&gt;window.pwned=1&lt;/script&gt;",
		"&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;",
		"⏎\nnext\\x1b[31m",
		"<th>Field</th><th>Before</th><th>After</th><th>Who</th><th>When</th>",
		"<code>kubectl-edit</code> <span class=\"op\">Update</span>",
		"<time datetime=\"2026-11-21T16:02:45Z\">2026-11-21 16:02:45 UTC</time>",
		`<code class="redacted">&lt;redacted&gt;</code>`,
		`<span class="badge corrected">corrected</span>`,
	} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// Self-contained, and no script of its own.
	for _, s := range []string{"<script", "<img", "<link", "src=\"", "href=\"http", "url(", "@import", "\x1b"} {
		if strings.Contains(page, s) {
			t.Errorf("page has %q", s)
		}
	}

	b.Reset()
	if err := noDriftSample().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"<title>No drift in dev · 2026-11-22 08:30:00 UTC</title>",
		"<strong>No drift.</strong> The cluster matches the environment: all 17 objects checked",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("page without drift lacks %q", s)
		}
	}
	if strings.Contains(b.String(), "<table class=\"fields\">") {
		t.Error("page without drift has a field table")
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrors(t *testing.T) {
	r := writeSample()
	for name, write := range map[string]func() error{
		"text":     func() error { return r.WriteText(failWriter{}) },
		"markdown": func() error { return r.WriteMarkdown(failWriter{}) },
		"json":     func() error { return r.WriteJSON(failWriter{}) },
		"html":     func() error { return r.WriteHTML(failWriter{}) },
	} {
		if err := write(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v, want one naming the format", name, err)
		}
	}
}
