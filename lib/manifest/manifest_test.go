package manifest

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]interface{}{}}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetName(name)
	if namespace != "" {
		o.SetNamespace(namespace)
	}
	return o
}

func mustParse(t *testing.T, s string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestIDString(t *testing.T) {
	tests := []struct {
		o    *unstructured.Unstructured
		want string
	}{
		{obj("apps/v1", "Deployment", "kubeflow", "ml-pipeline"), "Deployment.apps/kubeflow/ml-pipeline"},
		{obj("v1", "Namespace", "", "kubeflow"), "Namespace/kubeflow"},
		{obj("v1", "ConfigMap", "kubeflow", "katib-config"), "ConfigMap/kubeflow/katib-config"},
		{obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "notebooks.kubeflow.org"), "CustomResourceDefinition.apiextensions.k8s.io/notebooks.kubeflow.org"},
	}
	for _, tt := range tests {
		id := IDOf(tt.o)
		if got := id.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	id := IDOf(obj("apps/v1", "Deployment", "ns", "n"))
	if id != (ID{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "ns", Name: "n"}) {
		t.Errorf("IDOf = %#v", id)
	}
	if id.APIVersion() != "apps/v1" || id.GroupKind() != "apps/Deployment" {
		t.Errorf("APIVersion, GroupKind = %q, %q", id.APIVersion(), id.GroupKind())
	}
	core := IDOf(obj("v1", "Service", "ns", "n"))
	if core.APIVersion() != "v1" || core.GroupKind() != "/Service" {
		t.Errorf("core APIVersion, GroupKind = %q, %q", core.APIVersion(), core.GroupKind())
	}
}

func TestSort(t *testing.T) {
	objs := []*unstructured.Unstructured{
		obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", "a"),
		obj("kubeflow.org/v1", "Profile", "", "alice"),
		obj("apps/v1", "Deployment", "kubeflow", "ml-pipeline"),
		obj("apps/v1", "Deployment", "auth", "dex"),
		obj("v1", "Service", "kubeflow", "ml-pipeline"),
		obj("serving.knative.dev/v1", "Service", "kubeflow", "a"),
		obj("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "", "m"),
		obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "profiles.kubeflow.org"),
		obj("v1", "ConfigMap", "kubeflow", "b"),
		obj("v1", "ConfigMap", "kubeflow", "a"),
		obj("batch/v1", "Job", "kubeflow", "j"),
		obj("v1", "Namespace", "", "kubeflow"),
		obj("v1", "Namespace", "", "auth"),
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "r"),
		obj("v1", "ServiceAccount", "kubeflow", "s"),
		obj("networking.k8s.io/v1", "NetworkPolicy", "kubeflow", "p"),
		obj("cert-manager.io/v1", "Certificate", "kubeflow", "c"),
	}
	Sort(objs)
	var got []string
	for _, o := range objs {
		got = append(got, IDOf(o).String())
	}
	want := []string{
		"Namespace/auth",
		"Namespace/kubeflow",
		"CustomResourceDefinition.apiextensions.k8s.io/profiles.kubeflow.org",
		"MutatingWebhookConfiguration.admissionregistration.k8s.io/m",
		"ServiceAccount/kubeflow/s",
		"NetworkPolicy.networking.k8s.io/kubeflow/p",
		"ClusterRole.rbac.authorization.k8s.io/r",
		"ConfigMap/kubeflow/a",
		"ConfigMap/kubeflow/b",
		"Service/kubeflow/ml-pipeline",
		"Service.serving.knative.dev/kubeflow/a",
		"Deployment.apps/auth/dex",
		"Deployment.apps/kubeflow/ml-pipeline",
		"Certificate.cert-manager.io/kubeflow/c",
		"Job.batch/kubeflow/j",
		"Profile.kubeflow.org/alice",
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io/a",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Sort:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Stable: objects with the same identity keep their order.
	a, b := obj("v1", "ConfigMap", "x", "same"), obj("v1", "ConfigMap", "x", "same")
	a.SetLabels(map[string]string{"which": "a"})
	dup := []*unstructured.Unstructured{a, b}
	Sort(dup)
	if dup[0] != a {
		t.Error("Sort is not stable")
	}
}

func TestEncode(t *testing.T) {
	objs := mustParse(t, `kind: ConfigMap
apiVersion: v1
metadata:
  namespace: kubeflow
  name: b
data:
  z: "1"
  a: "yes"
---
{"metadata": {"name": "kubeflow"}, "kind": "Namespace", "apiVersion": "v1"}
`)
	var buf bytes.Buffer
	if err := Encode(&buf, objs); err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
data:
  a: "yes"
  z: "1"
kind: ConfigMap
metadata:
  name: b
  namespace: kubeflow
---
apiVersion: v1
kind: Namespace
metadata:
  name: kubeflow
`
	if buf.String() != want {
		t.Errorf("Encode:\n%s\nwant:\n%s", buf.String(), want)
	}

	buf.Reset()
	if err := Encode(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("Encode(nil) = %q, %v; want empty", buf.String(), err)
	}
	if err := Encode(&buf, []*unstructured.Unstructured{nil}); err == nil {
		t.Error("Encode of a nil object succeeded")
	}
}

func TestDigest(t *testing.T) {
	a := mustParse(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: '1', y: '2'}}\n")
	b := mustParse(t, "kind: Namespace\nmetadata:\n  labels:\n    y: '2'\n    x: '1'\n  name: a\napiVersion: v1\n")
	c := mustParse(t, "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
	da, _ := Digest(a)
	db, _ := Digest(b)
	dc, _ := Digest(c)
	if !strings.HasPrefix(da, "sha256:") || len(da) != len("sha256:")+64 {
		t.Errorf("Digest = %q", da)
	}
	if da != db {
		t.Errorf("same objects, different digests: %s %s", da, db)
	}
	if da == dc {
		t.Errorf("different objects, same digest %s", da)
	}
	empty, err := Digest(nil)
	if err != nil || empty != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Digest(nil) = %q, %v", empty, err)
	}
}

func TestClusterScoped(t *testing.T) {
	crds := mustParse(t, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: clusterthings.example.com}
spec:
  group: example.com
  names: {kind: ClusterThing, plural: clusterthings}
  scope: Cluster
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
spec:
  group: example.com
  names: {kind: Thing, plural: things}
  scope: Namespaced
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: profiles.kubeflow.org}
spec:
  group: kubeflow.org
  names: {kind: Profile, plural: profiles}
  scope: Namespaced
`)
	scopes := CRDScopes(crds)
	if len(scopes) != 3 || !scopes["example.com/ClusterThing"] || scopes["example.com/Thing"] {
		t.Errorf("CRDScopes = %v", scopes)
	}
	tests := []struct {
		apiVersion, kind string
		scopes           map[string]bool
		want             bool
	}{
		{"v1", "Namespace", nil, true},
		{"v1", "PersistentVolume", nil, true},
		{"v1", "PersistentVolumeClaim", nil, false},
		{"v1", "ConfigMap", nil, false},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", nil, true},
		{"rbac.authorization.k8s.io/v1", "Role", nil, false},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", nil, true},
		{"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", nil, true},
		{"storage.k8s.io/v1", "StorageClass", nil, true},
		{"scheduling.k8s.io/v1", "PriorityClass", nil, true},
		{"cert-manager.io/v1", "ClusterIssuer", nil, true},
		{"cert-manager.io/v1", "Issuer", nil, false},
		{"kubeflow.org/v1", "Profile", nil, true},
		{"serving.kserve.io/v1alpha1", "ClusterServingRuntime", nil, true},
		{"serving.kserve.io/v1alpha1", "ServingRuntime", nil, false},
		{"trainer.kubeflow.org/v1alpha1", "ClusterTrainingRuntime", nil, true},
		{"security.openshift.io/v1", "SecurityContextConstraints", nil, true},
		{"config.openshift.io/v1", "ImageDigestMirrorSet", nil, true},
		{"caching.internal.knative.dev/v1alpha1", "Image", nil, false},
		// Same kind name, other group: not the built-in.
		{"example.com/v1", "ClusterRole", nil, false},
		// CRDs of the set decide, even over the table.
		{"example.com/v1", "ClusterThing", scopes, true},
		{"example.com/v1", "Thing", scopes, false},
		{"kubeflow.org/v1", "Profile", scopes, false},
		{"example.com/v1", "Unknown", scopes, false},
	}
	for _, tt := range tests {
		id := IDOf(obj(tt.apiVersion, tt.kind, "", "x"))
		if got := ClusterScoped(id, tt.scopes); got != tt.want {
			t.Errorf("ClusterScoped(%s) = %v, want %v", id, got, tt.want)
		}
	}
}
