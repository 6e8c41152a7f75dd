package platform

import (
	"fmt"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apicheck"
)

// RuleObject is the rule id of findings about the environment's objects
// that the API server would refuse (lib/apicheck): a built-in kind that
// does not decode strictly into its type, an invalid name, an object too
// large to store.
const RuleObject = "OBJECT"

var objectsPath = cue.ParsePath("objects")

// objectFindings checks every object of the environment's objects list as
// the API server would (apicheck.Check) and places each problem at the
// field in the user's files, or at the object when the field is not
// written there.
func objectFindings(env Environment, user, objects cue.Value) []Finding {
	iter, err := objects.List()
	if err != nil {
		return nil // the schema has checked it is a list
	}
	var out []Finding
	for i := 0; iter.Next(); i++ {
		base := []cue.Selector{cue.Str("objects"), cue.Index(i)}
		b, err := iter.Value().MarshalJSON()
		var u unstructured.Unstructured
		if err == nil {
			err = u.UnmarshalJSON(b)
		}
		if err != nil {
			out = append(out, objectFinding(env, user, base, nil, fmt.Sprintf("environment %s: object %d cannot be read: %v", env.Name, i, err), ""))
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
