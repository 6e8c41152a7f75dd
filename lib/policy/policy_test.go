package policy

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apicheck"
	"github.com/plinth-platform/plinth/lib/manifest"
)

func parse(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := manifest.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// found is a violation reduced to what the tables compare.
type found struct {
	Rule, Object, Path string
}

func check(t *testing.T, facts Facts, comps ...manifest.Component) ([]found, []Violation) {
	t.Helper()
	vs := Check(facts, comps)
	var got []found
	for _, v := range vs {
		got = append(got, found{v.Rule, v.Object.String(), v.Path})
		if v.Message == "" || strings.Contains(v.Message, "\n") {
			t.Errorf("%s: message %q is not one line", v.Rule, v.Message)
		}
	}
	return got, vs
}

// only keeps the violations of one rule.
func only(rule string, fs []found, vs []Violation) ([]found, []Violation) {
	var kf []found
	var kv []Violation
	for i := range vs {
		if vs[i].Rule == rule {
			kf, kv = append(kf, fs[i]), append(kv, vs[i])
		}
	}
	return kf, kv
}

func TestAPIRemoved(t *testing.T) {
	objs := parse(t, `apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: pdb, namespace: kubeflow}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb-ok, namespace: kubeflow}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: cj, namespace: kubeflow}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: ing, namespace: kubeflow}
---
apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata: {name: old.example.com}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1beta3
kind: FlowSchema
metadata: {name: fs}
---
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: hpa, namespace: kubeflow}
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: psp}
---
apiVersion: example.com/v1beta1
kind: CronJob
metadata: {name: custom, namespace: kubeflow}
`)
	tests := []struct {
		version string
		want    []string // object IDs flagged
	}{
		{"1.21.14", nil},
		{"1.22", []string{"CustomResourceDefinition.apiextensions.k8s.io/old.example.com", "Ingress.extensions/kubeflow/ing"}},
		{"1.25.0", []string{"CronJob.batch/kubeflow/cj", "CustomResourceDefinition.apiextensions.k8s.io/old.example.com", "Ingress.extensions/kubeflow/ing", "PodDisruptionBudget.policy/kubeflow/pdb", "PodSecurityPolicy.policy/psp"}},
		{"v1.31.4", []string{"CronJob.batch/kubeflow/cj", "CustomResourceDefinition.apiextensions.k8s.io/old.example.com", "HorizontalPodAutoscaler.autoscaling/kubeflow/hpa", "Ingress.extensions/kubeflow/ing", "PodDisruptionBudget.policy/kubeflow/pdb", "PodSecurityPolicy.policy/psp"}},
		{"1.34.4", []string{"CronJob.batch/kubeflow/cj", "CustomResourceDefinition.apiextensions.k8s.io/old.example.com", "FlowSchema.flowcontrol.apiserver.k8s.io/fs", "HorizontalPodAutoscaler.autoscaling/kubeflow/hpa", "Ingress.extensions/kubeflow/ing", "PodDisruptionBudget.policy/kubeflow/pdb", "PodSecurityPolicy.policy/psp"}},
		{"", nil},
		{"latest", nil},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			got, _ := check(t, Facts{KubernetesVersion: tt.version}, manifest.Component{Name: "c", Objects: objs})
			var ids []string
			for _, f := range got {
				if f.Rule != RuleAPIRemoved || f.Path != "apiVersion" {
					t.Errorf("unexpected %+v", f)
				}
				ids = append(ids, f.Object)
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("flagged %q, want %q", ids, tt.want)
			}
		})
	}
	_, vs := check(t, Facts{Environment: "prod", KubernetesVersion: "1.34.4"}, manifest.Component{Name: "c", Objects: objs[:1]})
	want := "prod/c: PodDisruptionBudget.policy/kubeflow/pdb: API-REMOVED: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25; use policy/v1"
	if len(vs) != 1 || vs[0].String() != want {
		t.Errorf("got %v, want %s", vs, want)
	}
}

