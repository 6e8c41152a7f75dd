package apicheck

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// TestJSONLen: the measured length is json.Marshal's, byte for byte.
func TestJSONLen(t *testing.T) {
	for _, v := range []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "\b\f\n\r\t\x00\x01\x1f\x7f",
		"<script>&amp;</script>", "héllo wörld ☃ 🎉", "\u2028\u2029", "bad utf-8 \xff\xfe\xc3", "\xe2\x80",
		int64(0), int64(-9223372036854775808), int64(1234567890123),
		0.0, 1.5, -0.000001, 0.0000001, 1e20, 1e21, 123456789.125, 5e-324, math.MaxFloat64, -1e-9,
		map[string]any{}, []any{}, map[string]any{"a<b": []any{int64(1), "x", nil, map[string]any{"k": 2.5}}, "": false},
		[]string{"typed", "values"}, map[string]string{"fall": "back"}, int(7), int32(-3),
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := jsonLen(v); err != nil || got != len(want) {
			t.Errorf("%#v: jsonLen %d, %v; json.Marshal %d (%s)", v, got, err, len(want), want)
		}
	}
	for _, v := range []any{math.NaN(), math.Inf(1), map[string]any{"x": []any{math.Inf(-1)}}} {
		if _, err := jsonLen(v); err == nil {
			t.Errorf("%v: no error", v)
		}
	}
}

func BenchmarkSizeProd(b *testing.B) {
	files, _ := filepath.Glob("../../tmp/examples/deploy/prod/*.yaml")
	if len(files) == 0 {
		b.Skip("no tmp/examples/deploy/prod: run make examples")
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		o, err := manifest.Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, o...)
	}
	b.Run("jsonLen", func(b *testing.B) {
		for b.Loop() {
			for _, o := range objs {
				if ps := Size(o); len(ps) > 0 {
					b.Fatal(ps)
				}
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			for _, o := range objs {
				if _, err := json.Marshal(o.Object); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
