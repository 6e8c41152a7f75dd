package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"

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
			docs[i], errs[i] = yaml.Marshal(o.Object)
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
