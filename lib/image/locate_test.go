package image

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// use is a Use as the table test writes it.
type use struct {
	path, image, pulled string
	repository          bool
}

// TestLocator runs the locator's table on real fixture objects
// (testdata/locate.yaml) with a default mirror and nvcr.io mapped to a
// prefix of its own: each row names the uses it must find, and the fields
// it must leave rewritten.
func TestLocator(t *testing.T) {
	objs := fixtureObjects(t)
	const nexus, nvidia = "nexus.bank.local:8443/", "nexus.bank.local:8444/nvidia/"
	l := Locator{
		Mirrors:  Mirrors{Default: "nexus.bank.local:8443", Registries: map[string]string{"nvcr.io": "nexus.bank.local:8444/nvidia"}},
		DriverOS: "ubuntu24.04",
	}
	gpu := func(path, image string) use {
		return use{path, "nvcr.io/nvidia/" + image, nvidia + "nvidia/" + image, false}
	}
	tests := []struct {
		kind, name string
		want       []use
		// fields: path in the object → value after the rewrite.
		fields map[string]string
	}{
		{"ClusterPolicy", "cluster-policy", []use{
			// The driver's tag gets the nodes' OS, as the operator appends it.
			gpu("spec.driver", "driver:595.91.07-ubuntu24.04"),
			gpu("spec.ccManager", "cloud-native/k8s-cc-manager:v0.4.3"),
			gpu("spec.dcgm", "cloud-native/dcgm:4.6.0-1-ubuntu24.04"),
			gpu("spec.dcgmExporter", "k8s/dcgm-exporter:4.6.0-4.8.3-distroless"),
			gpu("spec.devicePlugin", "k8s-device-plugin:v0.20.0"),
			gpu("spec.driver.manager", "cloud-native/k8s-driver-manager:v0.12.0"),
			gpu("spec.gdrcopy", "cloud-native/gdrdrv:v2.6"),
			gpu("spec.gds", "cloud-native/nvidia-fs:2.29.4"),
			gpu("spec.gfd", "k8s-device-plugin:v0.20.0"),
			gpu("spec.kataSandboxDevicePlugin", "cloud-native/nvidia-sandbox-device-plugin:v0.0.5"),
			gpu("spec.migManager", "cloud-native/k8s-mig-manager:v0.15.0"),
			gpu("spec.nodeStatusExporter", "gpu-operator:v26.7.0"),
			gpu("spec.sandboxDevicePlugin", "kubevirt-gpu-device-plugin:v1.6.0"),
			gpu("spec.toolkit", "k8s/container-toolkit:v1.20.0"),
			gpu("spec.validator", "gpu-operator:v26.7.0"),
			gpu("spec.vfioManager", "cloud-native/k8s-driver-manager:v0.12.0"),
			gpu("spec.vfioManager.driverManager", "cloud-native/k8s-driver-manager:v0.12.0"),
			gpu("spec.vgpuDeviceManager", "cloud-native/vgpu-device-manager:v0.5.0"),
			gpu("spec.vgpuManager.driverManager", "cloud-native/k8s-driver-manager:v0.12.0"),
			// spec.vgpuManager has no repository: a licensed image the bank builds.
		}, map[string]string{
			"spec.driver.repository":         nvidia + "nvidia",
			"spec.driver.image":              "driver",
			"spec.driver.version":            "595.91.07",
			"spec.toolkit.repository":        nvidia + "nvidia/k8s",
			"spec.driver.manager.repository": nvidia + "nvidia/cloud-native",
			"spec.vgpuManager.image":         "vgpu-manager",
		}},
		{"Prometheus", "kps-kube-prometheus-stack-prometheus", []use{
			{"spec.image", "quay.io/prometheus/prometheus:v3.14.0-distroless", nexus + "quay.io/prometheus/prometheus:v3.14.0-distroless", false},
		}, map[string]string{"spec.image": nexus + "quay.io/prometheus/prometheus:v3.14.0-distroless"}},
		{"Alertmanager", "kps-kube-prometheus-stack-alertmanager", []use{
			{"spec.image", "quay.io/prometheus/alertmanager:v0.34.0", nexus + "quay.io/prometheus/alertmanager:v0.34.0", false},
		}, map[string]string{"spec.image": nexus + "quay.io/prometheus/alertmanager:v0.34.0"}},
		{"Image", "queue-proxy", []use{
			{"spec.image", queueProxy, nexus + queueProxy, false},
		}, map[string]string{"spec.image": nexus + queueProxy}},
		{"ClusterStorageContainer", "default", []use{
			{"spec.container.image", "docker.io/kserve/storage-initializer:v0.16.0", nexus + "docker.io/kserve/storage-initializer:v0.16.0", false},
		}, map[string]string{"spec.container.image": nexus + "docker.io/kserve/storage-initializer:v0.16.0"}},
		{"ConfigMap", "istio-sidecar-injector", []use{
			// The proxy image the injector composes from hub, image and tag;
			// the hub itself is a registry prefix, rewritten as one.
			{"data.values", "gcr.io/istio-release/proxyv2:1.28.0", nexus + "gcr.io/istio-release/proxyv2:1.28.0", false},
			{"data.values", "gcr.io/istio-release:latest", nexus + "gcr.io/istio-release:latest", true},
		}, nil},
		{"ConfigMap", "pipeline-install-config", []use{
			// KFP pulls cacheImage as written: without a tag, latest.
			{"data.cacheImage", "ghcr.io/containerd/busybox:latest", nexus + "ghcr.io/containerd/busybox:latest", false},
		}, map[string]string{"data.cacheImage": nexus + "ghcr.io/containerd/busybox"}},
		{"Deployment", "deployment", []use{
			{"spec.template.spec.containers[0].image", "ghcr.io/kubeflow/kubeflow/volumes-web-app:latest", nexus + "ghcr.io/kubeflow/kubeflow/volumes-web-app:latest", false},
			{"spec.template.spec.containers[0].env[4].value", "docker.io/filebrowser/filebrowser:v2.25.0", nexus + "docker.io/filebrowser/filebrowser:v2.25.0", false},
		}, map[string]string{"spec.template.spec.containers[0].env[4].value": nexus + "docker.io/filebrowser/filebrowser:v2.25.0"}},
		{"ConfigMap", "tensorboard-controller-config", []use{
			{"data.TENSORBOARD_IMAGE", "docker.io/tensorflow/tensorflow:2.5.1", nexus + "docker.io/tensorflow/tensorflow:2.5.1", false},
		}, map[string]string{"data.TENSORBOARD_IMAGE": nexus + "docker.io/tensorflow/tensorflow:2.5.1", "data.ISTIO_GATEWAY": "kubeflow/kubeflow-gateway"}},
	}
	if len(objs) != len(tests) {
		t.Fatalf("%d objects in testdata, %d rows", len(objs), len(tests))
	}
	for i, tt := range tests {
		o := objs[i]
		t.Run(tt.kind+"/"+tt.name, func(t *testing.T) {
			if o.GetKind() != tt.kind || o.GetName() != tt.name {
				t.Fatalf("object %d is %s/%s", i, o.GetKind(), o.GetName())
			}
			uses, err := l.Rewrite(o)
			if err != nil {
				t.Fatal(err)
			}
			if got := asUses(uses); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("uses:\n%v\nwant\n%v", got, tt.want)
			}
			for path, want := range tt.fields {
				if got := fieldAt(t, o, path); got != want {
					t.Errorf("%s = %q, want %q", path, got, want)
				}
			}
			// Again on the rewritten object: the same images, nothing moves.
			before := o.DeepCopy()
			again, err := l.Rewrite(o)
			if err != nil {
				t.Fatal(err)
			}
			if got := asUses(again); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("second rewrite found:\n%v\nwant\n%v", got, tt.want)
			}
			if !reflect.DeepEqual(before.Object, o.Object) {
				t.Error("a second rewrite changed the object")
			}
		})
	}
	// The hub in the injector's values is a prefix on the mirror now.
	if v := fieldAt(t, objs[5], "data.values"); !strings.Contains(v, `"hub": "nexus.bank.local:8443/gcr.io/istio-release"`) {
		t.Errorf("istio hub not rewritten:\n%.400s", v)
	}
}

