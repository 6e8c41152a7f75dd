package cluster

import (
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// Why the live copy alone cannot show an object unchanged: the object
// then gets a server-side dry run (docs/architecture.md lists these).
const (
	// UndecidedManagers: plinth's field manager has no single Apply entry
	// for the object's API version (never applied by plinth, applied in
	// another version, or written by plinth's name with an update, as
	// kubectl edit --field-manager=plinth does).
	UndecidedManagers = "managers"
	// UndecidedFields: the fields plinth's entry owns, with their live
	// values, differ from the rendered object: a change (a field added,
	// removed, changed by plinth's name out of band, taken by another
	// manager), or a value the server stores in another form than the
	// one rendered (a mutating webhook, a normalisation not known here).
	UndecidedFields = "fields"
)

// Unchanged decides from cur, obj's live copy as listed, that applying obj
// as plinth would change nothing, without asking the server. It holds
// when plinth's field manager has exactly one entry in cur's managed
// fields, an Apply of obj's API version to the object itself, and the
// fields that entry owns, taken with their values from cur, equal obj
// after normalisation. That is server-side apply's own criterion: an
// apply changes the fields of its configuration whose values differ and
// removes the fields its manager owned that the configuration no longer
// has; fields nobody applied (server or CRD defaults) are owned by no
// applier and fields of other managers that plinth does not render are
// left alone, so neither counts. A field another manager changed has
// moved to that manager and so is missing from plinth's entry.
//
// Normalisation is only what the API server is known to do to what it
// stores: resource quantities in canonical form (under limits, requests,
// hard, capacity and the like: "0.5" is stored as "500m"), numbers of
// either JSON type, zero values typed objects omit (null, false, 0, "",
// {}, []), the defaults it puts inside atomic values plinth owns whole
// (atomicDefaults), and a status the object's status subresource makes
// an apply ignore. int-or-string values are stored as sent and compared
// as they are. Anything else that differs leaves the decision to a dry
// run: the reason says why ("" when unchanged). No schema is needed: the
// owned-field set says which lists are atomic (a leaf) and which are
// merged by key (k:), value (v:) or index (i:).
func Unchanged(obj, cur *unstructured.Unstructured) (bool, string) {
	var entry *metav1.ManagedFieldsEntry
	for i, mf := range cur.GetManagedFields() {
		if mf.Manager != manifest.FieldManager {
			continue
		}
		if entry != nil || mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "" ||
			mf.APIVersion != obj.GetAPIVersion() || mf.FieldsV1 == nil {
			return false, UndecidedManagers
		}
		entry = &cur.GetManagedFields()[i]
	}
	if entry == nil {
		return false, UndecidedManagers
	}
	var set map[string]any
	if err := json.Unmarshal(entry.FieldsV1.GetRawBytes(), &set); err != nil {
		return false, UndecidedManagers
	}
	owned, ok := extract(cur.Object, set)
	if !ok {
		return false, UndecidedFields
	}
	// Identity is not a field of the set: the list found cur by it.
	want := identityless(obj.Object)
	got, _ := owned.(map[string]any)
	delete(got, "apiVersion")
	delete(got, "kind")
	// A kind with a status subresource ignores the status of an apply
	// (plinth's entry then owns none); the status subresource shows in
	// the managers that write it.
	if _, owns := got["status"]; !owns && hasStatusSubresource(cur) {
		delete(want, "status")
	}
	if !same(want, got, "") {
		return false, UndecidedFields
	}
	return true, ""
}

// VerifyPlanVariable, set to anything but "", makes apply and drift
// dry-run also the objects Unchanged decided, and fail when the dry run
// disagrees. The test suites run so (lib/kubetest sets it); users may
// too, at the cost of a dry run per object.
const VerifyPlanVariable = "PLINTH_VERIFY_PLAN"

// VerifyPlan reports whether VerifyPlanVariable is set.
func VerifyPlan() bool { return os.Getenv(VerifyPlanVariable) != "" }

func hasStatusSubresource(cur *unstructured.Unstructured) bool {
	for _, mf := range cur.GetManagedFields() {
		if mf.Subresource == "status" {
			return true
		}
	}
	return false
}

// identityless returns o without apiVersion, kind, metadata.name and
// metadata.namespace (sharing the rest).
func identityless(o map[string]any) map[string]any {
	out := make(map[string]any, len(o))
	for k, v := range o {
		if k != "apiVersion" && k != "kind" {
			out[k] = v
		}
	}
	if md, ok := o["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			if k != "name" && k != "namespace" {
				m[k] = v
			}
		}
		out["metadata"] = m
	}
	return out
}