func TestTenantScope(t *testing.T) {
	platform := parse(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Cluster
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: platform-role}
`)
	tenant := parse(t, `apiVersion: v1
kind: Namespace
metadata: {name: risk-models}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: quota, namespace: risk-models}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owners, namespace: risk-models}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: owners-cluster}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: kubeflow.org/v1
kind: Profile
metadata: {name: risk-models}
---
apiVersion: kubeflow.org/v1
kind: Notebook
metadata: {name: nb, namespace: risk-models}
`)
	got, _ := check(t, Facts{TenantComponents: []string{"tenant-risk-models"}},
		manifest.Component{Name: "platform", Objects: platform},
		manifest.Component{Name: "tenant-risk-models", Objects: tenant})
	want := []found{
		{RuleTenantScope, "ClusterRoleBinding.rbac.authorization.k8s.io/owners-cluster", ""},
		{RuleTenantScope, "Namespace/risk-models", ""},
		{RuleTenantScope, "Profile.kubeflow.org/risk-models", ""},
		{RuleTenantScope, "Widget.example.com/w", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Not a tenant component: nothing.
	if got, _ := check(t, Facts{}, manifest.Component{Name: "tenant-risk-models", Objects: tenant}); len(got) != 0 {
		t.Errorf("got %+v for a platform component", got)
	}
}

func TestLimits(t *testing.T) {
	objs := parse(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: ok, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: main
        image: a:1
        resources:
          limits: {cpu: 500m, memory: 1Gi}
      initContainers:
      - name: init
        image: a:1
        resources:
          limits: {cpu: 1, memory: 64Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: no-memory
        image: a:1
        resources:
          limits: {cpu: 500m}
          requests: {memory: 1Gi}
      - name: nothing
        image: a:1
      initContainers:
      - name: empty-cpu
        image: a:1
        resources:
          limits: {cpu: "", memory: 1Gi}
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata: {name: sklearn}
spec:
  containers:
  - name: kserve-container
    image: kserve/sklearnserver:v0.16.0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: kubeflow}
`)
	got, vs := check(t, Facts{RequireLimits: true}, manifest.Component{Name: "c", Objects: objs})
	want := []found{
		{RuleLimits, "ClusterServingRuntime.serving.kserve.io/sklearn", "spec.containers[0].resources.limits"},
		{RuleLimits, "Deployment.apps/kubeflow/bad", "spec.template.spec.containers[0].resources.limits"},
		{RuleLimits, "Deployment.apps/kubeflow/bad", "spec.template.spec.containers[1].resources.limits"},
		{RuleLimits, "Deployment.apps/kubeflow/bad", "spec.template.spec.initContainers[0].resources.limits"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if m := vs[1].Message; !strings.Contains(m, `container "no-memory" sets no resources.limits.memory:`) {
		t.Errorf("message %q", m)
	}
	if m := vs[2].Message; !strings.Contains(m, "resources.limits.cpu and resources.limits.memory") {
		t.Errorf("message %q", m)
	}
	if got, _ := check(t, Facts{}, manifest.Component{Name: "c", Objects: objs}); len(got) != 0 {
		t.Errorf("limits checked without RequireLimits: %+v", got)
	}
}

// TestObjectSize: every rendered object, whatever component renders it,
// is measured: its JSON against etcd's request limit, a ConfigMap's or
// Secret's data against 1 MiB. The message names the object and its size,
// never a Secret's value.
func TestObjectSize(t *testing.T) {
	const value = "s3cr3t-"
	big := strings.Repeat(value, apicheck.MaxDataBytes/len(value)+1)
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "small", "namespace": "a"}, "data": map[string]any{"k": "v"}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "dashboards", "namespace": "a"}, "data": map[string]any{"k": big}}},
		{Object: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "keys", "namespace": "a"}, "stringData": map[string]any{"k": big}}},
		{Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "huges.example.com"},
			"spec": map[string]any{"description": strings.Repeat("x", apicheck.MaxObjectBytes)}}},
	}
	got, vs := check(t, Facts{Environment: "prod"}, manifest.Component{Name: "chart", Objects: objs})
	want := []found{
		{RuleSize, "ConfigMap/a/dashboards", "data"},
		{RuleSize, "CustomResourceDefinition.apiextensions.k8s.io/huges.example.com", ""},
		{RuleSize, "Secret/a/keys", "data"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for i, w := range []string{
		"prod/chart: ConfigMap/a/dashboards: OBJECT-SIZE: data and binaryData hold 1048579 bytes (1.00 MiB), over the 1048576 bytes (1.00 MiB) a ConfigMap may hold",
		"prod/chart: CustomResourceDefinition.apiextensions.k8s.io/huges.example.com: OBJECT-SIZE: the object is 1573004 bytes (1.50 MiB) as JSON, over the 1572864 bytes (1.50 MiB) etcd accepts in one request by default",
		"prod/chart: Secret/a/keys: OBJECT-SIZE: data and stringData hold 1048579 bytes (1.00 MiB), over the 1048576 bytes (1.00 MiB) a Secret may hold",
	} {
		if i < len(vs) && !strings.HasPrefix(vs[i].String(), w) {
			t.Errorf("violation %d: %s\nwant prefix %s", i, vs[i], w)
		}
	}
	for _, v := range vs {
		if strings.Contains(v.String(), value) {
			t.Errorf("message quotes a value: %.200s", v)
		}
	}
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestImageMirror(t *testing.T) {
	objs := parse(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: workflow-controller, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: workflow-controller
        image: nexus.bank.local:8443/quay.io/argoproj/workflow-controller:v3.7.3
        args:
        - --configmap
        - workflow-controller-configmap
        - --executor-image
        - quay.io/argoproj/argoexec:v3.7.3
        - --executor-image=nexus.bank.local:8443/quay.io/argoproj/argoexec:v3.7.3
      - name: proxy
        image: quay.io/brancz/kube-rbac-proxy:v0.19.1
        command: ["--upstream-image", "brancz/upstream:v1"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ml-pipeline, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: ml-pipeline-api-server
        image: nexus.bank.local:8443/ghcr.io/kubeflow/kfp-api-server:2.16.0
        env:
        - name: V2_DRIVER_IMAGE
          value: ghcr.io/kubeflow/kfp-driver:2.16.0
        - name: V2_LAUNCHER_IMAGE
          value: nexus.bank.local:8443/ghcr.io/kubeflow/kfp-launcher:2.16.0
        - name: FROM_SECRET
          valueFrom: {secretKeyRef: {name: s, key: k}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: katib-config, namespace: kubeflow}
data:
  katib-config.yaml: |
    runtime:
      suggestions:
        - algorithmName: random
          image: ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
        - algorithmName: tpe
          image: nexus.bank.local:8443/ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.18.0
  note: see https://github.com/kubeflow/katib for images
  values: '{"global": {"hub": "gcr.io/istio-release", "tag": "1.29.0"}}'
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: kubeflow}
stringData:
  image: quay.io/secret/image:v1
---
apiVersion: serving.kserve.io/v1alpha1
kind: ClusterServingRuntime
metadata: {name: triton}
spec:
  containers:
  - name: kserve-container
    image: nvcr.io/nvidia/tritonserver:23.05-py3@`+digest+`
---
# A kind no locator knows, holding an image where nobody looks.
apiVersion: example.com/v1
kind: Runner
metadata: {name: r, namespace: x}
spec:
  runner: {img: "quay.io/x/y:1", base: "busybox:1.36"}
  image: busybox:1.36
---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata: {name: cluster-policy}
spec:
  driver: {repository: nvcr.io/nvidia, image: driver, version: "595.91.07"}
  toolkit: {repository: nexus.bank.local:8443/nvcr.io/nvidia/k8s, image: container-toolkit, version: v1.18.0}
  vgpuManager: {image: vgpu-manager}
`)
	facts := Facts{Environment: "prod", AirGapped: true, Mirrors: []string{"nexus.bank.local:8443"}}
	got, vs := check(t, facts, manifest.Component{Name: "kubeflow", Objects: objs})
	got, vs = only(RuleImageMirror, got, vs)
	want := []found{
		{RuleImageMirror, "ClusterPolicy.nvidia.com/cluster-policy", "spec.driver.repository"},
		{RuleImageMirror, "ClusterPolicy.nvidia.com/cluster-policy", "spec.vgpuManager.image"},
		{RuleImageMirror, "ClusterServingRuntime.serving.kserve.io/triton", "spec.containers[0].image"},
		{RuleImageMirror, "ConfigMap/kubeflow/katib-config", "data.values"},
		{RuleImageMirror, "ConfigMap/kubeflow/katib-config", `data["katib-config.yaml"]`},
		{RuleImageMirror, "Deployment.apps/kubeflow/ml-pipeline", "spec.template.spec.containers[0].env[0].value"},
		{RuleImageMirror, "Deployment.apps/kubeflow/workflow-controller", "spec.template.spec.containers[0].args[3]"},
		{RuleImageMirror, "Deployment.apps/kubeflow/workflow-controller", "spec.template.spec.containers[1].command[1]"},
		{RuleImageMirror, "Deployment.apps/kubeflow/workflow-controller", "spec.template.spec.containers[1].image"},
		{RuleImageMirror, "Runner.example.com/x/r", "spec.image"},
		{RuleImageMirror, "Runner.example.com/x/r", "spec.runner.img"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	messages := map[string]string{}
	for _, v := range vs {
		messages[v.Object.String()+" "+v.Path] = v.Message
	}
	if m := messages["ClusterServingRuntime.serving.kserve.io/triton spec.containers[0].image"]; !strings.HasPrefix(m, `image "nvcr.io/nvidia/tritonserver:23.05-py3@`+digest+`" at spec.containers[0].image is off the mirror: `) || !strings.Contains(m, "network.mirrors.allow") {
		t.Errorf("message %q", m)
	}
	if m := messages["Deployment.apps/kubeflow/workflow-controller spec.template.spec.containers[1].command[1]"]; !strings.Contains(m, `"brancz/upstream:v1"`) {
		t.Errorf("message %q", m)
	}
	if m := messages["ConfigMap/kubeflow/katib-config data.values"]; !strings.Contains(m, `"gcr.io/istio-release"`) {
		t.Errorf("message %q", m)
	}
	for _, v := range vs {
		if strings.Contains(v.String(), "quay.io/secret") {
			t.Errorf("a Secret's value in a violation: %v", v)
		}
	}

	// What the environment allows passes; the rest stays.
	allowed := facts
	allowed.MirrorAllow = []string{"vgpu-manager", "quay.io/x/y:1"}
	got, vs = check(t, allowed, manifest.Component{Name: "c", Objects: objs[5:]})
	got, _ = only(RuleImageMirror, got, vs)
	if len(got) != 2 {
		t.Errorf("with allow: %+v", got)
	}
	for _, f := range got {
		if f.Path == "spec.vgpuManager.image" || f.Path == "spec.runner.img" {
			t.Errorf("allowed value reported: %+v", f)
		}
	}

	// Several mirrors (network.mirrors.registries): each serves.
	got, _ = check(t, Facts{AirGapped: true, Mirrors: []string{"nexus.bank.local:8443/docker", "nexus.bank.local:8444/nvidia"}}, manifest.Component{Name: "c", Objects: parse(t, `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x}
spec:
  containers:
  - {name: ok, image: "nexus.bank.local:8443/docker/quay.io/a/b:1"}
  - {name: nvidia, image: "nexus.bank.local:8444/nvidia/nvidia/gpu-operator:v26.7.0"}
  - {name: outside, image: "nexus.bank.local:8443/quay.io/a/b:1"}
  - {name: invalid, image: "Not A Reference"}
  - {name: public, image: "ghcr.io/a/b:1"}
`)})
	want = []found{
		{RuleImageMirror, "Pod/x/p", "spec.containers[2].image"},
		{RuleImageMirror, "Pod/x/p", "spec.containers[4].image"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mirrors: got %+v\nwant %+v", got, want)
	}

	// Air-gapped without a mirror: every image.
	_, vs = check(t, Facts{AirGapped: true}, manifest.Component{Name: "c", Objects: objs[4:5]})
	if len(vs) != 1 || !strings.Contains(vs[0].Message, "has no image mirror (set network.mirrors.images)") {
		t.Errorf("no mirror: %v", vs)
	}

	// Not air-gapped: nothing.
	if got, _ := check(t, Facts{Mirrors: []string{"nexus.bank.local:8443"}}, manifest.Component{Name: "c", Objects: objs}); len(got) != 0 {
		t.Errorf("not air-gapped: %+v", got)
	}
}

// TestScanImages lists what the independent scan takes for an image
// reference, and what it does not.
func TestScanImages(t *testing.T) {
	mirrors := []string{"nexus.bank.local:8443"}
	hits := []struct{ name, key, value, want string }{
		{"public registry", "x", "quay.io/prometheus/prometheus:v3.5.0", "quay.io/prometheus/prometheus:v3.5.0"},
		{"public registry without tag", "cacheImage", "ghcr.io/containerd/busybox", "ghcr.io/containerd/busybox"},
		{"registry prefix (Istio's hub)", "values", `{"hub": "gcr.io/istio-release"}`, "gcr.io/istio-release"},
		{"script default", "sync.py", `os.environ.get("FRONTEND_IMAGE", "ghcr.io/kubeflow/kfp-frontend")`, "ghcr.io/kubeflow/kfp-frontend"},
		{"Docker Hub shorthand", "spawner", "- kubeflownotebookswg/jupyter-scipy:v1.10.0", "kubeflownotebookswg/jupyter-scipy:v1.10.0"},
		{"Docker Hub shorthand in JSON", "agent", `{"image" : "kserve/agent:v0.16.0"}`, "kserve/agent:v0.16.0"},
		{"Docker Hub shorthand with digest", "x", "org/name@sha256:" + strings.Repeat("ab", 32), "org/name@sha256:" + strings.Repeat("ab", 32)},
		{"gcr.io subdomain", "x", "eu.gcr.io/a/b:1", "eu.gcr.io/a/b:1"},
		{"pkg.dev", "x", "europe-docker.pkg.dev/p/r/i:2", "europe-docker.pkg.dev/p/r/i:2"},
		{"flag with =", "args", "--executor-image=quay.io/argoproj/argoexec:v3.7.3", "quay.io/argoproj/argoexec:v3.7.3"},
		{"in a sentence", "doc", "Pull quay.io/jetstack/cert-manager-controller:v1.18.2.", "quay.io/jetstack/cert-manager-controller:v1.18.2"},
		{"image key, official image", "image", "busybox:1.36", "busybox:1.36"},
		{"image key, other registry", "image", "registry.example.com/foo:1", "registry.example.com/foo:1"},
		{"image key, no tag", "image", "python", "python"},
	}
	for _, tt := range hits {
		t.Run(tt.name, func(t *testing.T) {
			got := ScanImages(&unstructured.Unstructured{Object: map[string]any{"data": map[string]any{tt.key: tt.value}}}, mirrors)
			if len(got) != 1 || got[0].Value != tt.want || got[0].Mirrored {
				t.Errorf("ScanImages(%q) = %+v, want one unmirrored %q", tt.value, got, tt.want)
			}
		})
	}
	misses := []struct{ name, key, value string }{
		{"URL", "x", "https://github.com/kubeflow/manifests"},
		{"URL to a registry", "x", "see https://quay.io/repository/argoproj/argoexec:v3.7.3 for tags"},
		{"OCI URL", "x", "oci://ghcr.io/kubeflow/charts/kfp:2.16.0"},
		{"version", "x", "v1.2.3"},
		{"version under image key", "imageVersion", "1.2.3"},
		{"host and port", "x", "10.0.0.1:8080"},
		{"service and port", "endpoint", "minio-service.kubeflow:9000"},
		{"label key", "x", "app.kubernetes.io/name: x"},
		{"RBAC label", "x", "rbac.authorization.k8s.io/aggregate-to-admin: \"true\""},
		{"path", "x", "/var/run/docker.sock"},
		{"path with tag-like suffix", "x", "/opt/quay.io/foo:1"},
		{"single name outside an image key", "x", "python:3.9"},
		{"org/name without tag", "x", "kubeflow/manifests"},
		{"ssh remote", "x", "git@github.com:kubeflow/manifests.git"},
		{"e-mail", "x", "admin@example.com"},
		{"time", "x", "schedule: 12:30"},
		{"unknown registry outside an image key", "x", "registry.example.com/foo:1"},
		{"registry without path", "x", "quay.io"},
		{"upper case is no reference", "x", "Kubeflow/Notebook:v1"},
		{"template under image key", "image", "{{ .ProxyImage }}"},
		{"variable under image key", "image", "$VOLUME_VIEWER_IMAGE"},
	}
	for _, tt := range misses {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScanImages(&unstructured.Unstructured{Object: map[string]any{"data": map[string]any{tt.key: tt.value}}}, mirrors); len(got) != 0 {
				t.Errorf("ScanImages(%q) = %+v, want nothing", tt.value, got)
			}
		})
	}
	// On the mirror: found, and marked so.
	got := ScanImages(&unstructured.Unstructured{Object: map[string]any{"image": "NEXUS.bank.local:8443/quay.io/a/b:1", "v": "hub: nexus.bank.local:8443/gcr.io/istio-release"}}, mirrors)
	if len(got) != 2 || !got[0].Mirrored || !got[1].Mirrored || got[1].Value != "nexus.bank.local:8443/gcr.io/istio-release" {
		t.Errorf("mirrored: %+v", got)
	}
}

// BenchmarkScanImages scans a 10 MB ConfigMap of random text: the scan is
// linear, so a hostile ConfigMap costs time in proportion to its size.
func BenchmarkScanImages(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789._-/:@ \n\"{}"
	text := make([]byte, 10<<20)
	for i := range text {
		text[i] = alphabet[rng.IntN(len(alphabet))]
	}
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"random": string(text)}}}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		ScanImages(o, []string{"nexus.bank.local:8443"})
	}
}

func TestEgress(t *testing.T) {
	objs := parse(t, `apiVersion: v1
kind: Namespace
metadata: {name: kubeflow}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: kubeflow}
spec:
  template:
    spec:
      containers:
      - name: main
        image: nexus.bank.local:8443/docker.io/library/busybox:1.36
        command: ["sh", "-c", "curl -fsS https://raw.githubusercontent.com/x/y/main/install.sh | sh"]
        args:
        - --listen=http://0.0.0.0:8080
        - --api=https://kubernetes.default.svc
        - --db=http://mysql:3306
        - --minio=http://minio-service.kubeflow:9000
        - --dex=http://dex.auth.svc.cluster.local:5556/dex
        - --nexus=https://nexus.bank.local/repository/helm/
        - --git=ssh://git@git.bank.local:2222/platform/envs.git
        - --charts=oci://ghcr.io/kubeflow/charts
        - --ip=http://10.1.2.3:8080
        - --public-ip=http://8.8.8.8/
        - --template=http://$(POD_IP):8080
        - --helm={{ .Values.url }}
        - --unknown-ns=http://svc.other-ns:80
        - --bucket=s3://mlpipeline/artifacts
        env:
        - name: HTTPS_PROXY
          value: http://proxy.bank.local:3128
        - name: UPDATE_URL
          value: https://api.github.com/repos/x/y/releases
        - name: USER_INFO
          value: https://user:secret@private.example.com:8443/path?token=abc
---
apiVersion: v1
kind: ConfigMap
metadata: {name: grafana, namespace: monitoring}
data:
  grafana.ini: |
    [grafana_net]
    url = https://grafana.net
    [server]
    root_url = http://localhost:3000
  links.json: '{"url": "HTTPS://www.Kubeflow.org/docs/", "again": "https://www.kubeflow.org/"}'
  config.yaml: |
    # Upstream is https://github.com/dexidp/dex/blob/master/examples/k8s/dex.yaml
    issuer: http://dex.auth.svc.cluster.local:5556/dex  # see https://dexidp.io/docs
    color: "#fff"
    menu: {"link": "https://www.kubeflow.org/docs/", href="https://docs.example.org/", "[docs](https://md.example.org/)"}
  logo.svg: <svg xmlns="http://www.w3.org/2000/svg"><a href="https://www.figma.com"/></svg>
  _example: |
    # real configuration would go here: https://knative.dev/docs
    url: https://example.com
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: dashboard
  namespace: monitoring
  labels: {grafana_dashboard: "1"}
data:
  coredns.json: '{"links":[{"title":"CoreDNS.io","type":"link","url":"https://coredns.io"}]}'
`)
	facts := Facts{
		Environment:   "prod",
		AirGapped:     true,
		Mirrors:       []string{"nexus.bank.local:8443"},
		AllowedEgress: []string{"nexus.bank.local", "*.bank.local", "private.example.com:8443"},
	}
	_, vs := check(t, facts, manifest.Component{Name: "c", Objects: objs})
	type hit struct{ path, host string }
	var got []hit
	for _, v := range vs {
		if v.Rule != RuleEgress {
			t.Errorf("unexpected %v", v)
			continue
		}
		host := strings.TrimSuffix(strings.Fields(v.Message)[2], ",")
		got = append(got, hit{v.Path, host})
		if strings.Contains(v.Message, "secret") || strings.Contains(v.Message, "token") {
			t.Errorf("message leaks the URL: %q", v.Message)
		}
	}
	want := []hit{
		{`data["grafana.ini"]`, "grafana.net"},
		{`data["links.json"]`, "www.kubeflow.org"},
		{"spec.template.spec.containers[0].args[12]", "svc.other-ns"},
		{"spec.template.spec.containers[0].args[7]", "ghcr.io"},
		{"spec.template.spec.containers[0].args[9]", "8.8.8.8"},
		{"spec.template.spec.containers[0].command[2]", "raw.githubusercontent.com"},
		{"spec.template.spec.containers[0].env[1].value", "api.github.com"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if len(vs) > 0 {
		if want := "prod/c: ConfigMap/monitoring/grafana: EGRESS: connects to grafana.net, which the air-gapped environment does not allow: add it to network.allowedEgress or point to an internal mirror"; vs[0].String() != want {
			t.Errorf("String() = %q\nwant        %q", vs[0].String(), want)
		}
	}

	// "svc.other-ns" is internal once other-ns is a namespace of the set.
	withNS := append(parse(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: other-ns}\n"), objs...)
	_, vs2 := check(t, facts, manifest.Component{Name: "c", Objects: withNS})
	if len(vs2) != len(vs)-1 {
		t.Errorf("with namespace other-ns: %d violations, want %d", len(vs2), len(vs)-1)
	}
	// Not air-gapped: nothing.
	if got, _ := check(t, Facts{AllowedEgress: facts.AllowedEgress}, manifest.Component{Name: "c", Objects: objs}); len(got) != 0 {
		t.Errorf("not air-gapped: %+v", got)
	}
}

func TestURLHosts(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"https://github.com/kubeflow/manifests", []string{"github.com"}},
		{"git+ssh://git@git.bank.local:2222/x.git and GIT://Example.COM./x", []string{"git.bank.local", "example.com"}},
		{"http://[fd00::1]:8080/ http://[2001:db8::1]/", []string{"fd00::1", "2001:db8::1"}},
		{"https://a.example.com https://a.example.com/x", []string{"a.example.com"}},
		{"xhttps://nope.example.com", nil},
		{"https://$(HOST)/ https://{{ .Values.host }}/ https://*.example.com/", nil},
		{"s3://bucket/key gs://bucket/key minio://x", nil},
		{"no urls, just example.com and 10.0.0.1:80", nil},
		{`"link": "https://www.kubeflow.org/" href='https://a.example.org' xmlns:xlink="http://www.w3.org/1999/xlink" [x](https://md.example.org)`, nil},
		{"url = https://grafana.net\nendpoint: \"https://api.example.com\"", []string{"grafana.net", "api.example.com"}},
	}
	for _, tt := range tests {
		if got := urlHosts(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("urlHosts(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOrderAndString(t *testing.T) {
	objs := parse(t, `apiVersion: batch/v1beta1
kind: CronJob
metadata: {name: b, namespace: x}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {name: c, image: "quay.io/a/b:1"}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: a, namespace: x}
`)
	facts := Facts{Environment: "dev", KubernetesVersion: "1.30", AirGapped: true, Mirrors: []string{"m.local"}, RequireLimits: true}
	vs := Check(facts, []manifest.Component{{Name: "zeta", Objects: objs}, {Name: "alpha", Objects: objs[1:]}})
	var got []string
	for _, v := range vs {
		got = append(got, v.Component+" "+v.Object.String()+" "+v.Rule+" "+v.Path)
	}
	want := []string{
		"alpha PodDisruptionBudget.policy/x/a API-REMOVED apiVersion",
		"zeta CronJob.batch/x/b API-REMOVED apiVersion",
		"zeta CronJob.batch/x/b IMAGE-MIRROR spec.jobTemplate.spec.template.spec.containers[0].image",
		"zeta CronJob.batch/x/b LIMITS spec.jobTemplate.spec.template.spec.containers[0].resources.limits",
		"zeta PodDisruptionBudget.policy/x/a API-REMOVED apiVersion",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := vs[0].String(); s != "dev/alpha: PodDisruptionBudget.policy/x/a: API-REMOVED: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25; use policy/v1" {
		t.Errorf("String() = %q", s)
	}
	if vs := Check(Facts{}, nil); vs != nil {
		t.Errorf("Check of nothing = %v", vs)
	}
}

func TestParseMinor(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"1.34.4", 34, true}, {"1.32", 32, true}, {"v1.30.4", 30, true}, {"1.30.4+rke2r1", 30, true},
		{"1.29-rc", 29, true}, {"2.0", 0, false}, {"", 0, false}, {"1", 0, false}, {"1.x", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseMinor(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseMinor(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStripComments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a: 1 # https://x\n# full line\nb: 2", "a: 1 " + strings.Repeat(" ", 11) + "\n" + strings.Repeat(" ", 11) + "\nb: 2"},
		{"color: \"#fff\" url: https://x/#frag", "color: \"#fff\" url: https://x/#frag"},
		{"#!/bin/sh\ncurl https://x", "         \ncurl https://x"},
		{"no comment", "no comment"},
	}
	for _, tt := range tests {
		if got := stripComments(tt.in); got != tt.want {
			t.Errorf("stripComments(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(stripComments(tt.in)) != len(tt.in) {
			t.Errorf("stripComments(%q) changed the length", tt.in)
		}
	}
}
