package diff_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/diff"
)

// rendered builds a Rendered from YAML streams: environment → component →
// stream.
func rendered(t testing.TB, envs map[string]map[string]string) diff.Rendered {
	t.Helper()
	r := diff.Rendered{}
	for env, comps := range envs {
		r[env] = map[string][]*unstructuredT{}
		for comp, y := range comps {
			r[env][comp] = mustParse(y)
		}
	}
	return r
}

// one is a Rendered with one environment "prod" and one component "app".
func one(t testing.TB, y string) diff.Rendered {
	return rendered(t, map[string]map[string]string{"prod": {"app": y}})
}

// outputs renders r in every format.
func outputs(t testing.TB, r *diff.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out["text"] = b.String()
	b.Reset()
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	out["json"] = b.String()
	for _, limit := range []int{0, diff.GitHubCommentLimit, 2000, 300} {
		b.Reset()
		if err := r.WriteMarkdown(&b, limit); err != nil {
			t.Fatal(err)
		}
		out["markdown/"+itoa(limit)] = b.String()
	}
	return out
}

// objectSummary is what TestCompare checks of an object.
type objectSummary struct {
	env, component, id, action, movedFrom string
}

func summarize(r *diff.Report) []objectSummary {
	var s []objectSummary
	for _, e := range r.Environments {
		for _, c := range e.Components {
			for _, o := range c.Objects {
				s = append(s, objectSummary{e.Name, c.Name, o.ID, o.Action, o.MovedFrom})
			}
		}
	}
	return s
}

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
`

const configMap = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: "1", b: "2"}
`

