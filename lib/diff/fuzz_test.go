package diff_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/diff"
)

// secretMarker starts every Secret value FuzzCompareMasks makes. Nothing
// else it makes can contain it: other strings are lower-case.
const secretMarker = "s3cr3t-VALUE-"

// fuzzGen turns the fuzzer's bytes into choices; past the end, every
// choice is 0.
type fuzzGen struct {
	data []byte
	// values are the Secret values made so far.
	values []string
}

func (g *fuzzGen) intn(n int) int {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return int(b) % n
}

// str is a short string of characters that matter to the renderers, but
// no upper case.
func (g *fuzzGen) str() string {
	const alphabet = "abcxyz019-.:/ \n\t`<>@|&#*_[]{}\"'\\\x1b\u202e"
	var b strings.Builder
	for n := g.intn(8); n > 0; n-- {
		r := []rune(alphabet)
		b.WriteRune(r[g.intn(len(r))])
	}
	return b.String()
}

func (g *fuzzGen) pick(s ...string) string { return s[g.intn(len(s))] }

// secretValue makes a new Secret value.
func (g *fuzzGen) secretValue() string {
	v := secretMarker + fmt.Sprint(len(g.values)) + g.pick("", "x", "0123456789abcdef", "\n", "==")
	g.values = append(g.values, v)
	return v
}

// secretEntry puts a new value for key in data (base64 or not) or
// stringData.
func (g *fuzzGen) secretEntry(o map[string]interface{}, key string) {
	v := g.secretValue()
	switch g.intn(3) {
	case 0:
		mapField(o, "data")[key] = base64.StdEncoding.EncodeToString([]byte(v))
	case 1:
		mapField(o, "data")[key] = v // not base64: compared as written
	default:
		mapField(o, "stringData")[key] = v
	}
}

func mapField(o map[string]interface{}, field string) map[string]interface{} {
	m, ok := o[field].(map[string]interface{})
	if !ok {
		m = map[string]interface{}{}
		o[field] = m
	}
	return m
}

// lastApplied is a last-applied-configuration annotation that holds a
// Secret value.
func (g *fuzzGen) lastApplied() string {
	return `{"kind":"Secret","stringData":{"k":"` + g.secretValue() + `"}}`
}

func (g *fuzzGen) object() map[string]interface{} {
	kind := g.pick("Secret", "Secret", "ConfigMap", "Deployment", "PersistentVolumeClaim", "Namespace")
	o := map[string]interface{}{
		"kind":     kind,
		"metadata": map[string]interface{}{"name": g.pick("a", "b", "c")},
	}
	if kind != "Namespace" {
		o["metadata"].(map[string]interface{})["namespace"] = g.pick("ns", "other")
	}
	switch kind {
	case "Secret":
		o["apiVersion"] = g.pick("v1", "v1", "v2beta1")
		for n := g.intn(4); n > 0; n-- {
			g.secretEntry(o, g.pick("k1", "k2", "k3"))
		}
		if g.intn(3) == 0 {
			o["type"] = g.pick("Opaque", "kubernetes.io/tls")
		}
		if g.intn(4) == 0 {
			o["immutable"] = true
		}
		if g.intn(5) == 0 {
			o[g.pick("extra", "spec")] = map[string]interface{}{"v": g.secretValue()}
		}
	case "Deployment":
		o["apiVersion"] = g.pick("apps/v1", "apps/v1beta2")
		o["spec"] = map[string]interface{}{
			"selector": map[string]interface{}{"app": g.str()},
			"template": map[string]interface{}{"spec": map[string]interface{}{"containers": []interface{}{
				map[string]interface{}{"name": "c", "image": g.str(), "resources": map[string]interface{}{
					"limits": map[string]interface{}{g.pick("cpu", "nvidia.com/gpu"): "1"}}},
			}}},
		}
	case "PersistentVolumeClaim":
		o["apiVersion"] = "v1"
		o["spec"] = map[string]interface{}{"storageClassName": g.str(),
			"resources": map[string]interface{}{"requests": map[string]interface{}{"storage": g.pick("1Gi", "2Gi", "x")}}}
	default:
		o["apiVersion"] = "v1"
		if kind == "ConfigMap" {
			o["data"] = map[string]interface{}{g.str(): g.str()}
			if g.intn(4) == 0 {
				o["immutable"] = true
			}
		}
	}
	g.decorate(o)
	return o
}

