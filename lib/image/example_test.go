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

func ExampleMirrors() {
	// One Nexus proxy repository per upstream registry, a default for the rest.
	mirrors := image.Mirrors{
		Default:    "nexus.bank.local:8443",
		Registries: map[string]string{"nvcr.io": "nexus.bank.local:8444/nvidia"},
	}
	for _, s := range []string{"nvcr.io/nvidia/gpu-operator:v26.7.0", "quay.io/prometheus/prometheus:v3.5.0"} {
		ref, _ := image.Parse(s)
		pulled := mirrors.Pull(ref)
		fmt.Println(pulled, mirrors.Pull(pulled) == pulled, mirrors.Upstream(pulled))
	}
	// Output:
	// nexus.bank.local:8444/nvidia/nvidia/gpu-operator:v26.7.0 true nvcr.io/nvidia/gpu-operator:v26.7.0
	// nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0 true quay.io/prometheus/prometheus:v3.5.0
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
		return image.Mirrors{Default: "nexus.bank.local:8443"}.Pull(r)
	}))
	// Output:
	// --executor-image=nexus.bank.local:8443/quay.io/argoproj/argoexec:v3.7.3
}
