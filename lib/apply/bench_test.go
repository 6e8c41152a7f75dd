package apply_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/apply"
	"github.com/plinth-platform/plinth/lib/render"
)

// benchObjects is the size of the set every operation of BenchmarkApply
// applies.
const benchObjects = 1000

// BenchmarkApply applies the same 1,000 small objects (ConfigMaps,
// Secrets, Services, ServiceAccounts, Roles, RoleBindings, Deployments)
// with plinth's apply library and with `kubectl apply --server-side`, to
// the real API server of lib/kubetest (bench/apply.sh runs it):
//
//   - first: into a new, empty namespace (every object is created);
//   - noop: again, unchanged, after one apply outside the timer.
//
// An operation of plinth is apply.New and Apply (which plans every
// object with a server-side dry run before writing anything); an
// operation of kubectl is one run of the binary, $KUBECTL or
// bin/k8s-v1.34.4/kubectl (make bin/k8s-v1.34.4/kubectl). Both start
// with an empty discovery cache.
//
// Metrics: requests/object counts the HTTP requests of an operation other
// than discovery (/api, /apis, /api/v1, /apis/<group>/<version>,
// /openapi/..., /version), which discovery-requests/op counts. For
// kubectl they are the "Response" lines of its -v=6 log (client-go logs
// one per request at that level, and nothing else about requests). Both
// run without client-side rate limiting in practice: plinth's client here
// has none (like controller-runtime's default configuration) and kubectl
// builds a REST client, with its own token bucket, per object it reads;
// throttled-s/op, reported only when not zero, is the time kubectl says
// it waited for client-go's rate limiter anyway.
func BenchmarkApply(b *testing.B) {
	b.Run("plinth", func(b *testing.B) {
		b.Run("first", func(b *testing.B) { benchPlinth(b, false) })
		b.Run("noop", func(b *testing.B) { benchPlinth(b, true) })
	})
	b.Run("kubectl", func(b *testing.B) {
		kubectl := benchKubectlBinary(b)
		b.Run("first", func(b *testing.B) { benchKubectl(b, kubectl, false) })
		b.Run("noop", func(b *testing.B) { benchKubectl(b, kubectl, true) })
	})
}

// benchPlinth measures apply.New and Apply of benchSet; noop applies it
// once before the timer and then measures re-applies.
func benchPlinth(b *testing.B, noop bool) {
	var count benchRequests
	cfg := cluster.Config()
	cfg.Wrap(count.wrap)
	ctx := b.Context()
	applyOnce := func(env string, objs []*unstructured.Unstructured, want apply.Action) {
		a, err := apply.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		res, err := a.Apply(ctx, env, []render.Rendered{{Name: "bench", Objects: objs}}, apply.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		defer b.StartTimer()
		if got := benchActions(res); got[want] != len(objs) {
			b.Fatalf("applied %d objects: %v, want all %s", len(objs), got, want)
		}
	}

	var ns string
	if noop {
		ns = cluster.Namespace(b)
		applyOnce(ns, benchSet(ns, ns), apply.Created)
		count.reset()
	}
	for b.Loop() {
		env := ns
		if !noop {
			b.StopTimer()
			env = cluster.Namespace(b)
			b.StartTimer()
		}
		want := apply.Created
		if noop {
			want = apply.Unchanged
		}
		// The set is built inside the timer: it is part of what a caller
		// hands to Apply, like the file kubectl reads.
		applyOnce(env, benchSet(env, env), want)
	}
	count.report(b)
}

// benchKubectl measures one run of kubectl apply --server-side of
// benchSet written to a file; noop applies it once before the timer.
func benchKubectl(b *testing.B, kubectl string, noop bool) {
	kubeconfig := cluster.Kubeconfig(b)
	var count benchRequests
	run := func(file string) {
		cmd := exec.CommandContext(b.Context(), kubectl, "--kubeconfig", kubeconfig, "--cache-dir", b.TempDir(), "-v=6",
			"apply", "--server-side", "--field-manager=bench", "-f", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		b.StopTimer()
		defer b.StartTimer()
		if err != nil {
			b.Fatalf("%s: %v\n%s", cmd, err, benchLastLines(stderr.String(), 20))
		}
		if n := strings.Count(stdout.String(), " serverside-applied\n"); n != benchObjects {
			b.Fatalf("kubectl applied %d objects, want %d:\n%s", n, benchObjects, benchLastLines(stdout.String(), 20))
		}
		count.addKubectlLog(b, stderr.String())
	}
	writeSet := func(ns string) string {
		var buf bytes.Buffer
		for _, o := range benchSet(ns, ns) {
			data, err := yaml.Marshal(o.Object)
			if err != nil {
				b.Fatal(err)
			}
			buf.WriteString("---\n")
			buf.Write(data)
		}
		file := filepath.Join(b.TempDir(), "set.yaml")
		if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		return file
	}

	var file string
	if noop {
		file = writeSet(cluster.Namespace(b))
		run(file)
		count.reset()
	}
	for b.Loop() {
		if !noop {
			b.StopTimer()
			file = writeSet(cluster.Namespace(b))
			b.StartTimer()
		}
		run(file)
	}
	count.report(b)
}

// benchKubectlBinary returns $KUBECTL or the repository's
// bin/k8s-v1.34.4/kubectl, and skips when it does not exist.
func benchKubectlBinary(b *testing.B) string {
	path := os.Getenv("KUBECTL")
	if path == "" {
		path = filepath.Join("..", "..", "bin", "k8s-v1.34.4", "kubectl")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		b.Skipf("no kubectl at %s: run `make bin/k8s-v1.34.4/kubectl` or set KUBECTL", abs)
	}
	return abs
}

// benchSet returns benchObjects objects in namespace ns, labelled as
// environment env: an application's ServiceAccount, ConfigMap, Secret,
// Service, Role, RoleBinding and Deployment, for as many applications as
// it takes.
func benchSet(ns, env string) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, 0, benchObjects)
	for i := 0; len(objs) < benchObjects; i++ {
		for _, o := range benchApplication(ns, fmt.Sprintf("app-%03d", i)) {
			if len(objs) == benchObjects {
				break
			}
			o.SetNamespace(ns)
			o.SetLabels(map[string]string{"app.kubernetes.io/name": o.GetName(), apply.LabelEnvironment: env})
			objs = append(objs, o)
		}
	}
	return objs
}

