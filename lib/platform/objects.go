package platform

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apicheck"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// RuleObject is the rule id of findings about the environment's objects
// that the API server would refuse (lib/apicheck): a built-in kind that
// does not decode strictly into its type, an invalid name, an object too
// large to store.
const RuleObject = "OBJECT"

// RuleObjectDuplicate is the rule id of an object of the environment's
// objects that another key (or another entry of the list) also holds: the
// same group, kind, namespace and name, which the cluster would see as one
// object written twice.
const RuleObjectDuplicate = "OBJECT-DUP"

var objectsPath = cue.ParsePath("objects")

// envObject is one entry of the environment's objects: its selector
// (cue.Str(key) in the keyed form, cue.Index(i) in the list form) and
// its value.
type envObject struct {
	sel cue.Selector
	v   cue.Value
}

// envObjects lists the entries of objects, keyed ones in key order.
func envObjects(objects cue.Value) []envObject {
	if d, ok := objects.Default(); ok {
		objects = d
	}
	var out []envObject
	switch objects.Kind() {
	case cue.ListKind:
		iter, err := objects.List()
		if err != nil {
			return nil
		}
		for i := 0; iter.Next(); i++ {
			out = append(out, envObject{cue.Index(i), iter.Value()})
		}
	case cue.StructKind:
		iter, err := objects.Fields()
		if err != nil {
			return nil
		}
		for iter.Next() {
			out = append(out, envObject{cue.Str(iter.Selector().Unquoted()), iter.Value()})
		}
		slices.SortFunc(out, func(a, b envObject) int { return strings.Compare(a.sel.Unquoted(), b.sel.Unquoted()) })
	}
	return out
}

// objectFindings checks every object of the environment's objects (keyed
// or a list) as the API server would (apicheck.Check) and places each
// problem at the field in the user's files, or at the object when the
// field is not written there. One identity under two keys is an error
// naming both.
func objectFindings(env Environment, user, objects cue.Value) []Finding {
	var out []Finding
	type seen struct {
		path string
		pos  Position
	}
	first := map[manifest.ID]seen{}
	for _, o := range envObjects(objects) {
		base := []cue.Selector{cue.Str("objects"), o.sel}
		b, err := o.v.MarshalJSON()
		var u unstructured.Unstructured
		if err == nil {
			err = u.UnmarshalJSON(b)
		}
		if err != nil {
			out = append(out, objectFinding(env, user, base, nil, fmt.Sprintf("environment %s: object %s cannot be read: %v", env.Name, displayPath(base), err), ""))
			continue
		}
		subject := fmt.Sprintf("environment %s, %s %s", env.Name, u.GetKind(), u.GetName())
		if ns := u.GetNamespace(); ns != "" {
			subject = fmt.Sprintf("environment %s, %s %s/%s", env.Name, u.GetKind(), ns, u.GetName())
		}
		for _, p := range apicheck.Check(&u) {
			text := p.Message
			if p.Path != "" {
				text = p.Path + ": " + text
			}
			out = append(out, objectFinding(env, user, base, fieldSelectors(p.Path), subject+": "+text, p.Hint))
		}
		// The identity without the version: apps/v1 and apps/v1beta1
		// Deployment web are one object to the API server.
		id := manifest.IDOf(&u)
		id.Version = ""
		here := objectFinding(env, user, base, nil, "", "")
		if prev, ok := first[id]; ok {
			here.Rule = RuleObjectDuplicate
			here.Detail = fmt.Sprintf("%s: %s (%s) and %s (%s) are the same object", subject, prev.path, prev.pos, here.Path, here.Position)
			here.Message = "keep one of them: an object's identity is its apiVersion's group, kind, namespace and name, whatever its key"
			out = append(out, here)
			continue
		}
		first[id] = seen{here.Path, here.Position}
	}
	return out
}

func objectFinding(env Environment, user cue.Value, base, field []cue.Selector, detail, hint string) Finding {
	if hint == "" {
		hint = "fix the object: the API server would refuse it"
	}
	sels := append(append([]cue.Selector{}, base...), field...)
	f := Finding{
		Environment: env.Name,
		Rule:        RuleObject,
		Severity:    SeverityError,
		Path:        displayPath(sels),
		Detail:      detail,
		Message:     hint,
		Position:    Position{File: relPath(env.Root, env.Dir)},
	}
	// The deepest part of the path the user's files write.
	for n := len(sels); n >= len(base); n-- {
		if v := user.LookupPath(cue.MakePath(sels[:n]...)); v.Exists() {
			if pos := v.Pos(); pos.IsValid() {
				f.Position = position(env.Root, pos)
				break
			}
		}
	}
	return f
}

// fieldSelectors parses a field path as lib/manifest writes it
// ("spec.containers[0].image", `data["tls.crt"]`) into CUE selectors.
// Parts it cannot read end the path there: the finding then points at
// the nearest field it could.
func fieldSelectors(path string) []cue.Selector {
	var sels []cue.Selector
	for path != "" {
		switch {
		case strings.HasPrefix(path, "."):
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			for end > 0 && path[end-1] == '\\' { // an escaped quote inside the key
				next := strings.Index(path[end+2:], `"]`)
				if next < 0 {
					return sels
				}
				end += 2 + next
			}
			if end < 0 {
				return sels
			}
			key, err := strconv.Unquote(path[1 : end+1])
			if err != nil {
				return sels
			}
			sels = append(sels, cue.Str(key))
			path = path[end+2:]
		case strings.HasPrefix(path, "["):
			end := strings.Index(path, "]")
			n, err := strconv.Atoi(path[1:max(end, 1)])
			if end < 0 || err != nil {
				return sels
			}
			sels = append(sels, cue.Index(n))
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			sels = append(sels, cue.Str(path[:end]))
			path = path[end:]
		}
	}
	return sels
}
