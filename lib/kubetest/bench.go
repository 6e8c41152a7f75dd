package kubetest

// What the benchmarks comparing plinth with kubectl share: counting the
// requests of an operation on either side, the kubectl binary to run and
// the set of objects both work on.

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Requests counts the HTTP requests of measured operations, telling
// discovery (Discovery) from requests about objects (Objects): plinth's
// through its transport (Wrap), kubectl's from its -v=6 log
// (AddKubectlLog), so both sides are counted alike.
type Requests struct {
	objects, discovery, throttled atomic.Int64
}

// Wrap is a transport wrapper for rest.Config.Wrap that counts every
// request made through it.
func (c *Requests) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.add(r.URL.Path)
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (c *Requests) add(path string) {
	if IsDiscovery(path) {
		c.discovery.Add(1)
	} else {
		c.objects.Add(1)
	}
}

// Reset forgets what was counted, such as the requests of a setup made
// before the timer.
func (c *Requests) Reset() {
	c.objects.Store(0)
	c.discovery.Store(0)
	c.throttled.Store(0)
}

// Objects is the number of requests other than discovery.
func (c *Requests) Objects() int64 { return c.objects.Load() }

// Discovery is the number of discovery requests (see IsDiscovery).
func (c *Requests) Discovery() int64 { return c.discovery.Load() }

// Throttled is the time kubectl said it waited for client-go's rate
// limiter.
func (c *Requests) Throttled() time.Duration { return time.Duration(c.throttled.Load()) }

var (
	// client-go's debugging round tripper logs one line per request at
	// -v=6 (and nothing else about requests at that level):
	// `"Response" verb="GET" url="https://..." status="200 OK" milliseconds=3`.
	kubectlResponse = regexp.MustCompile(`"Response" verb="[A-Z]+" url="([^"]+)"`)
	// client-go's rate limiter, at -v=3 and above, for every wait over
	// 50ms: `"Waited before sending request" delay="196.3ms" reason=...`.
	kubectlWaited = regexp.MustCompile(`"Waited before sending request" delay="([^"]+)"`)
)

// AddKubectlLog counts the requests of one kubectl run from its -v=6 log
// (its standard error). It fails when the log has no request: a changed
// log format must not pass for zero requests.
func (c *Requests) AddKubectlLog(tb testing.TB, log string) {
	tb.Helper()
	found := false
	for _, m := range kubectlResponse.FindAllStringSubmatch(log, -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			tb.Fatalf("kubectl logged a request to %q: %v", m[1], err)
		}
		c.add(u.Path)
		found = true
	}
	if !found {
		tb.Fatalf("no request in kubectl's -v=6 log (has its format changed?):\n%s", Tail(log, 20))
	}
	for _, m := range kubectlWaited.FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			tb.Fatalf("kubectl logged a wait of %q: %v", m[1], err)
		}
		c.throttled.Add(int64(d))
	}
}

// Report reports what was counted over b.N operations of objectsPerOp
// objects each: requests/object, discovery-requests/op and, only when not
// zero, throttled-s/op.
func (c *Requests) Report(b *testing.B, objectsPerOp int) {
	b.ReportMetric(float64(c.Objects())/float64(b.N*objectsPerOp), "requests/object")
	b.ReportMetric(float64(c.Discovery())/float64(b.N), "discovery-requests/op")
	if t := c.Throttled(); t > 0 {
		b.ReportMetric(t.Seconds()/float64(b.N), "throttled-s/op")
	}
}

// IsDiscovery tells discovery requests (API groups and resources, OpenAPI,
// version) from requests about objects.
func IsDiscovery(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch parts[0] {
	case "version", "openapi":
		return true
	case "api":
		return len(parts) <= 2 // /api, /api/v1
	case "apis":
		return len(parts) <= 3 // /apis, /apis/<group>, /apis/<group>/<version>
	}
	return false
}

