package manifest_test

import (
	"fmt"
	"os"

	"github.com/plinth-platform/plinth/lib/manifest"
)

func ExampleParse() {
	objs, err := manifest.Parse([]byte(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ml-pipeline
  namespace: kubeflow
---
# Source: a comment-only document is skipped
---
apiVersion: v1
kind: Namespace
metadata:
  name: kubeflow
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range objs {
		fmt.Println(manifest.IDOf(o))
	}

	_, err = manifest.Parse([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n"))
	fmt.Println(err)
	// Output:
	// Deployment.apps/kubeflow/ml-pipeline
	// Namespace/kubeflow
	// document 2 (line 5): missing kind
}

func ExampleSort() {
	objs, _ := manifest.Parse([]byte(`
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: katib.kubeflow.org}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: katib-controller, namespace: kubeflow}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: experiments.kubeflow.org}
---
apiVersion: v1
kind: Namespace
metadata: {name: kubeflow}
`))
	manifest.Sort(objs)
	for _, o := range objs {
		fmt.Println(manifest.IDOf(o))
	}
	// Output:
	// Namespace/kubeflow
	// CustomResourceDefinition.apiextensions.k8s.io/experiments.kubeflow.org
	// Deployment.apps/kubeflow/katib-controller
	// ValidatingWebhookConfiguration.admissionregistration.k8s.io/katib.kubeflow.org
}

func ExampleEncode() {
	objs, _ := manifest.Parse([]byte(`{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c", "namespace": "kubeflow"}, "data": {"b": "2", "a": "1"}}`))
	if err := manifest.Encode(os.Stdout, objs); err != nil {
		fmt.Println(err)
	}
	digest, _ := manifest.Digest(objs)
	fmt.Println(digest[:len("sha256:")])
	// Output:
	// apiVersion: v1
	// data:
	//   a: "1"
	//   b: "2"
	// kind: ConfigMap
	// metadata:
	//   name: c
	//   namespace: kubeflow
	// sha256:
}

func ExampleClusterScoped() {
	objs, _ := manifest.Parse([]byte(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterissuers.cert-manager.io}
spec:
  group: cert-manager.io
  names: {kind: ClusterIssuer, plural: clusterissuers}
  scope: Cluster
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: kubeflow-self-signing-issuer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: kubeflow}
`))
	scopes := manifest.CRDScopes(objs)
	for _, o := range objs[1:] {
		id := manifest.IDOf(o)
		fmt.Println(id, manifest.ClusterScoped(id, scopes))
	}
	// Output:
	// ClusterIssuer.cert-manager.io/kubeflow-self-signing-issuer true
	// Role.rbac.authorization.k8s.io/kubeflow/r false
}

func ExampleContainers() {
	objs, _ := manifest.Parse([]byte(`
apiVersion: batch/v1
kind: CronJob
metadata: {name: cleanup, namespace: kubeflow}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: cleanup
            image: busybox:1.36
`))
	o := objs[0]
	for _, c := range manifest.Containers(o) {
		fmt.Println(c.Path, c.Name, c.Image)
		if err := manifest.SetImage(o, c.Path, "nexus.bank.local:8443/docker.io/library/busybox:1.36"); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(manifest.Containers(o)[0].Image)
	// Output:
	// spec.jobTemplate.spec.template.spec.containers[0] cleanup busybox:1.36
	// nexus.bank.local:8443/docker.io/library/busybox:1.36
}
