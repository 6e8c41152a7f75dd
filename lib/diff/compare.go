package diff

import (
	"cmp"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// key identifies an object within an environment: its identity without
// the version.
type key struct {
	group, kind, namespace, name string
}

// entry is one object of one revision of an environment.
type entry struct {
	component string
	obj       *unstructured.Unstructured
	id        manifest.ID
}

// Compare compares the rendered environments of in.Base and in.Head and
// returns the change, with its impact notes. It never fails: see the
// package documentation for how objects are matched, what counts as a
// change and how Secrets are masked.
func Compare(in Input) *Report {
	r := &Report{
		Base:         in.BaseRef,
		Head:         in.HeadRef,
		Notes:        []Note{},
		Environments: []Environment{},
	}
	for _, name := range slices.Sorted(maps.Keys(in.Failed)) {
		r.Failed = append(r.Failed, Failure{Name: name, Error: firstLine(in.Failed[name])})
	}
	for _, name := range unionKeys(in.Base, in.Head) {
		if _, failed := in.Failed[name]; failed {
			continue
		}
		base, inBase := in.Base[name]
		head, inHead := in.Head[name]
		env, notes := compareEnvironment(name, base, head, inBase, inHead)
		r.Environments = append(r.Environments, env)
		r.Notes = append(r.Notes, notes...)
	}
	r.Notes = append(r.Notes, compatibilityNotes(withoutFailed(in.BaseWarnings, in.Failed), withoutFailed(in.HeadWarnings, in.Failed))...)
	sortNotes(r.Notes)

	r.Summary.Environments = len(r.Environments)
	for _, e := range r.Environments {
		if e.Status != StatusUnchanged {
			r.Summary.EnvironmentsChanged++
		}
		r.Summary.Added += e.Added
		r.Summary.Changed += e.Changed
		r.Summary.Removed += e.Removed
	}
	for _, n := range r.Notes {
		switch n.Severity {
		case SeverityDanger:
			r.Summary.Danger++
		case SeverityWarning:
			r.Summary.Warning++
		default:
			r.Summary.Info++
		}
	}
	return r
}

// firstLine is the first line of s.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// withoutFailed is warnings without the failed environments'.
func withoutFailed(warnings map[string][]Warning, failed map[string]string) map[string][]Warning {
	if len(failed) == 0 {
		return warnings
	}
	out := make(map[string][]Warning, len(warnings))
	for name, w := range warnings {
		if _, ok := failed[name]; !ok {
			out[name] = w
		}
	}
	return out
}

// unionKeys returns the keys of a and b, sorted.
func unionKeys[V any](a, b map[string]V) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var keys []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// unionObjectKeys returns the keys of a and b, sorted.
func unionObjectKeys(a, b map[key][]entry) []key {
	keys := make([]key, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, found := a[k]; !found {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := keys[i], keys[j]
		return cmp.Or(
			cmp.Compare(x.group, y.group),
			cmp.Compare(x.kind, y.kind),
			cmp.Compare(x.namespace, y.namespace),
			cmp.Compare(x.name, y.name),
		) < 0
	})
	return keys
}

// entries lists the objects of an environment by key, in component-name
// and list order.
func entries(env map[string][]*unstructured.Unstructured) map[key][]entry {
	byKey := make(map[key][]entry)
	comps := make([]string, 0, len(env))
	for c := range env {
		comps = append(comps, c)
	}
	sort.Strings(comps)
	for _, c := range comps {
		for _, o := range env[c] {
			if o == nil {
				continue
			}
			id := manifest.IDOf(o)
			k := key{id.Group, id.Kind, id.Namespace, id.Name}
			byKey[k] = append(byKey[k], entry{component: c, obj: o, id: id})
		}
	}
	return byKey
}

// compareEnvironment compares one environment of the two revisions.
func compareEnvironment(name string, base, head map[string][]*unstructured.Unstructured, inBase, inHead bool) (Environment, []Note) {
	env := Environment{Name: name, Components: []Component{}}
	var notes []Note
	baseByKey, headByKey := entries(base), entries(head)

	comps := make(map[string]*Component)
	add := func(component string, o Object) {
		c := comps[component]
		if c == nil {
			_, inB := base[component]
			_, inH := head[component]
			status := StatusChanged
			switch {
			case !inB:
				status = StatusAdded
			case !inH:
				status = StatusRemoved
			}
			c = &Component{Name: component, Status: status, Objects: []Object{}}
			comps[component] = c
		}
		c.Objects = append(c.Objects, o)
		switch o.Action {
		case ActionAdded:
			c.Added++
			env.Added++
		case ActionChanged:
			c.Changed++
			env.Changed++
		default:
			c.Removed++
			env.Removed++
		}
	}

	var jobs []*compareJob
	for _, k := range unionObjectKeys(baseByKey, headByKey) {
		bs, hs := baseByKey[k], headByKey[k]
		pairs, onlyBase, onlyHead := pair(bs, hs)
		for _, p := range pairs {
			jobs = append(jobs, &compareJob{base: p[0], head: p[1]})
		}
		for _, b := range onlyBase {
			o := newObject(b, ActionRemoved)
			if isSecret(b.id) {
				o.SecretKeys = compareSecretValues(secretValues(b.obj.Object), nil)
			}
			add(b.component, o)
			notes = append(notes, removalNotes(name, b)...)
		}
		for _, h := range onlyHead {
			o := newObject(h, ActionAdded)
			if isSecret(h.id) {
				o.SecretKeys = compareSecretValues(nil, secretValues(h.obj.Object))
			}
			add(h.component, o)
		}
	}

	runJobs(jobs)
	for _, j := range jobs {
		if j.ok {
			add(j.head.component, j.out)
			notes = append(notes, changeNotes(name, j.base, j.head, j.out)...)
		}
	}

	names := make([]string, 0, len(comps))
	for n := range comps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := comps[n]
		sort.SliceStable(c.Objects, func(i, j int) bool {
			a, b := c.Objects[i], c.Objects[j]
			if ra, rb := actionRank[a.Action], actionRank[b.Action]; ra != rb {
				return ra < rb
			}
			if a.ID != b.ID {
				return a.ID < b.ID
			}
			return a.APIVersion < b.APIVersion
		})
		env.Components = append(env.Components, *c)
	}

	switch {
	case inBase && !inHead:
		env.Status = StatusRemoved
		notes = append(notes, environmentRemovedNote(name, env.Removed))
	case !inBase && inHead:
		env.Status = StatusAdded
	case len(env.Components) > 0:
		env.Status = StatusChanged
	default:
		env.Status = StatusUnchanged
	}
	return env, notes
}