func benchApplication(ns, name string) []*unstructured.Unstructured {
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

func benchActions(res *apply.Result) map[apply.Action]int {
	out := map[apply.Action]int{}
	for _, c := range res.Changes {
		out[c.Action]++
	}
	return out
}

// benchRequests counts the HTTP requests of the measured operations.
type benchRequests struct {
	objects, discovery atomic.Int64
	throttled          time.Duration
}

func (c *benchRequests) reset() {
	c.objects.Store(0)
	c.discovery.Store(0)
	c.throttled = 0
}

func (c *benchRequests) add(path string) {
	if benchIsDiscovery(path) {
		c.discovery.Add(1)
	} else {
		c.objects.Add(1)
	}
}

// wrap is a transport wrapper for rest.Config.Wrap.
func (c *benchRequests) wrap(rt http.RoundTripper) http.RoundTripper {
	return benchRoundTrip(func(r *http.Request) (*http.Response, error) {
		c.add(r.URL.Path)
		return rt.RoundTrip(r)
	})
}

type benchRoundTrip func(*http.Request) (*http.Response, error)

func (f benchRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var (
	// client-go's debugging round tripper logs one line per request at
	// -v=6: `"Response" verb="GET" url="https://..." status="200 OK" milliseconds=3`.
	benchKubectlResponse = regexp.MustCompile(`"Response" verb="[A-Z]+" url="([^"]+)"`)
	// client-go's rate limiter, at -v=3 and above, for every wait over
	// 50ms: `"Waited before sending request" delay="196.3ms" reason=...`.
	benchKubectlWaited = regexp.MustCompile(`"Waited before sending request" delay="([^"]+)"`)
)

// addKubectlLog counts the requests of one kubectl run from its -v=6 log.
func (c *benchRequests) addKubectlLog(b *testing.B, log string) {
	found := false
	for _, m := range benchKubectlResponse.FindAllStringSubmatch(log, -1) {
		u, err := url.Parse(m[1])
		if err != nil {
			b.Fatalf("kubectl logged a request to %q: %v", m[1], err)
		}
		c.add(u.Path)
		found = true
	}
	if !found {
		b.Fatalf("no request in kubectl's -v=6 log (has its format changed?):\n%s", benchLastLines(log, 20))
	}
	for _, m := range benchKubectlWaited.FindAllStringSubmatch(log, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			b.Fatalf("kubectl logged a wait of %q: %v", m[1], err)
		}
		c.throttled += d
	}
}

func (c *benchRequests) report(b *testing.B) {
	b.ReportMetric(float64(c.objects.Load())/float64(b.N*benchObjects), "requests/object")
	b.ReportMetric(float64(c.discovery.Load())/float64(b.N), "discovery-requests/op")
	if c.throttled > 0 {
		b.ReportMetric(c.throttled.Seconds()/float64(b.N), "throttled-s/op")
	}
}

// benchIsDiscovery tells discovery requests (API groups and resources, OpenAPI,
// version) from requests about objects.
func benchIsDiscovery(path string) bool {
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

func benchLastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