// decorate adds labels and annotations, possibly a last-applied
// annotation with a Secret value.
func (g *fuzzGen) decorate(o map[string]interface{}) {
	md := o["metadata"].(map[string]interface{})
	if g.intn(2) == 0 {
		md["labels"] = map[string]interface{}{g.str(): g.str()}
	}
	if g.intn(3) == 0 {
		ann := map[string]interface{}{}
		if g.intn(2) == 0 {
			ann["kubectl.kubernetes.io/last-applied-configuration"] = g.lastApplied()
		}
		if g.intn(2) == 0 {
			ann[g.str()] = g.str()
		}
		md["annotations"] = ann
	}
}

// mutate changes o in place.
func (g *fuzzGen) mutate(o map[string]interface{}) {
	switch g.intn(7) {
	case 0:
		if o["kind"] == "Secret" {
			g.secretEntry(o, g.pick("k1", "k2", "k3"))
		}
	case 1: // move a value from data to stringData, or back, unchanged
		data, _ := o["data"].(map[string]interface{})
		for k, v := range data {
			if dec, err := base64.StdEncoding.Strict().DecodeString(v.(string)); err == nil {
				delete(data, k)
				mapField(o, "stringData")[k] = string(dec)
			}
			break
		}
	case 2:
		delete(o, g.pick("data", "stringData", "type", "immutable", "spec"))
	case 3:
		md := o["metadata"].(map[string]interface{})
		md["labels"] = map[string]interface{}{g.str(): g.str()}
	case 4:
		md := o["metadata"].(map[string]interface{})
		md["annotations"] = map[string]interface{}{"kubectl.kubernetes.io/last-applied-configuration": g.lastApplied()}
	case 5:
		if o["kind"] == "Deployment" {
			o["apiVersion"] = g.pick("apps/v1", "apps/v1beta2")
		} else if o["kind"] == "Secret" {
			o["apiVersion"] = g.pick("v1", "v2beta1")
		}
	default:
		if o["kind"] != "Secret" {
			o["spec"] = map[string]interface{}{"x": g.str()}
		}
	}
}

// fuzzInput makes the two revisions of up to two environments, the head
// a mutation of the base.
func fuzzInput(data []byte) (diff.Input, []string) {
	g := &fuzzGen{data: data}
	base := diff.Rendered{}
	seen := map[string]bool{}
	for _, env := range []string{"e1", "e2"} {
		if g.intn(4) == 0 {
			continue
		}
		base[env] = map[string][]*unstructuredT{}
		for n := g.intn(6); n > 0; n-- {
			o := g.object()
			k := env + "|" + idKey(o)
			if seen[k] {
				continue
			}
			seen[k] = true
			comp := g.pick("c1", "c2")
			base[env][comp] = append(base[env][comp], &unstructuredT{Object: o})
		}
	}
	head := diff.Rendered{}
	for env, comps := range base {
		head[env] = map[string][]*unstructuredT{}
		for comp, objs := range comps {
			for _, o := range objs {
				head[env][comp] = append(head[env][comp], &unstructuredT{Object: deepCopy(o.Object)})
			}
		}
	}
	for n := g.intn(5); n > 0; n-- {
		env := g.pick("e1", "e2")
		comps, ok := head[env]
		switch op := g.intn(6); {
		case !ok || op == 0: // add or drop an environment
			if ok {
				delete(head, env)
			} else {
				head[env] = map[string][]*unstructuredT{"c1": {{Object: g.object()}}}
			}
		case op == 1: // add an object
			o := g.object()
			k := idKey(o)
			dup := false
			for _, objs := range comps {
				for _, x := range objs {
					dup = dup || idKey(x.Object) == k
				}
			}
			if !dup {
				comp := g.pick("c1", "c2")
				comps[comp] = append(comps[comp], &unstructuredT{Object: o})
			}
		default: // remove, move or change an object
			comp := g.pick("c1", "c2")
			objs := comps[comp]
			if len(objs) == 0 {
				continue
			}
			i := g.intn(len(objs))
			switch op {
			case 2:
				comps[comp] = append(objs[:i:i], objs[i+1:]...)
			case 3:
				other := map[string]string{"c1": "c2", "c2": "c1"}[comp]
				comps[other] = append(comps[other], objs[i])
				comps[comp] = append(objs[:i:i], objs[i+1:]...)
			default:
				g.mutate(objs[i].Object)
			}
		}
	}
	in := diff.Input{Base: base, Head: head, BaseRef: "base", HeadRef: "head"}
	if g.intn(2) == 0 {
		in.HeadWarnings = map[string][]diff.Warning{"e1": {{Rule: "R" + g.str(), Text: g.str()}}}
	}
	return in, g.values
}