// Tail returns the last n lines of s: enough of a command's output for a
// failure message.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Kubectl returns the absolute path of $KUBECTL or else of the kubectl
// beside the kube-apiserver Assets finds (bin/k8s-<version>/kubectl), of
// the same version. It skips when there is none: kubectl is built only
// for the benchmarks, not by `make testbin`.
func Kubectl(tb testing.TB) string {
	tb.Helper()
	target := "bin/k8s-<version>/kubectl"
	assets, err := Assets()
	if dir := filepath.Base(assets); err == nil && strings.HasPrefix(dir, "k8s-") {
		target = "bin/" + dir + "/kubectl"
	}
	path := os.Getenv("KUBECTL")
	if path == "" {
		if err != nil {
			tb.Skipf("no kubectl: %v", err)
		}
		path = filepath.Join(assets, "kubectl")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		tb.Skipf("no kubectl at %s: run `make %s` or set KUBECTL", abs, target)
	}
	return abs
}

// Set returns n objects in namespace ns, each labelled with labels and
// app.kubernetes.io/name: its name: Application's objects for as many
// applications (app-000, app-001, ...) as it takes. The benchmarks share
// it so that their figures are about the same work.
func Set(ns string, labels map[string]string, n int) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, 0, n)
	for i := 0; len(objs) < n; i++ {
		for _, o := range Application(ns, fmt.Sprintf("app-%03d", i)) {
			if len(objs) == n {
				break
			}
			l := maps.Clone(labels)
			if l == nil {
				l = map[string]string{}
			}
			l["app.kubernetes.io/name"] = o.GetName()
			o.SetNamespace(ns)
			o.SetLabels(l)
			objs = append(objs, o)
		}
	}
	return objs
}

// Application returns the small objects of an application called name in
// namespace ns, as a team would write them: ServiceAccount, ConfigMap,
// Secret, Service, Role, RoleBinding and Deployment, all named name. They
// carry no namespace and no labels (Set adds both).
func Application(ns, name string) []*unstructured.Unstructured {
	selector := map[string]any{"app.kubernetes.io/name": name}
	obj := func(apiVersion, kind string, fields map[string]any) *unstructured.Unstructured {
		o := &unstructured.Unstructured{Object: fields}
		o.SetAPIVersion(apiVersion)
		o.SetKind(kind)
		o.SetName(name)
		return o
	}
	return []*unstructured.Unstructured{
		obj("v1", "ServiceAccount", map[string]any{}),
		obj("v1", "ConfigMap", map[string]any{"data": map[string]any{
			"LOG_LEVEL":   "info",
			"LISTEN_ADDR": ":8080",
			"app.yaml":    "server:\n  port: 8080\n  timeout: 30s\nfeatures:\n  - search\n  - export\n",
		}}),
		obj("v1", "Secret", map[string]any{"type": "Opaque", "data": map[string]any{
			"username": base64.StdEncoding.EncodeToString([]byte(name)),
			"password": base64.StdEncoding.EncodeToString([]byte("s3cr3t-" + name)),
		}}),
		// Headless: envtest's service CIDR (a /24) has too few cluster
		// IPs for the Services of a few sets.
		obj("v1", "Service", map[string]any{"spec": map[string]any{
			"clusterIP": "None",
			"selector":  selector,
			"ports":     []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "http"}},
		}}),
		obj("rbac.authorization.k8s.io/v1", "Role", map[string]any{"rules": []any{map[string]any{
			"apiGroups":     []any{""},
			"resources":     []any{"configmaps", "secrets"},
			"resourceNames": []any{name},
			"verbs":         []any{"get"},
		}}}),
		obj("rbac.authorization.k8s.io/v1", "RoleBinding", map[string]any{
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": ns}},
		}),
		obj("apps/v1", "Deployment", map[string]any{"spec": map[string]any{
			"replicas": int64(2),
			"selector": map[string]any{"matchLabels": selector},
			"template": map[string]any{
				"metadata": map[string]any{"labels": selector},
				"spec": map[string]any{
					"serviceAccountName": name,
					"containers": []any{map[string]any{
						"name":    "app",
						"image":   "registry.example.com/team/app:1.4.2",
						"ports":   []any{map[string]any{"name": "http", "containerPort": int64(8080)}},
						"envFrom": []any{map[string]any{"configMapRef": map[string]any{"name": name}}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
							"limits":   map[string]any{"memory": "256Mi"},
						},
					}},
				},
			},
		}}),
	}
}

// WriteYAML writes objs as one multi-document YAML file, the input of
// `kubectl -f`, into a temporary directory of the test and returns its
// path.
func WriteYAML(tb testing.TB, objs []*unstructured.Unstructured) string {
	tb.Helper()
	var buf bytes.Buffer
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			tb.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	path := filepath.Join(tb.TempDir(), "set.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
