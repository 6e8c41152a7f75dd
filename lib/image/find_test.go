package image

import (
	"reflect"
	"testing"
)

// Snippets from the Kubeflow manifests (kubeflow/manifests, shared fixtures)
// and older releases.
const (
	katibConfig = `apiVersion: config.kubeflow.org/v1beta1
kind: KatibConfig
init:
  controller:
    webhookPort: 8443
    trialResources:
      - TrainJob.v1alpha1.trainer.kubeflow.org
      - Job.v1.batch
runtime:
  metricsCollectors:
    - kind: StdOut
      image: ghcr.io/kubeflow/katib/file-metrics-collector:v0.18.0
  suggestions:
    - algorithmName: random
      image: ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
    - algorithmName: pbt
      image: ghcr.io/kubeflow/katib/suggestion-pbt:v0.18.0
      persistentVolumeClaimSpec:
        accessModes:
          - ReadWriteMany
`
	// Kubeflow 1.7's spawner_ui_config.yaml: images on docker.io, no registry.
	spawnerUIConfig = `spawnerFormDefaults:
  image:
    # the default container image
    value: kubeflownotebookswg/jupyter-scipy:v1.10.0

    # the list of available container images in the dropdown
    options:
    - kubeflownotebookswg/jupyter-scipy:v1.10.0
    - kubeflownotebookswg/jupyter-pytorch-full:v1.10.0
  imageGroupOne:
    value: kubeflownotebookswg/codeserver-python:v1.10.0
    options:
      - "kubeflownotebookswg/codeserver-python:v1.10.0"
  imagePullPolicy:
    readOnly: false
    value: IfNotPresent
  allowCustomImage: true
  gpus:
    value:
      vendors:
      - limitsKey: nvidia.com/gpu
        uiName: NVIDIA
`
	// KServe's inferenceservice-config: JSON inside ConfigMap data.
	kserveAgent = `{
    "image" : "kserve/agent:v0.16.0",
    "memoryRequest": "100Mi",
    "cpuLimit": "1"
}`
	kserveExplainers = `{
    "art": {
        "image" : "kserve/art-explainer",
        "defaultImageVersion": "latest"
    }
}`
)