// actionRank orders the objects of a component: removed, changed, added.
var actionRank = map[string]int{ActionRemoved: 0, ActionChanged: 1, ActionAdded: 2}

// pair matches the occurrences of one identity in the two revisions:
// within the same component first, then in order. Normally each list has
// at most one element.
func pair(bs, hs []entry) (pairs [][2]entry, onlyBase, onlyHead []entry) {
	usedB := make([]bool, len(bs))
	usedH := make([]bool, len(hs))
	for j, h := range hs {
		for i, b := range bs {
			if !usedB[i] && b.component == h.component {
				usedB[i], usedH[j] = true, true
				pairs = append(pairs, [2]entry{b, h})
				break
			}
		}
	}
	i := 0
	for j, h := range hs {
		if usedH[j] {
			continue
		}
		for i < len(bs) && usedB[i] {
			i++
		}
		if i == len(bs) {
			onlyHead = append(onlyHead, h)
			continue
		}
		usedB[i], usedH[j] = true, true
		pairs = append(pairs, [2]entry{bs[i], h})
	}
	for i, b := range bs {
		if !usedB[i] {
			onlyBase = append(onlyBase, b)
		}
	}
	return pairs, onlyBase, onlyHead
}

// compareJob is the comparison of the two revisions of one object.
type compareJob struct {
	base, head entry
	out        Object
	ok         bool
}

// runJobs runs [compareObjects] for every job, GOMAXPROCS at a time:
// encoding objects as YAML is most of the time Compare takes.
func runJobs(jobs []*compareJob) {
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			j.out, j.ok = compareObjects(j.base, j.head)
		})
	}
	wg.Wait()
}

// newObject describes the object of e, without a diff.
func newObject(e entry, action string) Object {
	return Object{
		ID:         e.id.String(),
		Kind:       e.id.Kind,
		Namespace:  e.id.Namespace,
		Name:       e.id.Name,
		APIVersion: e.obj.GetAPIVersion(),
		Action:     action,
	}
}

// compareObjects compares the two revisions of one object and returns its
// change, with ok false when there is none.
func compareObjects(b, h entry) (Object, bool) {
	moved := b.component != h.component
	if !moved && reflect.DeepEqual(b.obj.Object, h.obj.Object) {
		return Object{}, false
	}
	secret := isSecret(h.id)
	var keys *SecretKeys
	if secret {
		keys = compareSecretValues(secretValues(b.obj.Object), secretValues(h.obj.Object))
	}
	name := clean(h.id.String())
	d := unified(
		canonicalYAML(masked(b.obj.Object, secret)),
		canonicalYAML(masked(h.obj.Object, secret)),
		"base/"+name, "head/"+name)
	if d == "" && keys == nil && !moved {
		return Object{}, false
	}
	o := newObject(h, ActionChanged)
	o.Diff = d
	o.SecretKeys = keys
	if moved {
		o.MovedFrom = b.component
	}
	return o, true
}

// ObjectDiff returns the unified diff (3 lines of context) of two versions
// of one object's canonical YAML, labelled from and to, with Secret values
// masked, and for a Secret the keys whose values changed (nil otherwise).
// Apply's plan and drift reports show changes with it.
func ObjectDiff(before, after *unstructured.Unstructured, from, to string) (string, *SecretKeys) {
	id := manifest.IDOf(after)
	secret := isSecret(id)
	var keys *SecretKeys
	if secret {
		keys = compareSecretValues(secretValues(before.Object), secretValues(after.Object))
	}
	return unified(canonicalYAML(masked(before.Object, secret)), canonicalYAML(masked(after.Object, secret)), from, to), keys
}
