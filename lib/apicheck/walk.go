package apicheck

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// walker finds the values of a decoded JSON tree that do not decode into
// the fields of a Go type. The JSON decoder stops at the first such value
// and, for a bad base64 string or a malformed quantity, does not say
// where it is; the walk follows the type's own fields (their json tags) to
// name each one, decoding every leaf with the same decoder.
type walker struct {
	// kind names the object's kind in messages: "v1 Secret".
	kind string
	// secret is set for a v1 Secret: its bytes are plain text under stringData.
	secret   bool
	problems []Problem
	// fields holds the JSON field names of each struct the walk entered, by
	// path, for suggestions next to unknown fields.
	fields map[string][]string
}

// walk checks v against t at path and reports whether v fails as a whole,
// in which case the caller removes it from the tree. Values that fail
// below v are removed by the walk itself.
func (w *walker) walk(t reflect.Type, v any, path string) bool {
	if v == nil {
		return false // null decodes into every type
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isLeaf(t) {
		return w.leaf(t, v, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return w.leaf(t, v, path)
		}
		fields := jsonFields(t)
		w.fields[path] = slices.Sorted(maps.Keys(fields))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if ft, ok := fields[k]; ok && w.walk(ft, m[k], manifest.JoinKey(path, k)) {
				delete(m, k)
			} // an unknown field is the strict decoder's to report
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return w.leaf(t, v, path)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if w.walk(t.Elem(), m[k], manifest.JoinKey(path, k)) {
				delete(m, k)
			}
		}
	case reflect.Slice, reflect.Array:
		l, ok := v.([]any)
		if !ok {
			return w.leaf(t, v, path)
		}
		for i, e := range l {
			if w.walk(t.Elem(), e, manifest.JoinIndex(path, i)) {
				l[i] = nil
			}
		}
	default:
		return w.leaf(t, v, path)
	}
	return false
}

// leaf decodes v into a new t and reports a failure as a problem.
func (w *walker) leaf(t reflect.Type, v any, path string) bool {
	b, err := json.Marshal(v)
	if err == nil {
		err = kjson.UnmarshalCaseSensitivePreserveInts(b, reflect.New(t).Interface())
	}
	if err == nil {
		return false
	}
	want := describe(t)
	var corrupt base64.CorruptInputError
	var typeErr *json.UnmarshalTypeError
	p := Problem{Path: path}
	switch {
	case errors.As(err, &corrupt):
		p.Message = fmt.Sprintf("is not base64 (%v)", corrupt)
		p.Hint = "write the bytes base64-encoded"
		if w.secret {
			p.Hint = "encode each value of data in base64, or write the plain text under stringData"
		}
	case errors.As(err, &typeErr):
		p.Message = fmt.Sprintf("is %s where %s takes %s", jsonKind(v), w.kind, want)
		p.Hint = "write " + want
	default:
		// An UnmarshalJSON of the field's type failed (a quantity, a time):
		// its error says why. No such type holds a Secret's data.
		p.Message = fmt.Sprintf("is not %s (%v)", want, err)
	}
	w.problems = append(w.problems, p)
	return true
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isLeaf reports whether values of t decode as a whole: types with their
// own decoding, []byte (base64) and scalars.
func isLeaf(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Array:
		return false
	case reflect.Slice:
		return t.Elem().Kind() == reflect.Uint8
	}
	return true
}

// jsonFields maps the JSON names of t's fields to their types, as
// encoding/json reads tags: the fields of an embedded struct without a
// JSON name (TypeMeta, `json:",inline"`) are read as t's own.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				if _, ok := fields[k]; !ok {
					fields[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// describe says in words what a field of type t takes.
func describe(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[resource.Quantity]():
		return "a quantity such as 500m, 2 or 4Gi"
	case reflect.TypeFor[intstr.IntOrString]():
		return "an integer or a string"
	case reflect.TypeFor[metav1.Time](), reflect.TypeFor[metav1.MicroTime]():
		return "a time such as 2006-01-02T15:04:05Z"
	case reflect.TypeFor[metav1.Duration]():
		return "a duration such as 30s"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "base64-encoded bytes"
		}
		return "a list"
	case reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// jsonKind names the JSON type of a decoded value, never the value itself.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return "null"
}
