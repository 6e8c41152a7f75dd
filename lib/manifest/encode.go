package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"unicode/utf8"

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

// marshal is yaml.Marshal (JSON, then YAML) with the characters the YAML
// reader refuses (DEL, C1 controls, U+FFFE/U+FFFF) escaped in the JSON
// text: encoding/json leaves them raw, and a string holding one, which a
// JSON document or a YAML escape can carry, could not be encoded.
func marshal(obj map[string]interface{}) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(escapeUnreadable(j))
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
