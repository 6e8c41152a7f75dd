package manifest

import (
	"reflect"
	"testing"
)

func TestContainers(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Container // without Fields
	}{
		{"Deployment", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      initContainers:
      - name: init
        image: busybox:1.36
      containers:
      - name: main
        image: ghcr.io/kubeflow/kfp-api-server:2.16.0
      - name: sidecar
        image: quay.io/brancz/kube-rbac-proxy:v0.19.1
`, []Container{
			{Path: "spec.template.spec.containers[0]", Name: "main", Image: "ghcr.io/kubeflow/kfp-api-server:2.16.0"},
			{Path: "spec.template.spec.containers[1]", Name: "sidecar", Image: "quay.io/brancz/kube-rbac-proxy:v0.19.1"},
			{Path: "spec.template.spec.initContainers[0]", Name: "init", Image: "busybox:1.36"},
		}},
		{"CronJob", `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: job, image: "alpine:3"}
`, []Container{{Path: "spec.jobTemplate.spec.template.spec.containers[0]", Name: "job", Image: "alpine:3"}}},
		{"Pod with ephemeral container", `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  ephemeralContainers:
  - {name: debug, image: "busybox"}
`, []Container{{Path: "spec.ephemeralContainers[0]", Name: "debug", Image: "busybox"}}},
		{"KServe ClusterServingRuntime", `apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata: {name: kserve-sklearnserver}
spec:
  containers:
  - name: kserve-container
    image: kserve/sklearnserver:v0.16.0
    args: ["--model_name={{.Name}}"]
`, []Container{{Path: "spec.containers[0]", Name: "kserve-container", Image: "kserve/sklearnserver:v0.16.0"}}},
		{"Argo WorkflowTemplate", `apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: w}
spec:
  templates:
  - name: a
    container: {image: "not/a-list:1"}
  - name: b
    initContainers:
    - {name: i, image: "x/y:1"}
`, []Container{{Path: "spec.templates[1].initContainers[0]", Name: "i", Image: "x/y:1"}}},
		{"odd keys and elements", `apiVersion: example.com/v1
kind: Thing
metadata: {name: t}
spec:
  "a.b":
    containers:
    - {name: ok, image: "x:1"}
    - {name: no-image}
    - "not an object"
    - {name: number, image: 3}
  containers: "not a list"
`, []Container{{Path: `spec["a.b"].containers[0]`, Name: "ok", Image: "x:1"}}},
		{"ConfigMap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {containers: \"- image: x\"}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := mustParse(t, tt.yaml)[0]
			var got []Container
			for _, c := range Containers(o) {
				if c.Fields["image"] != c.Image {
					t.Errorf("%s: Fields is not the container", c.Path)
				}
				c.Fields = nil
				got = append(got, c)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Containers =\n%+v\nwant\n%+v", got, tt.want)
			}
			// Every path leads back to its container.
			for _, c := range got {
				if err := SetImage(o, c.Path, "mirror/"+c.Image); err != nil {
					t.Errorf("SetImage(%s): %v", c.Path, err)
				}
			}
			for i, c := range Containers(o) {
				if c.Image != "mirror/"+got[i].Image {
					t.Errorf("after SetImage, %s has image %q", c.Path, c.Image)
				}
			}
		})
	}
}

func TestSetImageErrors(t *testing.T) {
	o := mustParse(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
      - {name: main, image: "a:1"}
      - {name: no-image}
`)[0]
	for _, path := range []string{
		"",
		"spec.template.spec.containers[2]",
		"spec.template.spec.containers[1]",
		"spec.template.spec.containers",
		"spec.template.spec.pods[0]",
		"spec.template.spec.containers[x]",
		"spec.template.spec.containers[0",
		"spec.template.spec.containers[-1]",
		".spec",
		`spec["template`,
		"metadata.name[0]",
		"metadata.name.x",
	} {
		if err := SetImage(o, path, "b:1"); err == nil {
			t.Errorf("SetImage(%q) succeeded", path)
		}
	}
	if got := Containers(o)[0].Image; got != "a:1" {
		t.Errorf("a failed SetImage changed the image to %q", got)
	}
}
