package image

import (
	"cmp"
	"slices"
	"strings"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// A pattern names fields of an object: segments separated by '.', each a
// map key, "*" for any key, "[]" after a key for any element of that list
// ("containers[]"), or "**" for any number of keys and list elements.
type pattern []segment

type segment struct {
	key  string // a map key; "" with any or list
	any  bool   // any map key
	list bool   // any list element
	deep bool   // "**"
}

func patternOf(s string) pattern {
	var p pattern
	for _, part := range strings.Split(s, ".") {
		key, isList := strings.CutSuffix(part, "[]")
		switch key {
		case "**":
			p = append(p, segment{deep: true})
		case "*":
			p = append(p, segment{any: true})
		default:
			p = append(p, segment{key: key})
		}
		if isList {
			p = append(p, segment{list: true})
		}
	}
	return p
}

// slot is a field that a pattern matched: its path, value, the key it has
// in its map ("" in a list) and how to replace it.
type slot struct {
	path  string
	key   string
	value any
	set   func(string)
}

// match calls fn for every field of v that p matches, in the order of
// their paths (map keys sorted, list elements by index).
func match(v any, p pattern, fn func(slot)) {
	var w walker
	w.walk(v, p, nil, "", 0)
	slices.SortFunc(w.hits, func(a, b hit) int { return comparePaths(a.path, b.path) })
	for _, h := range w.hits {
		fn(h.slot)
	}
}

// walker collects the fields a pattern matches. It keeps the path being
// visited as segments and builds a path string and a setter only for the
// fields that match: a deep pattern visits every field of an object, and
// few match. Maps are visited in Go's order and the hits sorted after.
type walker struct {
	path []segmentOf
	hits []hit
}

// segmentOf is a step of a path: a map key or a list index.
type segmentOf struct {
	key   string
	index int
	list  bool
}

type hit struct {
	path []segmentOf
	slot slot
}

// walk visits v, held by parent (a map under key, a list at index; nil at
// the root).
func (w *walker) walk(v any, p pattern, parent any, key string, index int) {
	if len(p) == 0 {
		w.hits = append(w.hits, hit{
			path: slices.Clone(w.path),
			slot: slot{path: pathString(w.path), key: key, value: v, set: setter(parent, key, index)},
		})
		return
	}
	seg, rest := p[0], p[1:]
	if seg.deep {
		w.walk(v, rest, parent, key, index) // "**" matching nothing
	}
	next := rest
	if seg.deep {
		next = p
	}
	switch v := v.(type) {
	case map[string]any:
		if seg.list {
			return
		}
		if !seg.deep && !seg.any {
			if child, ok := v[seg.key]; ok {
				w.child(child, rest, v, segmentOf{key: seg.key})
			}
			return
		}
		for k, child := range v {
			w.child(child, next, v, segmentOf{key: k})
		}
	case []any:
		if !seg.list && !seg.deep {
			return
		}
		for i := range v {
			w.child(v[i], next, v, segmentOf{index: i, list: true})
		}
	}
}

func (w *walker) child(v any, p pattern, parent any, s segmentOf) {
	w.path = append(w.path, s)
	w.walk(v, p, parent, s.key, s.index)
	w.path = w.path[:len(w.path)-1]
}

// pathString writes a path as manifest paths are written:
// "spec.containers[0].image", `data["a.yaml"]`.
func pathString(path []segmentOf) string {
	s := ""
	for _, seg := range path {
		if seg.list {
			s = manifest.JoinIndex(s, seg.index)
		} else {
			s = manifest.JoinKey(s, seg.key)
		}
	}
	return s
}

// comparePaths orders paths step by step: keys as strings, indices as
// numbers, a path before the paths below it.
func comparePaths(a, b []segmentOf) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Compare(a[i].key, b[i].key); c != 0 {
			return c
		}
		if c := cmp.Compare(a[i].index, b[i].index); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// setter replaces the field held by parent under key or at index.
func setter(parent any, key string, index int) func(string) {
	switch parent := parent.(type) {
	case map[string]any:
		return func(s string) { parent[key] = s }
	case []any:
		return func(s string) { parent[index] = s }
	}
	return func(string) {}
}
