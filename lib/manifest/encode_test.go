package manifest

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/needs"
)

// marshalCases are values whose YAML form depends on how the emitter
// quotes or folds them, numbers, and values the JSON step changes.
var marshalCases = []interface{}{
	"", " ", "a", "true", "True", "yes", "no", "on", "off", "y", "n", "~", "null", "Null",
	"1", "-1", "+1", "1.5", "1e3", "1e+06", ".inf", "-.Inf", ".nan", "0x1F", "0o17", "017", "0b101", "1_000", "12:30:45", "190:20:30",
	"2026-12-06", "2026-12-06T09:00:00Z", "<<", "=", "-", "--", "---", "...", "- a", "? a", ": a", "a: b", "a #b", "#a", "!a", "&a", "*a", "%a", "@a", "`a", "|", ">",
	"'a'", `"a"`, "a'b", `a"b`, "a\\b", "{a}", "[a]", "a,b", " a", "a ", "\ta", "a\t",
	"a\nb", "a\nb\n", "a\n\nb\n\n", "\na", "a \nb", "a\n b", "a\r\nb", "\u0085", "\u2028", "\u2029", "\ufeff", "\u007f", "\u0080x", "\ufffe", "\uffff", "\x00", "\x01\x02",
	"é ✓ 🙂", "<script>&amp;</script>", strings.Repeat("long words ", 20), strings.Repeat("x", 200), "line one\nline two with trailing space \n",
	"\xff", "a\xc3", // invalid UTF-8: JSON writes U+FFFD
	true, false, nil,
	int64(0), int64(-1), int64(1) << 62, int64(-1) << 63, 7,
	0.5, 1.0, 1e6, 1e21, 1e-7, math.Copysign(0, -1), 3.14159, // floats take the round trip
	map[string]interface{}{}, []interface{}{},
	[]interface{}{"a", int64(1), nil, map[string]interface{}{"b": true}},
	map[string]interface{}{"a10": 1, "a9": 2, "a": 3, "B": 4, "": 5, "1": 6, "10": 7, "2": 8, "true": 9, "<<": 10, "a b": 11, "\u007f": 12},
	[]string{"typed"}, map[string]string{"typed": "map"},
}

func TestMarshalMatchesRoundTrip(t *testing.T) {
	for _, v := range marshalCases {
		checkMarshal(t, map[string]interface{}{"v": v, "list": []interface{}{v}, "nested": map[string]interface{}{"k": v}})
	}
}

// TestMarshalMatchesRoundTripOnFixtures compares the two encodings on
// every object of the rendered goldens, this repository's deploy/ and the
// shared fixtures' Kubeflow manifests.
func TestMarshalMatchesRoundTripOnFixtures(t *testing.T) {
	dirs := []string{"../render/testdata", "../../deploy", filepath.Join(needs.FixturesDir("../.."), "kubeflow-manifests")}
	var objects, direct int
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			objs, err := Parse(data)
			if err != nil {
				return nil // not a manifest (a kustomization, a values file)
			}
			for _, o := range objs {
				objects++
				if checkMarshal(t, o.Object) {
					direct++
				}
			}
			return nil
		})
	}
	t.Logf("%d objects, %d encoded directly", objects, direct)
	if objects == 0 {
		t.Fatal("no objects found")
	}
}

func FuzzMarshal(f *testing.F) {
	for _, v := range marshalCases {
		if s, ok := v.(string); ok {
			f.Add(s, s)
		}
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		checkMarshal(t, map[string]interface{}{key: value, "n": []interface{}{value, map[string]interface{}{key: key}}})
	})
}

// checkMarshal fails t when marshal and marshalRoundTrip disagree on obj
// and reports whether obj was encoded directly. They may disagree only
// where the round trip loses the value: the YAML parser reads a raw U+0085
// (NEL) in the JSON text as a line break, folded into a space (or an
// error in a key); encoding directly keeps it ("\N").
func checkMarshal(t *testing.T, obj map[string]interface{}) bool {
	t.Helper()
	got, err := marshal(obj)
	want, wantErr := marshalRoundTrip(obj)
	if (err != nil) == (wantErr != nil) && bytes.Equal(got, want) {
		return direct(obj)
	}
	if err == nil && direct(obj) && !reads(want, obj) && reads(got, obj) {
		return true
	}
	t.Errorf("marshal(%#v):\n%s (error %v)\nwant (JSON round trip):\n%s (error %v)", obj, got, err, want, wantErr)
	return direct(obj)
}

// reads reports whether the YAML text y decodes to obj.
func reads(y []byte, obj map[string]interface{}) bool {
	var back map[string]interface{}
	if yaml.Unmarshal(y, &back) != nil {
		return false
	}
	a, errA := json.Marshal(back)
	b, errB := json.Marshal(obj)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}
