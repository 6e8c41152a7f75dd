package platform

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestFieldSelectors(t *testing.T) {
	for path, want := range map[string]string{
		"":                                "",
		"kind":                            "kind",
		"spec.containers[0].image":        "spec.containers.0.image",
		`data["app.conf"]`:                "data.app.conf",
		`data["a\"]b"].x`:                 `data.a"]b.x`,
		`metadata.annotations["a[0]"][2]`: "metadata.annotations.a[0].2",
		`data["unterminated`:              "data",
		"spec.list[x]":                    "spec.list",
		"spec.list[3":                     "spec.list",
	} {
		if got := displayPath(fieldSelectors(path)); got != want {
			t.Errorf("%q: got %q, want %q", path, got, want)
		}
	}
}

// TestKeyedObjects: objects keyed by name let every layer and every file
// add objects; the objects component lists them in key order, and vet's
// findings point at the file that writes each one.
func TestKeyedObjects(t *testing.T) {
	p := evaluate(t, map[string]string{
		"environments/common.cue":   "package plinth\nobjects: \"shared-info\": {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"shared\", namespace: \"default\"}}\n",
		"environments/env/env.cue":  "package plinth\ncluster: version: \"1.34.1\"\nobjects: tools: {apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"tools\"}\n",
		"environments/env/more.cue": "package plinth\nobjects: \"app-settings\": {\n\tapiVersion: \"v1\"\n\tkind:       \"ConfigMap\"\n\tmetadata: {name: \"settings\", namespace: \"tools\"}\n\tdata: mode: \"on\"\n}\n",
	})
	if len(p.Findings) != 0 {
		t.Fatalf("findings:\n%s", findingsText(p.Findings))
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	c, ok := comps["objects"]
	if !ok {
		t.Fatalf("no component objects: %v", comps)
	}
	var got []string
	for _, o := range c.Objects {
		got = append(got, fmt.Sprint(o["kind"], "/", o["metadata"].(map[string]any)["name"]))
	}
	// Key order: app-settings, shared-info, tools.
	if want := []string{"ConfigMap/settings", "ConfigMap/shared", "Namespace/tools"}; !slices.Equal(got, want) {
		t.Errorf("objects component: %v, want %v", got, want)
	}

	// A layer may also add to an object another layer keys.
	p = evaluate(t, map[string]string{
		"environments/common.cue":  "package plinth\nobjects: info: metadata: labels: team: \"platform\"\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: info: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"default\"}}\n",
	})
	if len(p.Findings) != 0 {
		t.Fatalf("findings:\n%s", findingsText(p.Findings))
	}
	if comps, err = p.Catalog(); err != nil {
		t.Fatal(err)
	}
	if objs := comps["objects"].Objects; len(objs) != 1 || fmt.Sprint(objs[0]["metadata"]) != "map[labels:map[team:platform] name:info namespace:default]" {
		t.Errorf("objects component: %v", objs)
	}
}

// TestKeyedObjectFindings: a problem inside a keyed object is placed at
// the field in the file that writes it, under objects.<key>; a key that
// is not a name says so.
func TestKeyedObjectFindings(t *testing.T) {
	p := evaluate(t, map[string]string{
		"environments/common.cue":  "package plinth\nobjects: db: {\n\tapiVersion: \"v1\"\n\tkind:       \"Secret\"\n\tmetadata: {name: \"db\", namespace: \"apps\"}\n\tdata: password: \"hunter2!\"\n}\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: web: {apiVersion: \"apps/v1\", kind: \"Deployment\", metadata: name: \"web\", spec: replica: 2}\n",
	})
	want := []string{
		`environments/common.cue:6:8: error OBJECT objects.db.data.password: environment env, Secret apps/db: data.password: is not base64 (illegal base64 data at input byte 7): encode each value of data in base64, or write the plain text under stringData`,
		`environments/env/env.cue:3:88: error OBJECT objects.web.spec.replica: environment env, Deployment web: spec.replica: unknown field: apps/v1 Deployment has no field of this name here: did you mean replicas?`,
	}
	if got := findingStrings(p.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	p = evaluate(t, map[string]string{"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: Web_App: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: name: \"web\"}\n"})
	want = []string{`environments/env/env.cue:3:10: error SCHEMA objects.Web_App: field not allowed ("Web_App" is not an object key: use lowercase letters, digits, '-' and '.' (the object's name, say))`}
	if got := findingStrings(p.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	p = evaluate(t, map[string]string{"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: 5\n"})
	want = []string{`environments/env/env.cue:3:10: error SCHEMA objects: objects is 5 (int): write objects as a map from a key to each object: objects: "platform-info": {apiVersion: "v1", kind: "ConfigMap", metadata: {...}, ...}`}
	if got := findingStrings(p.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDuplicateObjects: one identity (group, kind, namespace, name) under
// two keys, or twice in the list, is an error naming both places; the
// version is no part of the identity, the namespace is.
func TestDuplicateObjects(t *testing.T) {
	p := evaluate(t, map[string]string{
		"environments/common.cue": "package plinth\nobjects: info: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"default\"}}\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\n" +
			"objects: \"platform-info\": {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"default\"}}\n" +
			"objects: \"other-ns\": {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"tools\"}}\n" +
			"objects: web: {apiVersion: \"apps/v1\", kind: \"Deployment\", metadata: {name: \"web\", namespace: \"tools\"}}\n" +
			"objects: \"web-again\": {apiVersion: \"apps/v1beta2\", kind: \"Deployment\", metadata: {name: \"web\", namespace: \"tools\"}}\n",
	})
	want := []string{
		`environments/env/env.cue:3:10: error OBJECT-DUP objects.platform-info: environment env, ConfigMap default/info: objects.info (environments/common.cue:2:10) and objects.platform-info (environments/env/env.cue:3:10) are the same object: keep one of them: an object's identity is its apiVersion's group, kind, namespace and name, whatever its key`,
		`environments/env/env.cue:6:10: error OBJECT-DUP objects.web-again: environment env, Deployment tools/web: objects.web (environments/env/env.cue:5:10) and objects.web-again (environments/env/env.cue:6:10) are the same object: keep one of them: an object's identity is its apiVersion's group, kind, namespace and name, whatever its key`,
	}
	if got := findingStrings(p.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p.Valid() {
		t.Error("Valid() = true")
	}

	p = evaluate(t, map[string]string{"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: [\n" +
		"\t{apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"tools\"},\n" +
		"\t{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"tools\"}},\n" +
		"\t{apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"tools\"},\n]\n"})
	want = []string{
		`environments/env/env.cue:6:2: error OBJECT-DUP objects.2: environment env, Namespace tools: objects.0 (environments/env/env.cue:4:2) and objects.2 (environments/env/env.cue:6:2) are the same object: keep one of them: an object's identity is its apiVersion's group, kind, namespace and name, whatever its key`,
		`environments/env/env.cue:3:1: warning OBJECT-1 objects: objects is a list of 3 object(s): write objects as a map from a key of your choosing (the object's name, say) to the object: objects: "platform-info": {apiVersion: "v1", kind: "ConfigMap", ...} instead of objects: [{...}]; every file and layer can then add objects, where two lists conflict element by element`,
	}
	if got := findingStrings(p.Findings); !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestListObjects: the list form still renders, as written, with the
// warning that says how to convert it.
func TestListObjects(t *testing.T) {
	p := evaluate(t, map[string]string{"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\nobjects: [\n" +
		"\t{apiVersion: \"v1\", kind: \"Namespace\", metadata: name: \"tools\"},\n" +
		"\t{apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: \"info\", namespace: \"tools\"}},\n]\n"})
	if got := ruleIDs(p.Findings); !slices.Equal(got, []string{"OBJECT-1"}) || !p.Valid() {
		t.Fatalf("findings:\n%s", findingsText(p.Findings))
	}
	comps, err := p.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range comps["objects"].Objects {
		got = append(got, fmt.Sprint(o["kind"]))
	}
	if want := []string{"Namespace", "ConfigMap"}; !slices.Equal(got, want) {
		t.Errorf("objects component: %v, want %v", got, want)
	}
}

func findingStrings(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}
