package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Encode writes objs as canonical YAML: one document per object, in the
// order given, separated by "---" lines, map keys sorted at every level.
// The output ends with a newline and has no trailing separator; no objects
// give no output. Callers that want apply order call [Sort] first.
func Encode(w io.Writer, objs []*unstructured.Unstructured) error {
	for i, o := range objs {
		if o == nil {
			return fmt.Errorf("object %d: nil object", i+1)
		}
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", IDOf(o), err)
		}
		if i > 0 {
			y = append([]byte("---\n"), y...)
		}
		if _, err := w.Write(y); err != nil {
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
