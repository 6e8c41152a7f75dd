package policy_test

import (
	"fmt"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/policy"
)

func ExampleCheck() {
	objs, err := manifest.Parse([]byte(`
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: ml-pipeline, namespace: kubeflow}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: workflow-controller, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: workflow-controller
        image: nexus.bank.local:8443/quay.io/argoproj/workflow-controller:v3.7.3
        args: [--executor-image, quay.io/argoproj/argoexec:v3.7.3]
        env:
        - {name: UPDATE_URL, value: "https://api.github.com/repos/argoproj/argo-workflows"}
        resources:
          limits: {cpu: "1", memory: 1Gi}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	facts := policy.Facts{
		Environment:       "prod",
		KubernetesVersion: "1.34.4",
		AirGapped:         true,
		Mirrors:           []string{"nexus.bank.local:8443"},
		AllowedEgress:     []string{"nexus.bank.local", "*.bank.local"},
		RequireLimits:     true,
	}
	for _, v := range policy.Check(facts, []manifest.Component{{Name: "kubeflow", Objects: objs}}) {
		fmt.Println(v)
	}
	// Output:
	// prod/kubeflow: Deployment.apps/kubeflow/workflow-controller: EGRESS: connects to api.github.com, which the air-gapped environment does not allow: add it to network.allowedEgress or point to an internal mirror
	// prod/kubeflow: Deployment.apps/kubeflow/workflow-controller: IMAGE-MIRROR: image "quay.io/argoproj/argoexec:v3.7.3" at spec.template.spec.containers[0].args[1] is off the mirror: if a node pulls it, plinth's image locator misses this field (report it); if none does, add it to network.mirrors.allow with the reason
	// prod/kubeflow: PodDisruptionBudget.policy/kubeflow/ml-pipeline: API-REMOVED: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25; use policy/v1
}
