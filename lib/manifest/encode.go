package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Encode writes objs as canonical YAML: one document per object, in the
// order given, separated by "---" lines, map keys sorted at every level.
// The output ends with a newline and has no trailing separator; no objects
// give no output. Callers that want apply order call [Sort] first.
func Encode(w io.Writer, objs []*unstructured.Unstructured) error {
	// Marshal concurrently (it is most of Encode's time), write in order.
	docs := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, o := range objs {
		if o == nil {
			return fmt.Errorf("object %d: nil object", i+1)
		}
		g.Go(func() error {
			docs[i], errs[i] = marshal(o.Object)
			return nil
		})
	}
	g.Wait() // every goroutine returns nil: errors are kept per item
	for i, o := range objs {
		if errs[i] != nil {
			return fmt.Errorf("%s: encode: %w", IDOf(o), errs[i])
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return fmt.Errorf("%s: write: %w", IDOf(o), err)
			}
		}
		if _, err := w.Write(docs[i]); err != nil {
			return fmt.Errorf("%s: write: %w", IDOf(o), err)
		}
	}
	return nil
}

// Digest returns "sha256:<hex>" of the bytes [Encode] writes for objs, so
// two sets with the same objects in the same order have the same digest.
func Digest(objs []*unstructured.Unstructured) (string, error) {
	h := sha256.New()
	if err := Encode(h, objs); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// marshal encodes obj as yaml.Marshal does (JSON, then YAML). The JSON
// round trip (encode, then parse the JSON with the YAML parser, then emit)
// is most of a render's encoding time, and for an object of strings, bools,
// integers, maps and lists it changes nothing: the YAML emitter then gets
// the same values, so obj goes to it directly (go-yaml v2, the library
// sigs.k8s.io/yaml uses). Anything else takes the round trip, whose JSON
// step decides what it means: floats (JSON writes 1e6 as 1000000, which
// YAML reads back as an integer), invalid UTF-8 (JSON writes U+FFFD) and
// other types. TestMarshalMatchesRoundTrip compares the two.
func marshal(obj map[string]interface{}) ([]byte, error) {
	if direct(obj) {
		return yamlv2.Marshal(obj)
	}
	return marshalRoundTrip(obj)
}

// marshalRoundTrip is yaml.Marshal with the characters the YAML reader
// refuses (DEL, C1 controls, U+FFFE/U+FFFF) escaped in the JSON text:
// encoding/json leaves them raw, and a string holding one, which a JSON
// document or a YAML escape can carry, could not be encoded.
func marshalRoundTrip(obj map[string]interface{}) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(escapeUnreadable(j))
}

// direct reports whether v holds only values that the JSON round trip
// gives back unchanged to the YAML emitter: valid UTF-8 strings, bools,
// nil, int64 and int, and maps and lists of them.
func direct(v interface{}) bool {
	switch v := v.(type) {
	case nil, bool, int64, int:
		return true
	case string:
		return utf8.ValidString(v)
	case map[string]interface{}:
		for k, e := range v {
			if !utf8.ValidString(k) || !direct(e) {
				return false
			}
		}
		return true
	case []interface{}:
		for _, e := range v {
			if !direct(e) {
				return false
			}
		}
		return true
	}
	return false
}

// escapeUnreadable rewrites the runes of JSON text j outside YAML's
// printable set as \u escapes. Outside strings JSON is plain ASCII, so only
// strings change, and they keep their value.
func escapeUnreadable(j []byte) []byte {
	var out []byte // nil until a rune needs escaping
	last := 0
	for i := 0; i < len(j); {
		r, size := utf8.DecodeRune(j[i:])
		if yamlReadable(r) {
			i += size
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(j)+16)
		}
		out = append(out, j[last:i]...)
		out = fmt.Appendf(out, `\u%04x`, r)
		i += size
		last = i
	}
	if out == nil {
		return j
	}
	return append(out, j[last:]...)
}

// yamlReadable reports whether the YAML reader accepts r (YAML 1.1
// c-printable, as go.yaml.in/yaml/v2's reader checks it).
func yamlReadable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7e, r == 0x85,
		r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= utf8.MaxRune:
		return true
	}
	return false
}