func idKey(o map[string]interface{}) string {
	u := unstructuredT{Object: o}
	group := ""
	if i := strings.LastIndex(u.GetAPIVersion(), "/"); i >= 0 {
		group = u.GetAPIVersion()[:i]
	}
	return group + "|" + u.GetKind() + "|" + u.GetNamespace() + "|" + u.GetName()
}

func deepCopy(o map[string]interface{}) map[string]interface{} {
	b, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	var c map[string]interface{}
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}

// normalised is the form of an object two revisions are compared in, as
// the package documentation defines it, written independently of the
// package: last-applied-configuration dropped; for a Secret, the fields
// with their keys but no values, plus the effective values by key.
func normalised(o map[string]interface{}) string {
	c := deepCopy(o)
	md, _ := c["metadata"].(map[string]interface{})
	if ann, ok := md["annotations"].(map[string]interface{}); ok {
		if _, found := ann["kubectl.kubernetes.io/last-applied-configuration"]; found {
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	apiVersion, _ := c["apiVersion"].(string)
	if c["kind"] != "Secret" || strings.Contains(apiVersion, "/") {
		b, _ := json.Marshal(c)
		return string(b)
	}
	eff := map[string]string{}
	for _, field := range []string{"data", "stringData"} {
		m, _ := c[field].(map[string]interface{})
		for k, v := range m {
			s := v.(string)
			if field == "stringData" {
				eff[k] = "bytes " + s
			} else if dec, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
				eff[k] = "bytes " + string(dec)
			} else {
				eff[k] = "text " + s
			}
			m[k] = ""
		}
	}
	for k, v := range c {
		switch k {
		case "apiVersion", "kind", "metadata", "type", "immutable", "data", "stringData":
		default:
			b, _ := json.Marshal(v)
			eff["("+k+")"] = string(b)
			delete(c, k)
		}
	}
	b, _ := json.Marshal([]interface{}{c, eff})
	return string(b)
}

// wantChanged reports whether the revisions differ, per normalised.
func wantChanged(in diff.Input) bool {
	index := func(r diff.Rendered) map[string]map[string]string {
		m := map[string]map[string]string{}
		for env, comps := range r {
			m[env] = map[string]string{}
			for comp, objs := range comps {
				for _, o := range objs {
					m[env][idKey(o.Object)] = comp + " " + normalised(o.Object)
				}
			}
		}
		return m
	}
	b, h := index(in.Base), index(in.Head)
	if len(b) != len(h) {
		return true
	}
	for env, bo := range b {
		ho, ok := h[env]
		if !ok || len(bo) != len(ho) {
			return true
		}
		for k, v := range bo {
			if ho[k] != v {
				return true
			}
		}
	}
	return false
}

func FuzzCompareMasks(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x02\x00\x03\x00\x01\x02\x00\x01\x05\x04\x02\x03\x01\x00"))
	f.Add(bytes.Repeat([]byte{1, 0, 3, 2}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, values := fuzzInput(data)
		want := wantChanged(in)
		r := diff.Compare(in)
		if r.Changed() != want {
			var j bytes.Buffer
			_ = r.WriteJSON(&j)
			t.Fatalf("Changed() = %v, want %v\n%s", r.Changed(), want, j.String())
		}
		var outs []string
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
		b.Reset()
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
		for _, limit := range []int{0, diff.GitHubCommentLimit, 700} {
			b.Reset()
			if err := r.WriteMarkdown(&b, limit); err != nil {
				t.Fatal(err)
			}
			if limit > 0 && b.Len() > limit {
				t.Fatalf("markdown of %d bytes, limit %d", b.Len(), limit)
			}
			outs = append(outs, b.String())
		}
		for _, n := range r.Notes {
			outs = append(outs, fmt.Sprintf("%+v", n))
		}
		for _, out := range outs {
			if strings.Contains(out, secretMarker) {
				t.Fatalf("output shows a secret value:\n%s", out)
			}
			for _, v := range values {
				enc := base64.StdEncoding.EncodeToString([]byte(v))
				if strings.Contains(out, strings.TrimRight(enc, "=")) {
					t.Fatalf("output shows secret value %q in base64:\n%s", v, out)
				}
			}
		}
	})
}
