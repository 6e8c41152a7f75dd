package schemadoc

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/platform"
)

func TestEnvironmentDoc(t *testing.T) {
	var b bytes.Buffer
	if err := Environment(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, tc := range []struct {
		path               string
		typ, def, required string
		typContains        []string
	}{
		{path: "cluster.version", typ: "`#Version`", def: "—", required: "yes"},
		{path: "cluster.distribution", typ: "`\"kubernetes\" \\| \"okd\"`", def: "`\"kubernetes\"`", required: "no"},
		{path: "cluster.runtime", def: "`\"containerd\"`", required: "no", typContains: []string{`"containerd"`, `"cri-o"`, `"docker"`}},
		{path: "cluster.os", typ: "`string`", def: "—", required: "no"},
		{path: "cluster.nodes.controlPlane", typ: "`int & >=1`", def: "`3`", required: "no"},
		{path: "components.kubeflow.pipelines.argoExecutor", def: "`\"emissary\"`", required: "no"},
		{path: "components.kubeflow.version", typ: "`#Version`", def: "`\"26.03\"`", required: "no"},
		{path: "components.<component>.values", typ: "map (free-form)", def: "—", required: "no"},
		{path: "components.<component>.dependsOn", def: "`[]`", required: "no", typContains: []string{"list of", `"kubeflow"`}},
		{path: "storage.nfs.server", typ: "`string`", required: "yes"},
		{path: "tenants.<name>.quota.cpu", typ: "`#Quantity`", def: "—", required: "yes"},
		{path: "tenants.<name>.quota.gpu", def: "`0`", required: "no"},
		{path: "objects.<key>.kind", typ: "`string`", required: "yes"},
	} {
		cells := tableRow(doc, "`"+tc.path+"`")
		if cells == nil {
			t.Errorf("no row for %s", tc.path)
			continue
		}
		if len(cells) != 5 {
			t.Errorf("%s: %d cells, want 5: %q", tc.path, len(cells), cells)
			continue
		}
		typ, def, required := cells[1], cells[2], cells[3]
		if tc.typ != "" && typ != tc.typ {
			t.Errorf("%s: type %s, want %s", tc.path, typ, tc.typ)
		}
		for _, s := range tc.typContains {
			if !strings.Contains(typ, s) {
				t.Errorf("%s: type %s does not mention %s", tc.path, typ, s)
			}
		}
		if tc.def != "" && def != tc.def {
			t.Errorf("%s: default %s, want %s", tc.path, def, tc.def)
		}
		if required != tc.required {
			t.Errorf("%s: required %s, want %s", tc.path, required, tc.required)
		}
	}
	for _, heading := range []string{"## cluster", "## network", "## storage", "## components", "### kubeflow", "## tenants", "## drift", "## objects", "## Patterns"} {
		if !strings.Contains(doc, "\n"+heading+"\n") {
			t.Errorf("no section %q", heading)
		}
	}
	// objects is a map of objects (the form to write) or a list (still accepted).
	if !strings.Contains(doc, "\nType: map of `#ObjectKey` to struct (open: other fields allowed) or list of struct (open: other fields allowed).\n") {
		t.Error("objects: the type does not name both forms")
	}
	if cells := tableRow(doc, "`#ObjectKey`"); cells == nil {
		t.Error("Patterns: no #ObjectKey row")
	}
	if cells := tableRow(doc, "`#Version`"); cells == nil || !strings.Contains(cells[1], `^v?[0-9]+\.[0-9]+`) {
		t.Errorf("Patterns: #Version row %q lacks its regular expression", cells)
	}
}

func TestRulesDoc(t *testing.T) {
	var b bytes.Buffer
	if err := Rules(&b); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	cells := tableRow(doc, "RT-K8S-1")
	if cells == nil {
		t.Fatal("no row for RT-K8S-1")
	}
	if cells[1] != "error" {
		t.Errorf("RT-K8S-1: severity %s, want error", cells[1])
	}
	if !strings.Contains(cells[5], "`cluster.runtime`") {
		t.Errorf("RT-K8S-1: fields %s lack cluster.runtime", cells[5])
	}
	rules, err := platform.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if c := tableRow(doc, r.ID); c == nil || c[1] != string(r.Severity) {
			t.Errorf("rule %s: row %q, want severity %s", r.ID, c, r.Severity)
		}
	}
	for _, id := range []string{"KF-K8S-3", "MIRROR-2", "OCP-KF-1", "mirrorKind"} {
		if !strings.Contains(doc, id) {
			t.Errorf("the render-time rules do not mention %s", id)
		}
	}
}

func TestProseText(t *testing.T) {
	schema, err := platform.Schema()
	if err != nil {
		t.Fatal(err)
	}
	md, err := newProse(schema)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`owners are "user:<name>" subjects`:             `owners are "user:\<name>" subjects`,
		"Argo < 3.1 or > 3.4":                           "Argo < 3.1 or > 3.4",
		"add the storage.<backend> block":               "add the `storage.<backend>` block",
		"set cluster.runtime to \"cri-o\".":             "set `cluster.runtime` to \"cri-o\".",
		"see https://okd.io/docs and a.cluster.version": "see https://okd.io/docs and a.cluster.version",
		"SYS_PTRACE and dsl/_volume_op.py, *not* this":  `SYS_PTRACE and dsl/\_volume_op.py, \*not\* this`,
		"#Version is a `code_span` here":                "`#Version` is a `code_span` here",
	} {
		if got := md.text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

// tableRow returns the cells of the table row whose first cell is first,
// trimmed but otherwise as written (| stays \|), or nil.
func tableRow(doc, first string) []string {
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "| "+first+" |") {
			continue
		}
		var cells []string
		var cell strings.Builder
		body := strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
		for i := 0; i < len(body); i++ {
			switch {
			case body[i] == '\\' && i+1 < len(body) && body[i+1] == '|':
				cell.WriteString(`\|`)
				i++
			case body[i] == '|':
				cells = append(cells, strings.TrimSpace(cell.String()))
				cell.Reset()
			default:
				cell.WriteByte(body[i])
			}
		}
		return append(cells, strings.TrimSpace(cell.String()))
	}
	return nil
}
