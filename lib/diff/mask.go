package diff

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// redacted replaces every value of a Secret in the YAML that is diffed.
const redacted = "<redacted>"

// lastApplied is the annotation kubectl apply leaves on objects: a JSON
// copy of the object, a Secret's values included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// secretPlainFields are the top-level fields of a Secret shown as they are;
// every other field's values are redacted.
var secretPlainFields = map[string]bool{
	"apiVersion": true,
	"kind":       true,
	"metadata":   true,
	"type":       true,
	"immutable":  true,
}

// isSecret reports whether id is a Secret of the core group. The kind is
// compared without regard to case, so a misspelt kind is masked too.
func isSecret(id manifest.ID) bool {
	return id.Group == "" && strings.EqualFold(id.Kind, "Secret")
}

// masked returns a copy of obj, as far as it changes it, fit to show: the
// last-applied-configuration annotation dropped (and an annotations map
// left empty by that), and for a Secret every value of every field but
// those in secretPlainFields replaced by [redacted]. obj is not modified.
func masked(obj map[string]interface{}, secret bool) map[string]interface{} {
	out := make(map[string]interface{}, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	if md, ok := obj["metadata"].(map[string]interface{}); ok {
		if ann, ok := md["annotations"].(map[string]interface{}); ok {
			if _, found := ann[lastApplied]; found {
				md2 := make(map[string]interface{}, len(md))
				for k, v := range md {
					md2[k] = v
				}
				ann2 := make(map[string]interface{}, len(ann))
				for k, v := range ann {
					if k != lastApplied {
						ann2[k] = v
					}
				}
				if len(ann2) == 0 {
					delete(md2, "annotations")
				} else {
					md2["annotations"] = ann2
				}
				out["metadata"] = md2
			}
		}
	}
	if secret {
		for k, v := range out {
			if !secretPlainFields[k] {
				out[k] = redactValue(v)
			}
		}
	}
	return out
}

// redactValue keeps the keys of a map and replaces every value by
// [redacted]; any other value but null is replaced whole.
func redactValue(v interface{}) interface{} {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]interface{}:
		out := make(map[string]interface{}, len(v))
		for k := range v {
			out[k] = redacted
		}
		return out
	default:
		return redacted
	}
}

// canonicalYAML encodes obj as [manifest.Encode] does. An object that
// cannot be encoded (a value JSON cannot represent: it does not come from
// parsing) gives a fixed line, which says nothing about its content.
func canonicalYAML(obj map[string]interface{}) string {
	var buf bytes.Buffer
	if err := manifest.Encode(&buf, []*unstructured.Unstructured{{Object: obj}}); err != nil {
		return "# the object cannot be encoded as YAML\n"
	}
	return buf.String()
}

// secretValues returns the effective values of a Secret, by key: the
// base64-decoded bytes of data (as written when they are not valid
// standard base64), overridden by the bytes of stringData, as the API
// server merges them. Values are tagged so that a decoded value never
// equals an undecodable one. A data or stringData that is not a map, and
// any top-level field a Secret does not have (its values are masked too),
// count as one key named after the field in parentheses: "(data)",
// "(extra)". The values must never be shown.
func secretValues(obj map[string]interface{}) map[string]string {
	vals := make(map[string]string)
	for k, v := range obj {
		if !secretPlainFields[k] && k != "data" && k != "stringData" {
			vals["("+k+")"] = "j:" + jsonOf(v)
		}
	}
	for _, field := range []string{"data", "stringData"} {
		v, found := obj[field]
		if !found || v == nil {
			continue
		}
		m, ok := v.(map[string]interface{})
		if !ok {
			vals["("+field+")"] = "j:" + jsonOf(v)
			continue
		}
		for k, val := range m {
			s, isString := val.(string)
			switch {
			case !isString:
				vals[k] = "j:" + jsonOf(val)
			case field == "stringData":
				vals[k] = "b:" + s
			default:
				if dec, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
					vals[k] = "b:" + string(dec)
				} else {
					vals[k] = "r:" + s
				}
			}
		}
	}
	return vals
}

// jsonOf encodes v for comparison only.
func jsonOf(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!"
	}
	return string(b)
}

// compareSecretValues returns the keys added, removed and changed from
// base to head, or nil when none.
func compareSecretValues(base, head map[string]string) *SecretKeys {
	sk := &SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{}}
	for k, hv := range head {
		bv, found := base[k]
		switch {
		case !found:
			sk.Added = append(sk.Added, k)
		case bv != hv:
			sk.Changed = append(sk.Changed, k)
		}
	}
	for k := range base {
		if _, found := head[k]; !found {
			sk.Removed = append(sk.Removed, k)
		}
	}
	if len(sk.Added)+len(sk.Removed)+len(sk.Changed) == 0 {
		return nil
	}
	sort.Strings(sk.Added)
	sort.Strings(sk.Removed)
	sort.Strings(sk.Changed)
	return sk
}
