package drift

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/cluster"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// serverOwned are fields the API server maintains; a re-apply never sets
// them, so they are never drift.
var serverOwned = map[string]bool{
	"/metadata/managedFields":     true,
	"/metadata/resourceVersion":   true,
	"/metadata/generation":        true,
	"/metadata/creationTimestamp": true,
	"/metadata/uid":               true,
	"/status":                     true,
}

// secretPlain are the paths of a Secret shown as they are; every other
// value is redacted.
func secretPlain(path string) bool {
	return under(path, "/metadata") || path == "/apiVersion" || path == "/kind" || path == "/type" || path == "/immutable"
}

// compare returns the fields where want (the dry-run result: the object
// as a re-apply would leave it) and got (the object in the cluster)
// differ, in path order; Before is want's value, After got's.
func compare(want, got map[string]any, secret bool) []Field {
	var out []Field
	walk("", want, got, func(path string, w, g any, wok, gok bool) {
		f := Field{Path: path, Before: show(w, wok), After: show(g, gok)}
		if secret && !secretPlain(path) {
			f.Before, f.After = redact(wok), redact(gok)
		}
		out = append(out, f)
	})
	return out
}

// walk calls diff for every leaf (or whole subtree present on one side
// only) where w and g differ.
func walk(path string, w, g any, diff func(path string, w, g any, wok, gok bool)) {
	if serverOwned[path] {
		return
	}
	switch wv := w.(type) {
	case map[string]any:
		if gv, ok := g.(map[string]any); ok {
			keys := slices.Sorted(maps.Keys(wv))
			for k := range gv {
				if _, ok := wv[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				wc, wok := wv[k]
				gc, gok := gv[k]
				p := path + "/" + escape(k)
				if !wok || !gok {
					if !serverOwned[p] {
						diff(p, wc, gc, wok, gok)
					}
					continue
				}
				walk(p, wc, gc, diff)
			}
			return
		}
	case []any:
		if gv, ok := g.([]any); ok {
			for i := 0; i < max(len(wv), len(gv)); i++ {
				p := path + "/" + strconv.Itoa(i)
				switch {
				case i >= len(gv):
					diff(p, wv[i], nil, true, false)
				case i >= len(wv):
					diff(p, nil, gv[i], false, true)
				default:
					walk(p, wv[i], gv[i], diff)
				}
			}
			return
		}
	}
	if !equal(w, g) {
		diff(path, w, g, true, true)
	}
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// escape escapes a JSON pointer token (RFC 6901).
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func show(v any, ok bool) string {
	if !ok {
		return Absent
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(data)
}

func redact(ok bool) string {
	if !ok {
		return Absent
	}
	return Redacted
}

// attribute sets the manager now owning f's field in cur, from its
// managedFields: the latest entry other than plinth's whose field set
// holds the field (or an atomic field above it).
func attribute(f *Field, cur *unstructured.Unstructured) {
	var best *time.Time
	for _, mf := range cur.GetManagedFields() {
		if mf.Manager == manifest.FieldManager || mf.FieldsV1 == nil {
			continue
		}
		var set map[string]any
		if json.Unmarshal(mf.FieldsV1.GetRawBytes(), &set) != nil || !owns(set, cur.Object, f.Path) {
			continue
		}
		var at *time.Time
		if mf.Time != nil {
			t := mf.Time.UTC()
			at = &t
		}
		if f.Manager == "" || at != nil && (best == nil || at.After(*best)) {
			f.Manager, f.Operation, f.Time, best = mf.Manager, string(mf.Operation), at, at
		}
	}
}

// owns reports whether the managedFields set holds the field at pointer
// path of obj, or an atomic field (a leaf of the set) above it. Map keys
// are "f:<name>"; list items "k:{<key fields>}" (matched against the
// item's fields), "v:<value>" or "i:<index>".
func owns(set map[string]any, obj any, path string) bool {
	node := set
	cur := obj
	tokens := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, tok := range tokens {
		tok = unescape(tok)
		var next any
		var found bool
		switch v := cur.(type) {
		case map[string]any:
			next, found = node["f:"+tok]
			cur = v[tok]
		case []any:
			idx, err := strconv.Atoi(tok)
			if err != nil || idx >= len(v) {
				return false
			}
			next, found = cluster.SetMember(node, v[idx], idx)
			cur = v[idx]
		default:
			return false
		}
		if !found {
			return false
		}
		child, _ := next.(map[string]any)
		if len(child) == 0 && i < len(tokens)-1 {
			return true // an atomic field above the path
		}
		node = child
	}
	return true
}