func TestCompare(t *testing.T) {
	tests := []struct {
		name       string
		base, head diff.Rendered
		changed    bool
		envStatus  map[string]string
		objects    []objectSummary
		// diffHas are substrings of the diff of each changed object, by ID;
		// an empty list means the diff must be empty.
		diffHas map[string][]string
	}{{
		name:      "no change",
		base:      one(t, deployment+"---"+configMap),
		head:      one(t, configMap+"---"+deployment),
		envStatus: map[string]string{"prod": "unchanged"},
	}, {
		name: "key order and number format only",
		base: one(t, deployment),
		head: one(t, `
kind: Deployment
apiVersion: apps/v1
spec:
  template:
    spec:
      containers: [{image: "nginx:1.27", name: web}]
    metadata: {labels: {app: web}}
  selector: {matchLabels: {app: web}}
  replicas: 1.0
metadata: {namespace: shop, name: web}
`),
		envStatus: map[string]string{"prod": "unchanged"},
	}, {
		name:      "added",
		base:      one(t, deployment),
		head:      one(t, deployment+"---"+configMap),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "app", "ConfigMap/shop/settings", "added", ""}},
		diffHas:   map[string][]string{"ConfigMap/shop/settings": nil},
	}, {
		name:      "removed",
		base:      one(t, deployment+"---"+configMap),
		head:      one(t, deployment),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "app", "ConfigMap/shop/settings", "removed", ""}},
	}, {
		name:      "changed",
		base:      one(t, deployment+"---"+configMap),
		head:      one(t, strings.Replace(deployment, "replicas: 1", "replicas: 3", 1)+"---"+configMap),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "app", "Deployment.apps/shop/web", "changed", ""}},
		diffHas: map[string][]string{"Deployment.apps/shop/web": {
			"--- base/Deployment.apps/shop/web\n+++ head/Deployment.apps/shop/web\n",
			"\n-  replicas: 1\n+  replicas: 3\n",
		}},
	}, {
		name:      "apiVersion only",
		base:      one(t, "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\nspec: {maxReplicas: 3}\n"),
		head:      one(t, "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web, namespace: shop}\nspec: {maxReplicas: 3}\n"),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "app", "HorizontalPodAutoscaler.autoscaling/shop/web", "changed", ""}},
		diffHas: map[string][]string{"HorizontalPodAutoscaler.autoscaling/shop/web": {
			"-apiVersion: autoscaling/v2beta2\n+apiVersion: autoscaling/v2\n",
		}},
	}, {
		name:      "last-applied-configuration only",
		base:      one(t, configMap),
		head:      one(t, strings.Replace(configMap, "namespace: shop}", `namespace: shop, annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}}`, 1)),
		envStatus: map[string]string{"prod": "unchanged"},
	}, {
		name:      "moved between components",
		base:      rendered(t, map[string]map[string]string{"prod": {"a": deployment + "---" + configMap, "b": ""}}),
		head:      rendered(t, map[string]map[string]string{"prod": {"a": deployment, "b": configMap}}),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "b", "ConfigMap/shop/settings", "changed", "a"}},
		diffHas:   map[string][]string{"ConfigMap/shop/settings": nil},
	}, {
		name:      "moved and changed",
		base:      rendered(t, map[string]map[string]string{"prod": {"a": configMap}}),
		head:      rendered(t, map[string]map[string]string{"prod": {"b": strings.Replace(configMap, `b: "2"`, `b: "3"`, 1)}}),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "b", "ConfigMap/shop/settings", "changed", "a"}},
		diffHas:   map[string][]string{"ConfigMap/shop/settings": {"-  b: \"2\"\n+  b: \"3\"\n"}},
	}, {
		name:      "environments added and removed",
		base:      rendered(t, map[string]map[string]string{"old": {"app": configMap}, "same": {"app": configMap}}),
		head:      rendered(t, map[string]map[string]string{"new": {"app": configMap}, "same": {"app": configMap}}),
		changed:   true,
		envStatus: map[string]string{"new": "added", "old": "removed", "same": "unchanged"},
		objects: []objectSummary{
			{"new", "app", "ConfigMap/shop/settings", "added", ""},
			{"old", "app", "ConfigMap/shop/settings", "removed", ""},
		},
	}, {
		name:      "order within a component: removed, changed, added, each by ID",
		base:      one(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: zz}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: yy}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cc}\ndata: {k: v1}\n"),
		head:      one(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cc}\ndata: {k: v2}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bb}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: aa}\n"),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects: []objectSummary{
			{"prod", "app", "ConfigMap/yy", "removed", ""},
			{"prod", "app", "ConfigMap/zz", "removed", ""},
			{"prod", "app", "ConfigMap/cc", "changed", ""},
			{"prod", "app", "ConfigMap/aa", "added", ""},
			{"prod", "app", "ConfigMap/bb", "added", ""},
		},
	}, {
		name:      "duplicate identity in one revision",
		base:      rendered(t, map[string]map[string]string{"prod": {"a": configMap, "b": configMap}}),
		head:      rendered(t, map[string]map[string]string{"prod": {"a": configMap}}),
		changed:   true,
		envStatus: map[string]string{"prod": "changed"},
		objects:   []objectSummary{{"prod", "b", "ConfigMap/shop/settings", "removed", ""}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := diff.Compare(diff.Input{Base: tt.base, Head: tt.head})
			if got := r.Changed(); got != tt.changed {
				t.Errorf("Changed() = %v, want %v", got, tt.changed)
			}
			gotStatus := map[string]string{}
			for _, e := range r.Environments {
				gotStatus[e.Name] = e.Status
			}
			if !equalMaps(gotStatus, tt.envStatus) {
				t.Errorf("environment status = %v, want %v", gotStatus, tt.envStatus)
			}
			got := summarize(r)
			if len(got) != len(tt.objects) {
				t.Fatalf("objects = %+v, want %+v", got, tt.objects)
			}
			for i := range got {
				if got[i] != tt.objects[i] {
					t.Errorf("object %d = %+v, want %+v", i, got[i], tt.objects[i])
				}
			}
			for _, e := range r.Environments {
				for _, c := range e.Components {
					for _, o := range c.Objects {
						want, ok := tt.diffHas[o.ID]
						if !ok {
							continue
						}
						if len(want) == 0 && o.Diff != "" {
							t.Errorf("%s: diff = %q, want none", o.ID, o.Diff)
						}
						for _, w := range want {
							if !strings.Contains(o.Diff, w) {
								t.Errorf("%s: diff = %q, want it to contain %q", o.ID, o.Diff, w)
							}
						}
					}
				}
			}
			out := outputs(t, r)
			if !tt.changed {
				if out["text"] != "no changes\n" {
					t.Errorf("text = %q, want \"no changes\\n\"", out["text"])
				}
				if md := out["markdown/0"]; !strings.Contains(md, "no changes") {
					t.Errorf("markdown does not say there are no changes:\n%s", md)
				}
			}
		})
	}
}

