package apicheck

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func object(t testing.TB, src string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func texts(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// TestCheck: objects as the API server would decode and validate them;
// every problem names its field.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "valid objects",
			src: `{apiVersion: v1, kind: Secret, metadata: {name: creds, namespace: default, labels: {app: x}},
				data: {password: aHVudGVyMg==}, stringData: {user: "plain text is fine"}}`,
		},
		{
			name: "secret data not base64",
			src:  `{apiVersion: v1, kind: Secret, metadata: {name: creds}, data: {password: "hunter2!", token: aHVudGVyMg==}, stringData: {user: admin}}`,
			want: []string{`data.password: is not base64 (illegal base64 data at input byte 7): encode each value of data in base64, or write the plain text under stringData`},
		},
		{
			name: "wrong types and unknown fields, all at once",
			src: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, labels: {tier: 3}},
				spec: {replicas: "two", replica: 2, selector: {matchLabels: {app: web}},
					template: {metadata: {labels: {app: web}}, spec: {containers: [
						{name: web, image: nginx, imagePullPolicy: Always, imagee: nginx, resources: {limits: {cpu: lots}}},
						{name: side, image: busybox, ports: [{containerPort: "80"}]}]}}}}`,
			want: []string{
				`metadata.labels.tier: is a number where apps/v1 Deployment takes a string: write a string`,
				`spec.replicas: is a string where apps/v1 Deployment takes an integer: write an integer`,
				`spec.template.spec.containers[0].resources.limits.cpu: is not a quantity such as 500m, 2 or 4Gi (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')`,
				`spec.template.spec.containers[1].ports[0].containerPort: is a string where apps/v1 Deployment takes an integer: write an integer`,
				`spec.replica: unknown field: apps/v1 Deployment has no field of this name here: did you mean replicas?`,
				`spec.template.spec.containers[0].imagee: unknown field: apps/v1 Deployment has no field of this name here: did you mean image?`,
			},
		},
		{
			name: "case matters, as in the API server",
			src:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, Data: {a: b}}`,
			want: []string{`Data: unknown field: v1 ConfigMap has no field of this name here: did you mean data?`},
		},
		{
			name: "a struct where a string goes",
			src:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: {b: c}}, immutable: "yes"}`,
			want: []string{
				`data.a: is an object where v1 ConfigMap takes a string: write a string`,
				`immutable: is a string where v1 ConfigMap takes a boolean: write a boolean`,
			},
		},
		{
			name: "names by kind",
			src:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: Bad_Name, namespace: Team_A}}`,
			want: []string{
				`metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'): rename the object`,
				`metadata.namespace: Invalid value: "Team_A": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'): namespaces are DNS-1123 labels`,
			},
		},
		{
			name: "a namespace is a label",
			src:  `{apiVersion: v1, kind: Namespace, metadata: {name: team.a}}`,
			want: []string{`metadata.name: Invalid value: "team.a": must not contain dots: rename the object`},
		},
		{
			name: "a service is a DNS-1035 label",
			src:  `{apiVersion: v1, kind: Service, metadata: {name: 1web}}`,
			want: []string{`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?'): rename the object`},
		},
		{
			name: "RBAC names are path segments",
			src:  `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: "system:aggregate-to-edit"}}`,
		},
		{
			name: "the namespace of a cluster-scoped object is ignored",
			src:  `{apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: fast, namespace: Whatever}, provisioner: x}`,
		},
		{
			name: "a kind the group/version does not serve",
			src:  `{apiVersion: apps/v1, kind: Deploymnet, metadata: {name: web}}`,
			want: []string{`kind: apps/v1 serves no kind Deploymnet: did you mean Deployment?`},
		},
		{
			name: "a list is not an object",
			src:  `{apiVersion: v1, kind: ConfigMapList, metadata: {name: x}}`,
			want: []string{`kind: v1 serves no kind ConfigMapList: did you mean ConfigMap?`},
		},
		{
			name: "custom resources are their CRD's business",
			src:  `{apiVersion: example.com/v1, kind: Widget, metadata: {name: Not_Checked}, spec: {anything: [1, 2]}}`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := texts(Check(object(t, c.src)))
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// TestNoSecretValues: whatever is wrong with a Secret, no message quotes
// its data.
func TestNoSecretValues(t *testing.T) {
	const value = "s3cr3t-VALUE"
	for _, src := range []string{
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: "` + value + `"}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: ["` + value + `"]}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: {v: "` + value + `"}}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {k: ["` + value + `"]}, type: ["` + value + `"]}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {k: 12345678}}`,
	} {
		ps := Check(object(t, src))
		if len(ps) == 0 {
			t.Errorf("%s: no problem found", src)
		}
		for _, p := range ps {
			if strings.Contains(p.String(), value) || strings.Contains(p.String(), "12345678") {
				t.Errorf("message quotes the Secret's data: %s", p)
			}
		}
	}
}

// TestSize: the JSON encoding against etcd's request limit; ConfigMap and
// Secret data against 1 MiB, a Secret's stringData counted as the data it
// becomes.
func TestSize(t *testing.T) {
	big := strings.Repeat("x", MaxDataBytes)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		name string
		obj  map[string]any
		want []string
	}{
		{
			name: "configmap at the limit",
			obj:  map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"a": big}},
		},
		{
			name: "configmap over the limit with binaryData",
			obj: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"},
				"data": map[string]any{"a": big[:MaxDataBytes-1]}, "binaryData": map[string]any{"b": b64("xy")}},
			want: []string{"data: data and binaryData hold 1048577 bytes (1.00 MiB), over the 1048576 bytes (1.00 MiB) a ConfigMap may hold (k8s.io/api/core/v1.MaxSecretSize): split it into several ConfigMaps, or ship the data another way (an image, a volume)"},
		},
		{
			name: "secret data counts decoded",
			obj: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
				"data": map[string]any{"a": b64(big)}},
		},
		{
			name: "secret stringData replaces a key of data",
			obj: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
				"data": map[string]any{"a": b64(big)}, "stringData": map[string]any{"a": "small"}},
		},
		{
			name: "secret over the limit",
			obj: map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"},
				"data": map[string]any{"a": b64(big)}, "stringData": map[string]any{"b": "1"}},
			want: []string{"data: data and stringData hold 1048577 bytes (1.00 MiB), over the 1048576 bytes (1.00 MiB) a Secret may hold (k8s.io/api/core/v1.MaxSecretSize): split it into several Secrets, or ship the data another way (an image, a volume)"},
		},
		{
			name: "a custom resource over etcd's limit",
			obj: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"},
				"spec": map[string]any{"blob": strings.Repeat("x", MaxObjectBytes)}},
			want: []string{"the object is 1572954 bytes (1.50 MiB) as JSON, over the 1572864 bytes (1.50 MiB) etcd accepts in one request by default: the API server cannot store it: split it into smaller objects, or move its bulk out of the cluster's API (an image, a volume)"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := texts(Size(&unstructured.Unstructured{Object: c.obj}))
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
