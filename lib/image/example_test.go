package image_test

import (
	"fmt"

	"github.com/plinth-platform/plinth/lib/image"
)

func ExampleParse() {
	for _, s := range []string{"busybox:1.36", "quay.io/argoproj/argoexec:v3.7.3", "ghcr.io/kubeflow/kfp-driver"} {
		ref, err := image.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(ref)
	}
	_, err := image.Parse("Kubeflow/Notebook:v1")
	fmt.Println(err)
	// Output:
	// docker.io/library/busybox:1.36
	// quay.io/argoproj/argoexec:v3.7.3
	// ghcr.io/kubeflow/kfp-driver:latest
	// image "Kubeflow/Notebook:v1": invalid image reference: repository name must be lowercase
}

func ExampleMirror() {
	ref, _ := image.Parse("quay.io/prometheus/prometheus:v3.5.0")
	mirrored := image.Mirror(ref, "nexus.bank.local:8443")
	fmt.Println(mirrored)
	fmt.Println(image.Mirror(mirrored, "nexus.bank.local:8443") == mirrored)
	// Output:
	// nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0
	// true
}

func ExampleFind() {
	text := `runtime:
  suggestions:
    - algorithmName: random
      image: ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
  docs: https://github.com/kubeflow/katib
spawnerFormDefaults:
  image:
    options:
    - kubeflownotebookswg/jupyter-scipy:v1.10.0
`
	for _, m := range image.Find(text) {
		fmt.Println(m.Ref)
	}
	// Output:
	// ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
	// kubeflownotebookswg/jupyter-scipy:v1.10.0
}

func ExampleRewrite() {
	args := "--executor-image=quay.io/argoproj/argoexec:v3.7.3"
	fmt.Println(image.Rewrite(args, func(r image.Ref) image.Ref {
		return image.Mirror(r, "nexus.bank.local:8443")
	}))
	// Output:
	// --executor-image=nexus.bank.local:8443/quay.io/argoproj/argoexec:v3.7.3
}