func TestCompareSummary(t *testing.T) {
	base := rendered(t, map[string]map[string]string{
		"dev":  {"app": deployment + "---" + configMap},
		"prod": {"app": deployment},
	})
	head := rendered(t, map[string]map[string]string{
		"dev":  {"app": strings.Replace(deployment, "nginx:1.27", "nginx:1.28", 1)},
		"prod": {"app": deployment},
		"test": {"app": configMap},
	})
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main", HeadRef: "HEAD"})
	want := diff.Summary{Environments: 3, EnvironmentsChanged: 2, Added: 1, Changed: 1, Removed: 1}
	if r.Summary != want {
		t.Errorf("summary = %+v, want %+v", r.Summary, want)
	}
	if r.Base != "main" || r.Head != "HEAD" {
		t.Errorf("refs = %q, %q", r.Base, r.Head)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	wantText := `dev: changed (+0 ~1 -1)
  app: changed (+0 ~1 -1)
    - ConfigMap/shop/settings
    ~ Deployment.apps/shop/web
        --- base/Deployment.apps/shop/web
        +++ head/Deployment.apps/shop/web
        @@ -14,5 +14,5 @@
                 app: web
             spec:
               containers:
        -      - image: nginx:1.27
        +      - image: nginx:1.28
                 name: web
test: added (+1 ~0 -0)
  app: added (+1 ~0 -0)
    + ConfigMap/shop/settings
2 of 3 environments changed: 1 added, 1 changed, 1 removed
`
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), wantText)
	}
}

// TestDeterministic renders the same input many times: map iteration
// order must not show.
func TestDeterministic(t *testing.T) {
	build := func() diff.Input {
		base := diff.Rendered{}
		head := diff.Rendered{}
		for _, env := range []string{"e1", "e2", "e3", "e4"} {
			base[env] = map[string][]*unstructuredT{}
			head[env] = map[string][]*unstructuredT{}
			for _, comp := range []string{"c1", "c2", "c3"} {
				base[env][comp] = mustParse(deployment + "---" + strings.ReplaceAll(configMap, "settings", comp))
				head[env][comp] = mustParse(strings.ReplaceAll(deployment, "web", comp) + "---" +
					strings.ReplaceAll(strings.ReplaceAll(configMap, "settings", comp), `"1"`, `"9"`))
			}
		}
		return diff.Input{
			Base: base, Head: head,
			HeadWarnings: map[string][]diff.Warning{"e1": {{"R2", "b"}, {"R1", "a"}}, "e2": {{"R1", "a"}}},
		}
	}
	first := outputs(t, diff.Compare(build()))
	for i := 0; i < 20; i++ {
		got := outputs(t, diff.Compare(build()))
		for format, s := range got {
			if s != first[format] {
				t.Fatalf("run %d: %s output differs:\n%s\nfirst:\n%s", i, format, s, first[format])
			}
		}
	}
}

func TestEmptyReport(t *testing.T) {
	r := diff.Compare(diff.Input{})
	if r.Changed() {
		t.Error("Changed() = true for no input")
	}
	out := outputs(t, r)
	if out["text"] != "no changes\n" {
		t.Errorf("text = %q", out["text"])
	}
	if !strings.Contains(out["json"], `"notes": [],`) || !strings.Contains(out["json"], `"environments": []`) {
		t.Errorf("json lists are not empty arrays:\n%s", out["json"])
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCompareFailed: a failed environment is named in every format and
// compared in none; the others are compared as usual.
func TestCompareFailed(t *testing.T) {
	base := rendered(t, map[string]map[string]string{"dev": {"app": configMap}, "prod": {"app": configMap}})
	head := rendered(t, map[string]map[string]string{"dev": {"app": strings.Replace(configMap, `a: "1"`, `a: "9"`, 1)}})
	r := diff.Compare(diff.Input{Base: base, Head: head, Failed: map[string]string{"prod": "working tree: source missing\nmore"}})
	if len(r.Environments) != 1 || r.Environments[0].Name != "dev" || r.Environments[0].Status != diff.StatusChanged {
		t.Fatalf("environments = %+v, want dev changed only", r.Environments)
	}
	if len(r.Failed) != 1 || r.Failed[0] != (diff.Failure{Name: "prod", Error: "working tree: source missing"}) {
		t.Errorf("failed = %+v", r.Failed)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes = %+v, want none (prod is not removed: it failed)", r.Notes)
	}
	for format, out := range outputs(t, r) {
		if !strings.Contains(out, "prod") || !strings.Contains(out, "source missing") {
			t.Errorf("%s does not name the failed environment:\n%s", format, out)
		}
	}
}
