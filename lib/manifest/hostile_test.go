package manifest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// aliasBomb is the billion-laughs document: nine levels of nine aliases
// would expand to 9^9 (387 million) strings.
const aliasBomb = `apiVersion: v1
kind: ConfigMap
metadata: {name: lol}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

// nested returns a ConfigMap whose data.x is depth flow mappings deep.
func nested(depth int) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\nx: " +
		strings.Repeat("{a: ", depth) + "1" + strings.Repeat("}", depth) + "\n"
}

// nestedJSON is nested as a JSON document.
func nestedJSON(depth int) string {
	return `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "x": ` +
		strings.Repeat(`{"a": `, depth) + "1" + strings.Repeat("}", depth) + "}"
}

// Hostile streams are refused with an error naming the document and line,
// quickly and as a whole: no object of the stream is returned.
func TestParseHostile(t *testing.T) {
	good := "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"alias bomb", good + aliasBomb, "document 2 (line 5): yaml: document contains excessive aliasing"},
		{"duplicate key in flow mapping", good + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {x: '1', x: '2'}\n",
			`document 2 (line 5): line 8: duplicate key "x"`},
		{"duplicate key in block mapping", good + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  name: c\n",
			`document 2 (line 5): line 9: duplicate key "name"`},
		{"duplicate top-level key", good + "apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: b}\n",
			`document 2 (line 5): line 7: duplicate key "kind"`},
		{"duplicate key beside a merge key", good + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\nbase: &b {p: '1'}\ndata:\n  <<: *b\n  q: '2'\n  q: '3'\n",
			`document 2 (line 5): line 12: duplicate key "q"`},
		{"duplicate boolean key", good + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {yes: '1', on: '2'}\n",
			`document 2 (line 5): line 8: duplicate key true`},
		{"duplicate key in JSON", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"x": "1", "x": "2"}}`,
			`document 1 (line 1): duplicate field "data.x"`},
		{"10,000-deep nesting", good + nested(10000), "document 2 (line 5): invalid character '{' exceeded max depth"},
		{"10,000-deep JSON nesting", nestedJSON(10000), "document 1 (line 1): invalid character '{' exceeded max depth"},
		{"one bad document among many", strings.Repeat(good, 500) + "apiVersion: v1\nkind: Namespace\n---\n" + strings.Repeat(good, 500),
			"document 501 (line 2001): Namespace: missing metadata.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			objs, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d objects", len(objs))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if objs != nil {
				t.Errorf("Parse returned %d objects with its error; want none", len(objs))
			}
			// Bounded, not a benchmark: each takes milliseconds.
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("Parse took %v", d)
			}
		})
	}
}

// Legitimate inputs near the hostile ones still parse: deep but sane
// nesting, anchors without blow-up, and a merge key overridden by the
// mapping that uses it (YAML allows it; yaml.v2's strict mode alone would
// call it a duplicate).
func TestParseLegitimate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]interface{} // expected "data"-like top-level field, by key
	}{
		{"100-deep nesting", nested(100), nil},
		{"100-deep JSON nesting", nestedJSON(100), nil},
		{"anchor and alias", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\np: &p {k: v}\nq: *p\n",
			map[string]interface{}{"q": map[string]interface{}{"k": "v"}}},
		{"merge key overridden", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbase: &b {p: '1', q: '1'}\ndata:\n  <<: *b\n  q: '2'\n",
			map[string]interface{}{"data": map[string]interface{}{"p": "1", "q": "2"}}},
		{"same key in different mappings", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {name: a}}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(objs) != 1 {
				t.Fatalf("Parse returned %d objects, want 1", len(objs))
			}
			for k, want := range tt.want {
				if got := fmt.Sprint(objs[0].Object[k]); got != fmt.Sprint(want) {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

// A string with characters the YAML reader refuses (here from a JSON
// document; FuzzParse found it) encodes, and parses back to itself.
func TestEncodeUnreadableCharacters(t *testing.T) {
	objs, err := Parse([]byte(`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "del\u007f c1\u0080 nonchar\uffff tab\t é ✓ 🙂"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Encode(&b, objs); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	again, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("Parse(Encode(…)): %v\n%s", err, b.String())
	}
	want := "del\u007f c1\u0080 nonchar\uffff tab\t é ✓ 🙂"
	if got := again[0].Object["data"].(map[string]interface{})["x"]; got != want {
		t.Errorf("round trip gives %q, want %q", got, want)
	}
}
