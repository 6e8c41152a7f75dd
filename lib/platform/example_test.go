package platform_test

import (
	"context"
	"fmt"

	"github.com/plinth-platform/plinth/lib/platform"
)

// Evaluate the case study's second attempt: OKD 4 on two hosts with
// Argo's docker executor.
func ExampleEvaluate() {
	env, err := platform.Resolve("../../testdata/casestudy", "attempt2-okd4")
	if err != nil {
		panic(err)
	}
	p, err := platform.Evaluate(context.Background(), env)
	if err != nil {
		panic(err)
	}
	for _, f := range p.Findings {
		fmt.Println(f.Severity, f.Rule, f.Path)
	}
	fmt.Println("valid:", p.Valid())
	// Output:
	// error OCP-2 cluster.nodes.controlPlane
	// error ARGO-EXEC-1 components.kubeflow.pipelines.argoExecutor
	// warning KF-TOOL-1 components.kubeflow.version
	// valid: false
}
