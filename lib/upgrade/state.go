package upgrade

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// State is an environment's own value as plain data (platform.State):
// what its files set, without the schema's defaults. The planner changes
// fields of it and evaluates the result.
type State map[string]any

// Get returns the value at a dotted path, when the state sets it.
func (s State) Get(path string) (any, bool) {
	var cur any = map[string]any(s)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// With returns a copy of s with the field at path set to v; the maps on
// the way are copied, the rest is shared (states are never modified).
func (s State) With(path string, v any) State {
	parts := strings.Split(path, ".")
	var set func(m map[string]any, i int) map[string]any
	set = func(m map[string]any, i int) map[string]any {
		out := maps.Clone(m)
		if out == nil {
			out = map[string]any{}
		}
		if i == len(parts)-1 {
			out[parts[i]] = v
			return out
		}
		child, _ := m[parts[i]].(map[string]any)
		out[parts[i]] = set(child, i+1)
		return out
	}
	return set(s, 0)
}

// Without returns a copy of s without the field at path (the maps on
// the way copied, as With).
func (s State) Without(path string) State {
	parent, name := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	m := map[string]any(s)
	if parent != "" {
		v, _ := s.Get(parent)
		var ok bool
		if m, ok = v.(map[string]any); !ok {
			return s
		}
	}
	if _, ok := m[name]; !ok {
		return s
	}
	cp := maps.Clone(m)
	delete(cp, name)
	if parent == "" {
		return cp
	}
	return s.With(parent, cp)
}

// key identifies a state: its JSON, whose object keys encoding/json sorts.
func (s State) key() string {
	data, err := json.Marshal(s)
	if err != nil {
		// A state decoded from CUE is JSON data; anything else is a bug.
		panic(fmt.Sprintf("upgrade: state is not JSON data: %v", err))
	}
	return string(data)
}

// version parses a version as environments write them: "1.34.4", "v1.1.0", "26.03".
func version(v any) (*semver.Version, bool) {
	s, ok := v.(string)
	if !ok {
		return nil, false
	}
	parsed, err := semver.NewVersion(s)
	return parsed, err == nil
}

// minorOf is a version's major*1000+minor, the order of Kubernetes minors.
func minorOf(v *semver.Version) int { return int(v.Major())*1000 + int(v.Minor()) }

// show writes a field's value for people: "(unset)" when there is none.
func show(v any) string {
	if v == nil {
		return "(unset)"
	}
	return fmt.Sprint(v)
}

// Same reports whether two states are equal, and names the first field
// that differs when they are not.
func Same(a, b State) (string, bool) {
	if a.key() == b.key() {
		return "", true
	}
	return firstDiff(map[string]any(a), map[string]any(b), ""), false
}

func firstDiff(a, b any, path string) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return path
	}
	for _, k := range slices.Sorted(maps.Keys(am)) {
		p := strings.TrimPrefix(path+"."+k, ".")
		if _, ok := bm[k]; !ok {
			return p
		}
		if State(map[string]any{"v": am[k]}).key() != State(map[string]any{"v": bm[k]}).key() {
			return firstDiff(am[k], bm[k], p)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(bm)) {
		if _, ok := am[k]; !ok {
			return strings.TrimPrefix(path+"."+k, ".")
		}
	}
	return path
}
