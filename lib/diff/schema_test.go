package diff_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/diff"
)

// TestSchemaExample keeps the example of SCHEMA.md true: it is the report
// of ExampleCompare's revisions, plus an unchanged environment.
func TestSchemaExample(t *testing.T) {
	doc, err := os.ReadFile("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "```json\n")
	want, _, ok2 := strings.Cut(after, "```\n")
	if !ok || !ok2 {
		t.Fatal("SCHEMA.md has no json block")
	}
	base := rendered(t, map[string]map[string]string{
		"dev": {"app": configMap},
		"prod": {"pipelines": `
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
`}})
	head := rendered(t, map[string]map[string]string{
		"dev": {"app": configMap},
		"prod": {"pipelines": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ml-pipeline, namespace: kubeflow}
spec:
  replicas: 1
  template:
    spec:
      containers: [{name: api, image: ml-pipeline/api-server:2.5.0}]
---
apiVersion: v1
kind: Secret
metadata: {name: mysql, namespace: kubeflow}
stringData: {password: correct-horse}
`}})
	r := diff.Compare(diff.Input{Base: base, Head: head, BaseRef: "main (3f2a1c0)", HeadRef: "working tree"})
	var got bytes.Buffer
	if err := r.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want {
		t.Errorf("SCHEMA.md example is out of date; the report is:\n%s", got.String())
	}
}
