package image

import (
	"maps"
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

// match calls fn for every field of v that p matches, in a deterministic
// order (map keys sorted). set replaces v in its parent.
func match(v any, p pattern, path, key string, set func(string), fn func(slot)) {
	if len(p) == 0 {
		if set == nil {
			set = func(string) {}
		}
		fn(slot{path: path, key: key, value: v, set: set})
		return
	}
	seg, rest := p[0], p[1:]
	if seg.deep {
		match(v, rest, path, key, set, fn) // "**" matching nothing
	}
	switch v := v.(type) {
	case map[string]any:
		if !seg.deep && !seg.any {
			if seg.list {
				return
			}
			if child, ok := v[seg.key]; ok {
				match(child, rest, manifest.JoinKey(path, seg.key), seg.key, setter(v, seg.key), fn)
			}
			return
		}
		if seg.list {
			return
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			next := rest
			if seg.deep {
				next = p
			}
			match(v[k], next, manifest.JoinKey(path, k), k, setter(v, k), fn)
		}
	case []any:
		if !seg.list && !seg.deep {
			return
		}
		next := rest
		if seg.deep {
			next = p
		}
		for i := range v {
			match(v[i], next, manifest.JoinIndex(path, i), "", func(s string) { v[i] = s }, fn)
		}
	}
}

func setter(m map[string]any, k string) func(string) {
	return func(s string) { m[k] = s }
}
