package diff_test

import (
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/diff"
	"github.com/plinth-platform/plinth/lib/manifest"
)

func mustParse(y string) []*unstructured.Unstructured {
	objs, err := manifest.Parse([]byte(y))
	if err != nil {
		panic(err)
	}
	return objs
}

func ExampleCompare() {
	base := diff.Rendered{"prod": {
		"pipelines": mustParse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: ml-pipeline, namespace: kubeflow}
spec:
  replicas: 1
  template:
    spec:
      containers: [{name: api, image: ml-pipeline/api-server:2.4.0}]
---
apiVersion: v1
kind: Secret
metadata: {name: mysql, namespace: kubeflow}
stringData: {password: hunter2}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: minio, namespace: kubeflow}
spec: {resources: {requests: {storage: 20Gi}}}
`),
	}}
	head := diff.Rendered{"prod": {
		"pipelines": mustParse(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: ml-pipeline, namespace: kubeflow}
spec:
  template:
    spec:
      containers: [{image: ml-pipeline/api-server:2.5.0, name: api}]
  replicas: 1
---
apiVersion: v1
kind: Secret
metadata: {name: mysql, namespace: kubeflow}
stringData: {password: correct-horse}
`),
	}}
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main (3f2a1c0)", HeadRef: "working tree"})
	fmt.Println("changed:", r.Changed())
	if err := r.WriteText(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// changed: true
	// danger: prod/pipelines: PersistentVolumeClaim/kubeflow/minio is deleted: data on it is deleted with it unless the PV's reclaim policy is Retain
	//
	// prod: changed (+0 ~2 -1)
	//   pipelines: changed (+0 ~2 -1)
	//     - PersistentVolumeClaim/kubeflow/minio
	//     ~ Deployment.apps/kubeflow/ml-pipeline
	//         --- base/Deployment.apps/kubeflow/ml-pipeline
	//         +++ head/Deployment.apps/kubeflow/ml-pipeline
	//         @@ -8,5 +8,5 @@
	//            template:
	//              spec:
	//                containers:
	//         -      - image: ml-pipeline/api-server:2.4.0
	//         +      - image: ml-pipeline/api-server:2.5.0
	//                  name: api
	//     ~ Secret/kubeflow/mysql
	//         secret keys: changed password
	// 1 of 1 environments changed: 0 added, 2 changed, 1 removed
}

func ExampleReport_WriteMarkdown() {
	base := diff.Rendered{"dev": {"monitoring": mustParse(`
apiVersion: v1
kind: ConfigMap
metadata: {name: grafana, namespace: monitoring}
data: {theme: light}
`)}}
	head := diff.Rendered{"dev": {"monitoring": mustParse(`
apiVersion: v1
kind: ConfigMap
metadata: {name: grafana, namespace: monitoring}
data: {theme: dark}
`)}}
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main (3f2a1c0)", HeadRef: "pr-42"})
	if err := r.WriteMarkdown(os.Stdout, diff.GitHubCommentLimit); err != nil {
		fmt.Println(err)
	}
	// Output:
	// ### plinth diff: 1 of 1 environment changed (0 added, 1 changed, 0 removed)
	//
	// Base: `main (3f2a1c0)` · Head: `pr-42`
	//
	// | Environment | Status | Added | Changed | Removed |
	// | --- | --- | ---: | ---: | ---: |
	// | `dev` | changed | 0 | 1 | 0 |
	//
	// #### `dev`
	//
	// <details><summary><code>monitoring</code>: +0 ~1 -0</summary>
	//
	// - changed `ConfigMap/monitoring/grafana`
	//
	// ```diff
	// --- base/ConfigMap/monitoring/grafana
	// +++ head/ConfigMap/monitoring/grafana
	// @@ -1,6 +1,6 @@
	//  apiVersion: v1
	//  data:
	// -  theme: light
	// +  theme: dark
	//  kind: ConfigMap
	//  metadata:
	//    name: grafana
	// ```
	//
	// </details>
}