func TestFind(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"katib-config", katibConfig, []string{
			"ghcr.io/kubeflow/katib/file-metrics-collector:v0.18.0",
			"ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0",
			"ghcr.io/kubeflow/katib/suggestion-pbt:v0.18.0",
		}},
		{"spawner_ui_config", spawnerUIConfig, []string{
			"kubeflownotebookswg/jupyter-scipy:v1.10.0",
			"kubeflownotebookswg/jupyter-scipy:v1.10.0",
			"kubeflownotebookswg/jupyter-pytorch-full:v1.10.0",
			"kubeflownotebookswg/codeserver-python:v1.10.0",
			"kubeflownotebookswg/codeserver-python:v1.10.0",
		}},
		{"kserve agent JSON", kserveAgent, []string{"kserve/agent:v0.16.0"}},
		{"kserve explainer without tag", kserveExplainers, nil},
		{"argo arg with =", "--executor-image=quay.io/argoproj/argoexec:v3.7.3", []string{"quay.io/argoproj/argoexec:v3.7.3"}},
		{"argo separate arg", "quay.io/argoproj/argoexec:v3.7.3", []string{"quay.io/argoproj/argoexec:v3.7.3"}},
		{"argo flag then value", "--executor-image quay.io/argoproj/argoexec:v3.7.3", []string{"quay.io/argoproj/argoexec:v3.7.3"}},
		{"argo flag then value, no registry", "--executor-image argoproj/argoexec:v3.3.8", []string{"argoproj/argoexec:v3.3.8"}},
		{"kfp env", "V2_DRIVER_IMAGE=ghcr.io/kubeflow/kfp-driver:2.16.0", []string{"ghcr.io/kubeflow/kfp-driver:2.16.0"}},
		{"kfp env value", "ghcr.io/kubeflow/kfp-launcher:2.16.0", []string{"ghcr.io/kubeflow/kfp-launcher:2.16.0"}},
		{"kfctl params.env", "executorImage=argoproj/argoexec:v2.3.0\ncontainerRuntimeExecutor=docker\n", []string{"argoproj/argoexec:v2.3.0"}},
		{"json with registry", `{"image": "docker.io/seldonio/mlserver:1.6.1", "port": 8080}`, []string{"docker.io/seldonio/mlserver:1.6.1"}},
		{"digest", "image: gcr.io/ml-pipeline/frontend@" + sha, []string{"gcr.io/ml-pipeline/frontend@" + sha}},
		{"tag and digest", `"nvcr.io/nvidia/tritonserver:23.05-py3@` + sha + `"`, []string{"nvcr.io/nvidia/tritonserver:23.05-py3@" + sha}},
		{"subdomains of gcr.io and pkg.dev", "eu.gcr.io/a/b:1 europe-docker.pkg.dev/p/r/i:2", []string{"eu.gcr.io/a/b:1", "europe-docker.pkg.dev/p/r/i:2"}},
		{"in prose", "Pull quay.io/jetstack/cert-manager-controller:v1.18.2.", []string{"quay.io/jetstack/cert-manager-controller:v1.18.2"}},
		{"single name under image key", "image: busybox:1.36", []string{"busybox:1.36"}},
		{"list of known-registry images", "images:\n- registry.k8s.io/pause:3.10\n- mcr.microsoft.com/a/b:1\n", []string{"registry.k8s.io/pause:3.10", "mcr.microsoft.com/a/b:1"}},
		{"item of a mapping list under image", "image:\n  options:\n  - name: scipy\n    value: kubeflownotebookswg/jupyter-scipy:v1.10.0\n", []string{"kubeflownotebookswg/jupyter-scipy:v1.10.0"}},
		{"item under - image:", "- image:\n    value: org/name:v1\n", []string{"org/name:v1"}},
		{"known registry without tag (a repository)", "image: ghcr.io/kubeflow/katib/katib-ui", []string{"ghcr.io/kubeflow/katib/katib-ui"}},
		{"istio hub", `"hub": "gcr.io/istio-release",`, []string{"gcr.io/istio-release"}},
		{"script default", `os.environ.get("FRONTEND_IMAGE", "ghcr.io/kubeflow/kfp-frontend")`, []string{"ghcr.io/kubeflow/kfp-frontend"}},

		// Negatives.
		{"url", "https://github.com/kubeflow/manifests", nil},
		{"url with image path", "see https://quay.io/repository/argoproj/argoexec:v3.7.3 for tags", nil},
		{"oci url", "oci://ghcr.io/kubeflow/charts/kfp:2.16.0", nil},
		{"version", "v1.2.3", nil},
		{"label key", "app.kubernetes.io/name: x", nil},
		{"host and port", "10.0.0.1:8080", nil},
		{"host:port under image key", "endpoint: minio-service.kubeflow:9000", nil},
		{"path", "/var/run/docker.sock", nil},
		{"path with tag-like suffix", "/opt/quay.io/foo:1", nil},
		{"relative path", "./quay.io/foo:1", nil},
		{"unknown registry", "image: registry.example.com/foo:1", nil},
		{"mirror is not found", "image: nexus.bank.local:8443/quay.io/foo/bar:1", nil},
		{"no tag, no registry", "image: kubeflow/katib-ui", nil},
		{"no registry, no image key", "model: org/name:v1", nil},
		{"no registry under other key", "options:\n- org/name:v1\n", nil},
		{"no registry in python", `"image": f"{frontend_image}:{frontend_tag}"`, nil},
		{"imagePullPolicy", "imagePullPolicy: Always:x", nil},
		{"ssh remote", "git@github.com:kubeflow/manifests.git", nil},
		{"email", "admin@example.com", nil},
		{"time", "schedule: 12:30", nil},
		{"python version", "python:3.9", nil},
		{"flag without image", "--config org/name:v1", nil},
		{"single name under image parent", "image:\n  options:\n  - python:3.9\n", nil},
		{"value of a sibling block", "image:\n  value: a/b:1\nother:\n  options:\n  - org/name:v1\n", []string{"a/b:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range Find(tt.text) {
				if tt.text[m.Start:m.End] != m.Ref {
					t.Errorf("match %+v does not locate %q", m, m.Ref)
				}
				got = append(got, m.Ref)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRewrite(t *testing.T) {
	mirror := func(r Ref) Ref { return Mirrors{Default: "nexus.bank.local:8443"}.Pull(r) }
	tests := []struct {
		name, text, want string
	}{
		{"env", "V2_DRIVER_IMAGE=ghcr.io/kubeflow/kfp-driver:2.16.0",
			"V2_DRIVER_IMAGE=nexus.bank.local:8443/ghcr.io/kubeflow/kfp-driver:2.16.0"},
		{"yaml", "image: kubeflownotebookswg/jupyter-scipy:v1.10.0\nother: quay.io/a/b:1 and https://quay.io/c/d:2\n",
			"image: nexus.bank.local:8443/docker.io/kubeflownotebookswg/jupyter-scipy:v1.10.0\nother: nexus.bank.local:8443/quay.io/a/b:1 and https://quay.io/c/d:2\n"},
		{"json", kserveAgent, `{
    "image" : "nexus.bank.local:8443/docker.io/kserve/agent:v0.16.0",
    "memoryRequest": "100Mi",
    "cpuLimit": "1"
}`},
		{"nothing", "no images here", "no images here"},
		{"repository keeps no tag", `"hub": "gcr.io/istio-release"`, `"hub": "nexus.bank.local:8443/gcr.io/istio-release"`},
		{"official image keeps its spelling of the tag", "image: busybox:1.36", "image: nexus.bank.local:8443/docker.io/library/busybox:1.36"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rewrite(tt.text, mirror)
			if got != tt.want {
				t.Errorf("Rewrite =\n%s\nwant\n%s", got, tt.want)
			}
			if again := Rewrite(got, mirror); again != got {
				t.Errorf("Rewrite is not idempotent:\n%s", again)
			}
		})
	}
	// An unchanged reference keeps its spelling.
	if got := Rewrite("image: org/name:v1", func(r Ref) Ref { return r }); got != "image: org/name:v1" {
		t.Errorf("identity Rewrite = %q", got)
	}
}

func FuzzFind(f *testing.F) {
	for _, s := range []string{katibConfig, spawnerUIConfig, kserveAgent, "--executor-image argoproj/argoexec:v3.3.8", "- \n-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		last := 0
		for _, m := range Find(text) {
			if m.Start < last || m.End <= m.Start || text[m.Start:m.End] != m.Ref {
				t.Fatalf("bad match %+v", m)
			}
			last = m.End
			if _, err := Parse(m.Ref); err != nil {
				t.Fatalf("match %q does not parse: %v", m.Ref, err)
			}
		}
		mirror := func(r Ref) Ref { return Mirrors{Default: "nexus.bank.local:8443"}.Pull(r) }
		once := Rewrite(text, mirror)
		if twice := Rewrite(once, mirror); twice != once {
			t.Fatalf("Rewrite not idempotent: %q -> %q -> %q", text, once, twice)
		}
	})
}
