package apicheck

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzCheck: any JSON object, of any built-in kind, is checked without a
// panic, and no problem of a Secret quotes a string of its data.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"c2VjcmV0"}}`,
		`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"secret value"}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"x","template":{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"z"}}}]}}}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","creationTimestamp":"yesterday"},"spec":{"containers":[[1]]}}`,
		`{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"c"},"spec":{"jobTemplate":{"spec":{"template":7}}}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var m map[string]any
		if json.Unmarshal([]byte(src), &m) != nil {
			return
		}
		if _, ok := m["apiVersion"].(string); !ok {
			return
		}
		if _, ok := m["kind"].(string); !ok {
			return
		}
		o := &unstructured.Unstructured{Object: m}
		ps := Check(o)
		if o.GetAPIVersion() != "v1" || o.GetKind() != "Secret" {
			return
		}
		// The same object with every data string replaced: its problems hold
		// the same words, so a value that is one of them is no leak.
		data, _ := m["data"].(map[string]any)
		var masked map[string]any
		_ = json.Unmarshal([]byte(src), &masked)
		if md, ok := masked["data"].(map[string]any); ok {
			for k, v := range md {
				if _, ok := v.(string); ok {
					md[k] = "#"
				}
			}
		}
		vocabulary := ""
		for _, p := range Check(&unstructured.Unstructured{Object: masked}) {
			vocabulary += p.String() + "\n"
		}
		for _, p := range ps {
			for _, v := range data {
				if s, ok := v.(string); ok && len(s) > 3 && strings.Contains(p.Message+p.Hint, s) && !strings.Contains(vocabulary, s) {
					t.Fatalf("problem quotes the Secret's data %q: %s", s, p)
				}
			}
		}
	})
}
