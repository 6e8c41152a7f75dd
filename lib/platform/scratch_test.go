package platform

import (
	"context"
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, name := range []string{"attempt1-okd311", "attempt2-okd4", "attempt3-final"} {
		env, err := Resolve("../../testdata/casestudy", name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Evaluate(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("==", name)
		for _, f := range p.Findings {
			fmt.Println(f)
		}
	}
}