// extract returns the parts of v that the owned-field set holds, with v's
// values: a leaf of the set takes v's whole value (a scalar or an atomic
// map or list). ok is false for a set that does not fit v's shape.
func extract(v any, set map[string]any) (out any, ok bool) {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, child := range set {
			if k == "." {
				continue
			}
			name, isField := strings.CutPrefix(k, "f:")
			if !isField {
				return nil, false
			}
			val, present := v[name]
			if !present {
				continue
			}
			sub, _ := child.(map[string]any)
			if len(sub) == 0 {
				m[name] = val
				continue
			}
			if m[name], ok = extract(val, sub); !ok {
				return nil, false
			}
		}
		return m, true
	case []any:
		var items []any
		for i, item := range v {
			sub, owned := SetMember(set, item, i)
			if !owned {
				continue
			}
			if len(fieldsOf(sub)) == 0 {
				items = append(items, item)
				continue
			}
			x, ok := extract(item, sub)
			if !ok {
				return nil, false
			}
			items = append(items, x)
		}
		return items, true
	}
	return nil, false
}

// fieldsOf returns the set's members other than "." (the node itself).
func fieldsOf(set map[string]any) map[string]any {
	if _, self := set["."]; !self {
		return set
	}
	out := make(map[string]any, len(set))
	for k, v := range set {
		if k != "." {
			out[k] = v
		}
	}
	return out
}

// SetMember finds a managed-fields set's member for the list item at idx
// (FieldsV1: "i:<index>", "v:<value>", or "k:{<key fields>}" matched
// against the item's fields) and returns its own set.
func SetMember(set map[string]any, item any, idx int) (map[string]any, bool) {
	if n, ok := set["i:"+strconv.Itoa(idx)]; ok {
		sub, _ := n.(map[string]any)
		return sub, true
	}
	if data, err := json.Marshal(item); err == nil {
		if n, ok := set["v:"+string(data)]; ok {
			sub, _ := n.(map[string]any)
			return sub, true
		}
	}
	m, isMap := item.(map[string]any)
	if !isMap {
		return nil, false
	}
	for k, n := range set {
		key, isKey := strings.CutPrefix(k, "k:")
		if !isKey {
			continue
		}
		var fields map[string]any
		if json.Unmarshal([]byte(key), &fields) != nil || len(fields) == 0 {
			continue
		}
		match := true
		for fk, fv := range fields {
			if !scalarEqual(m[fk], fv) {
				match = false
				break
			}
		}
		if match {
			sub, _ := n.(map[string]any)
			return sub, true
		}
	}
	return nil, false
}

// same compares want (rendered) with got (owned fields, live values);
// key is the map key holding them (for a list item, the list's).
func same(want, got any, key string) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, present := g[k]
			switch {
			case zero(wv) && (!present || empty(gv)):
				// Typed objects do not store zero values (omitempty).
			case !present:
				return false
			case quantityMaps[key] || k == "sizeLimit":
				if !sameQuantity(wv, gv) {
					return false
				}
			case !same(wv, gv, k):
				return false
			}
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok && !isDefault(key, k, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range w {
			if !same(w[i], g[i], key) {
				return false
			}
		}
		return true
	}
	return scalarEqual(want, got)
}

// zero reports whether a rendered value is one that typed objects do not
// store (so it is absent from the live copy): null, false, 0, "", {}, [].
func zero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case string:
		return v == ""
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	n, ok := number(v)
	return ok && n == 0
}

// empty reports whether a live value is null, {} or [].
func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// atomicDefaults are the fields the API server defaults inside values
// that are atomic (owned whole by their applier, so the default shows in
// plinth's fields): by the key holding the value, the field and its
// default. An ObjectFieldSelector's apiVersion (env valueFrom.fieldRef,
// downward API volumes) and a NetworkPolicyPort's protocol.
var atomicDefaults = map[string]map[string]any{
	"fieldRef": {"apiVersion": "v1"},
	"ports":    {"protocol": "TCP"},
}

func isDefault(key, field string, v any) bool {
	d, ok := atomicDefaults[key][field]
	return ok && scalarEqual(d, v)
}

// sameQuantity compares a rendered resource quantity with the live one,
// which the server stores in canonical form ("0.5" as "500m").
func sameQuantity(want, got any) bool {
	if scalarEqual(want, got) {
		return true
	}
	// A number (cpu: 2) is sent as such and stored as a string.
	w, ok := want.(string)
	if f, isNum := number(want); isNum {
		w, ok = strconv.FormatFloat(f, 'f', -1, 64), true
	}
	if !ok {
		return false
	}
	g, ok := got.(string)
	if !ok {
		return false
	}
	q, err := resource.ParseQuantity(w)
	return err == nil && q.String() == g
}

// quantityMaps are the keys of maps whose values are resource quantities
// in the core kinds: resources' limits and requests, a ResourceQuota's
// hard and used, a LimitRange's bounds, a PV's capacity, a node's
// allocatable.
var quantityMaps = map[string]bool{
	"limits": true, "requests": true, "hard": true, "used": true, "capacity": true, "allocatable": true,
	"max": true, "min": true, "default": true, "defaultRequest": true, "maxLimitRequestRatio": true,
}

// scalarEqual compares JSON values, numbers by value whatever their Go type.
func scalarEqual(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}