const queueProxy = "gcr.io/knative-releases/knative.dev/serving/cmd/queue@sha256:40957d3ced3b185b7a78bbd771be69b0a13137dcbee5ff7f82ae738b56037d9c"

func asUses(us []Use) []use {
	var out []use
	for _, u := range us {
		out = append(out, use{u.Path, u.Image.String(), u.Pulled.String(), u.Repository})
	}
	return out
}

// fieldAt reads a string field at a dotted path with [i] indices.
func fieldAt(t *testing.T, o *unstructured.Unstructured, path string) string {
	t.Helper()
	var got string
	match(o.Object, patternOf(strings.NewReplacer("[0]", "[]", "[4]", "[]").Replace(path)), func(s slot) {
		if s.path == path {
			got, _ = s.value.(string)
		}
	})
	return got
}

// TestLocatorWithoutMirror lists images and changes nothing.
func TestLocatorWithoutMirror(t *testing.T) {
	objs := fixtureObjects(t)
	for _, o := range objs {
		before := o.DeepCopy()
		uses, err := (Locator{}).Rewrite(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range uses {
			if u.Image != u.Pulled {
				t.Errorf("%s %s: pulled %s without a mirror", o.GetName(), u.Path, u.Pulled)
			}
		}
		if len(uses) == 0 || !reflect.DeepEqual(before.Object, o.Object) {
			t.Errorf("%s: %d uses, changed: %v", o.GetName(), len(uses), !reflect.DeepEqual(before.Object, o.Object))
		}
	}
}

// TestLocatorMirroredText: text a chart wrote already on the mirror is
// listed by its upstream; the mirror's own prefix is no image.
func TestLocatorMirroredText(t *testing.T) {
	l := Locator{Mirrors: Mirrors{Default: "nexus.bank.local:8443", Registries: map[string]string{"docker.io": "nexus.bank.local:8443/dockerhub"}}}
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"},
		"data": map[string]any{"settings": "registry: nexus.bank.local:8443/dockerhub\nshell: nexus.bank.local:8443/dockerhub/rancher/shell:v0.8.1\n"},
	}}
	uses, err := l.Rewrite(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []use{{"data.settings", "docker.io/rancher/shell:v0.8.1", "nexus.bank.local:8443/dockerhub/rancher/shell:v0.8.1", false}}
	if got := asUses(uses); !reflect.DeepEqual(got, want) {
		t.Errorf("uses %v, want %v", got, want)
	}
}

// fixtureObjects reads testdata/locate.yaml.
func fixtureObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile("testdata/locate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifest.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}
