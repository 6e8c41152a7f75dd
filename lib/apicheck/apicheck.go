package apicheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// Problem is one thing in an object the API server would refuse.
type Problem struct {
	// Path is the field concerned, written as lib/manifest writes paths
	// ("spec.replicas", `data["tls.key"]`, "spec.containers[0].image"); ""
	// for the object as a whole.
	Path string
	// Message says what is wrong. It never quotes a Secret's data.
	Message string
	// Hint says what to change, when there is more to say than the message.
	Hint string
}

// String formats p on one line: "path: message: hint".
func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Hint != "" {
		s += ": " + p.Hint
	}
	return s
}

// Check returns every problem of o that the API server would refuse it
// for, in a deterministic order.
//
// An object of a built-in kind, one whose group/version client-go's scheme
// (k8s.io/client-go/kubernetes/scheme) serves, is decoded as the API server
// decodes a request with fieldValidation=Strict: case-sensitively into its
// k8s.io/api type (sigs.k8s.io/json), refusing unknown and duplicate
// fields, values that do not decode into their field's type (a string for
// an integer, a malformed quantity, a []byte field such as a Secret's data
// that is not base64) and a kind the group/version does not serve. Every
// field that fails is reported, not only the first. Its metadata is then
// validated by apimachinery's ValidateObjectMetaAccessor with the kind's
// name rule (see nameRule): name, namespace (when set; an object without
// one is left to the applier, and a cluster-scoped object's is ignored, as
// the API server does), labels, annotations and their total size, owner
// references and finalizers.
//
// Other kinds (custom resources, APIs client-go does not know) are left to
// their CRD's schema at apply. Every object is measured by [Size].
func Check(o *unstructured.Unstructured) []Problem {
	return append(decode(o), Size(o)...)
}

// decode checks an object of a built-in kind against its Go type.
func decode(o *unstructured.Unstructured) []Problem {
	gvk := o.GroupVersionKind()
	gv := gvk.GroupVersion()
	if !scheme.Scheme.IsVersionRegistered(gv) {
		return nil
	}
	kind := objectKind(gv, gvk.Kind)
	if kind == nil {
		return []Problem{unknownKind(gv, gvk.Kind)}
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return []Problem{{Message: fmt.Sprintf("cannot be encoded as JSON: %v", err)}}
	}
	// A tree of our own: the walk removes the values that fail, so that the
	// strict decoder gets past them to report the unknown fields too.
	var tree any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &tree); err != nil {
		return []Problem{{Message: fmt.Sprintf("cannot be decoded as JSON: %v", err)}}
	}
	w := &walker{kind: displayKind(gvk), secret: gvk.Group == "" && gvk.Kind == "Secret", fields: map[string][]string{}}
	w.walk(kind, tree, "")
	ps := w.problems
	pruned, err := json.Marshal(tree)
	if err != nil {
		return append(ps, Problem{Message: fmt.Sprintf("cannot be encoded as JSON: %v", err)})
	}
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return append(ps, Problem{Message: err.Error()})
	}
	strict, err := kjson.UnmarshalStrict(pruned, obj)
	if err != nil {
		// The walk found every value that fails to decode; this is a
		// failure it does not know, reported in the decoder's words.
		return append(ps, Problem{Message: fmt.Sprintf("does not decode as %s: %v", w.kind, err)})
	}
	for _, e := range strict {
		ps = append(ps, w.strictProblem(e))
	}
	return append(ps, validateMeta(obj, manifest.IDOf(o))...)
}

// objectKind returns the Go type of kind in gv, when it is a kind of object
// (it has ObjectMeta): not a list or an options type.
func objectKind(gv schema.GroupVersion, kind string) reflect.Type {
	t, ok := scheme.Scheme.KnownTypes(gv)[kind]
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := t.FieldByName("ObjectMeta"); !ok || !f.Anonymous {
		return nil
	}
	return t
}

// unknownKind reports a kind its built-in group/version does not serve,
// with the closest kind it does serve.
func unknownKind(gv schema.GroupVersion, kind string) Problem {
	var kinds []string
	for k := range scheme.Scheme.KnownTypes(gv) {
		if objectKind(gv, k) != nil {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	p := Problem{Path: "kind", Message: fmt.Sprintf("%s serves no kind %s", gv.String(), kind)}
	if best := Closest(kind, kinds); best != "" {
		p.Hint = fmt.Sprintf("did you mean %s?", best)
	} else {
		p.Hint = fmt.Sprintf("the kinds of %s are %s", gv.String(), strings.Join(kinds, ", "))
	}
	return p
}

// strictProblem turns a strict decoding error (an unknown or duplicate
// field) into a problem at that field.
func (w *walker) strictProblem(e error) Problem {
	var fe kjson.FieldError
	if !errors.As(e, &fe) {
		return Problem{Message: e.Error()}
	}
	path := fe.FieldPath()
	msg := e.Error()
	switch {
	case strings.HasPrefix(msg, "unknown field"):
		p := Problem{Path: path, Message: fmt.Sprintf("unknown field: %s has no field of this name here", w.kind), Hint: "remove it or correct its name"}
		parent, name := path, path
		if i := strings.LastIndex(path, "."); i >= 0 {
			parent, name = path[:i], path[i+1:]
		} else {
			parent = ""
		}
		if best := Closest(name, w.fields[parent]); best != "" {
			p.Hint = fmt.Sprintf("did you mean %s?", best)
		}
		return p
	case strings.HasPrefix(msg, "duplicate field"):
		return Problem{Path: path, Message: "duplicate field", Hint: "write each field once"}
	}
	return Problem{Path: path, Message: msg}
}

// displayKind names a kind with its group/version: "apps/v1 Deployment".
func displayKind(gvk schema.GroupVersionKind) string {
	return gvk.GroupVersion().String() + " " + gvk.Kind
}

// Closest returns the candidate nearest to name by edit distance (Levenshtein),
// ignoring case, when it is near enough to be a misspelling; "" otherwise.
// It makes the "did you mean" hints of apicheck and of vet's schema errors.
func Closest(name string, candidates []string) string {
	best, bestDist := "", len(name)/3+1
	for _, c := range candidates {
		if d := levenshtein.ComputeDistance(strings.ToLower(name), strings.ToLower(c)); d <= bestDist && c != name {
			best, bestDist = c, d
		}
	}
	return best
}
