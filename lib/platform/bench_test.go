package platform

import (
	"context"
	"testing"
)

// BenchmarkEvaluateProd measures loading and checking the prod example
// in-process (no sandbox): schema, layering, unification and all rules.
func BenchmarkEvaluateProd(b *testing.B) {
	env, err := Resolve("../..", "prod")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		p, err := Evaluate(context.Background(), env)
		if err != nil || !p.Valid() {
			b.Fatalf("%v %v", err, p.Findings)
		}
	}
}
