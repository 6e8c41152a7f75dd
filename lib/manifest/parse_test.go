package manifest

import (
	"bytes"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // IDs
	}{
		{"empty", "", nil},
		{"only separators and comments", "---\n# just a comment\n---\n\n---\n", nil},
		{"one", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubeflow\n", []string{"Namespace/kubeflow"}},
		{"leading separator and comment-only document", "---\n# Source: chart/templates/a.yaml\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ml-pipeline\n  namespace: kubeflow\n",
			[]string{"Deployment.apps/kubeflow/ml-pipeline"}},
		{"separator with comment", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n--- # next\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			[]string{"Namespace/a", "Namespace/b"}},
		{"null document", "~\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", []string{"Namespace/a"}},
		{"CRLF", "apiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: b\r\n",
			[]string{"Namespace/a", "Namespace/b"}},
		{"byte order mark", "\xef\xbb\xbfapiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", []string{"Namespace/a"}},
		{"List", `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: x}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: Secret
    metadata: {name: b, namespace: x}
`, []string{"ConfigMap/x/a", "Secret/x/b"}},
		{"typed list items inherit apiVersion and kind", `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleList
items:
- metadata: {name: a}
- kind: ClusterRole
  metadata: {name: b}
`, []string{"ClusterRole.rbac.authorization.k8s.io/a", "ClusterRole.rbac.authorization.k8s.io/b"}},
		{"empty List", "apiVersion: v1\nkind: List\nitems: []\n", nil},
		{"JSON object", `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}`, []string{"Namespace/a"}},
		{"JSON stream", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"b\"}}\n",
			[]string{"Namespace/a", "Namespace/b"}},
		{"JSON List", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}]}`, []string{"Namespace/a"}},
		{"JSON document in YAML stream", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			[]string{"Namespace/a", "Namespace/b"}},
		{"block scalar with --- inside", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: |\n    ---\n    y\n", []string{"ConfigMap/a"}},
		{"kind ending in List without items", "apiVersion: example.com/v1\nkind: AllowList\nmetadata: {name: a}\n", []string{"AllowList.example.com/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, IDOf(o).String())
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Parse = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseNumbers(t *testing.T) {
	objs, err := Parse([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 3\n  ratio: 0.5\n  big: 9007199254740993\n"))
	if err != nil {
		t.Fatal(err)
	}
	spec := objs[0].Object["spec"].(map[string]interface{})
	if _, ok := spec["replicas"].(int64); !ok {
		t.Errorf("replicas is %T, want int64", spec["replicas"])
	}
	if _, ok := spec["ratio"].(float64); !ok {
		t.Errorf("ratio is %T, want float64", spec["ratio"])
	}
	if spec["big"] != int64(9007199254740993) {
		t.Errorf("big = %v, want 9007199254740993 exactly", spec["big"])
	}
	// DeepCopy panics on types unstructured does not know.
	_ = objs[0].DeepCopy()
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"missing kind", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n# comment\n\napiVersion: v1\nmetadata: {name: b}\n",
			"document 2 (line 7): missing kind"},
		{"missing apiVersion", "kind: Namespace\nmetadata: {name: a}\n", "document 1 (line 1): missing apiVersion"},
		{"missing name", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: x\n", "document 1 (line 1): ConfigMap: missing metadata.name"},
		{"missing metadata", "apiVersion: v1\nkind: ConfigMap\n", "document 1 (line 1): ConfigMap: missing metadata.name"},
		{"generateName", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n",
			`document 1 (line 1): Job "migrate-": metadata.generateName without metadata.name: server-side apply needs a fixed name`},
		{"empty documents are not counted", "---\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\nkind: Namespace\n",
			"document 2 (line 8): missing apiVersion"},
		{"name is a number", "apiVersion: v1\nkind: Namespace\nmetadata: {name: 3}\n", "metadata.name is not a non-empty string"},
		{"kind is a number", "apiVersion: v1\nkind: 3\nmetadata: {name: a}\n", "document 1 (line 1): kind is not a string but a number"},
		{"metadata is a string", "apiVersion: v1\nkind: Namespace\nmetadata: a\n", "metadata is not an object"},
		{"namespace is a list", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: [x]}\n", "metadata.namespace is not a string"},
		{"scalar document", "just a string\n", "document 1 (line 1): not an object but a string"},
		{"list document", "- a\n- b\n", "document 1 (line 1): not an object but a list"},
		{"malformed YAML", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [Namespace\n", "document 2 (line 5): line 6: did not find expected ',' or ']'"},
		{"bad indentation", "apiVersion: v1\n kind: Namespace\n", "document 1 (line 1): line 2: "},
		{"error line after comments", "---\n# c\n\napiVersion: v1\nkind: Namespace\nmetadata: {name: a\n", "document 1 (line 4): line 6: "},
		{"List item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  metadata: {name: b}\n",
			"document 1 (line 1): List item 2: missing kind"},
		{"List item not an object", "apiVersion: v1\nkind: List\nitems: [1]\n", "document 1 (line 1): List item 1: not an object but a number"},
		{"malformed JSON", "{\"apiVersion\": \"v1\"}\n\n{\"kind\": ", "document 2 (line 3): "},
		{"JSON missing kind", "\n{\"apiVersion\": \"v1\", \"metadata\": {\"name\": \"a\"}}", "document 1 (line 2): missing kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kubeflow\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data: {a: \"1\"}\n"))
	f.Add([]byte(`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}`))
	f.Add([]byte("---\n# c\n---\na: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Parse(data)
		if err != nil {
			return
		}
		// What parses encodes, and the encoding parses back to itself.
		var first bytes.Buffer
		if err := Encode(&first, objs); err != nil {
			t.Fatalf("Encode: %v", err)
		}
		again, err := Parse(first.Bytes())
		if err != nil {
			t.Fatalf("Parse(Encode(…)): %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := Encode(&second, again); err != nil {
			t.Fatalf("Encode again: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("Encode is not stable:\n%s\n---- then ----\n%s", first.Bytes(), second.Bytes())
		}
		Sort(objs)
		for _, o := range objs {
			_ = IDOf(o).String()
			_ = Containers(o)
		}
	})
}
