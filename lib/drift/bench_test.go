package drift_test

import (
	"bytes"
	"encoding/base64"
	"errors"
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
	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/render"
)

// benchObjects is the size of the set BenchmarkDrift checks.
const benchObjects = 1000

// BenchmarkDrift checks the same 1,000 small, unchanged objects (the set
// of lib/apply's BenchmarkApply: ServiceAccounts, ConfigMaps, Secrets,
// headless Services, Roles, RoleBindings, Deployments) with plinth's
// drift check and with `kubectl diff --server-side`, against the real
// API server of lib/kubetest (bench/drift.sh runs it). Before the timer
// each sub-benchmark applies the set with lib/apply into a new namespace
// (also the environment's name), as component "bench".
//
// An operation of plinth is drift.New and Check (8 requests in flight,
// the default), which must report no drift; an operation of kubectl is
// one run of `kubectl diff --server-side --field-manager=plinth -f
// set.yaml`, which must exit 0 (no difference). kubectl is $KUBECTL or
// bin/k8s-v1.34.4/kubectl (make bin/k8s-v1.34.4/kubectl). Both start with
// an empty discovery cache.
//
// Metrics, as in BenchmarkApply: requests/object counts the HTTP requests
// of an operation other than discovery (/api, /apis, /api/v1,
// /apis/<group>/<version>, /openapi/..., /version), which
// discovery-requests/op counts; kubectl's are the "Response" lines of its
// -v=6 log. throttled-s/op, reported only when not zero, is the time
// kubectl says it waited for client-go's rate limiter.
func BenchmarkDrift(b *testing.B) {
	b.Run("plinth", benchPlinth)
	b.Run("kubectl", func(b *testing.B) { benchKubectl(b, benchKubectlBinary(b)) })
}

// benchApplied applies benchSet with lib/apply into a new namespace and
// returns it: the environment the operations check.
func benchApplied(b *testing.B) string {
	env := cluster.Namespace(b)
	a, err := apply.New(cluster.Config())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Apply(b.Context(), env, benchComponents(env), apply.Options{}); err != nil {
		b.Fatal(err)
	}
	return env
}

func benchComponents(env string) []render.Rendered {
	return []render.Rendered{{Name: "bench", Objects: benchSet(env)}}
}

func benchPlinth(b *testing.B) {
	env := benchApplied(b)
	var count benchRequests
	cfg := cluster.Config()
	cfg.Wrap(count.wrap)
	ctx := b.Context()
	for b.Loop() {
		c, err := drift.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The set is built inside the timer, like the file kubectl reads.
		r, err := c.Check(ctx, env, benchComponents(env), drift.Options{Concurrency: 8})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if r.Summary.Drift() || r.Summary.Objects != benchObjects {
			var out bytes.Buffer
			_ = r.WriteText(&out)
			b.Fatalf("checked %d objects, want %d without drift:\n%s", r.Summary.Objects, benchObjects, benchLastLines(out.String(), 40))
		}
		b.StartTimer()
	}
	count.report(b)
}

func benchKubectl(b *testing.B, kubectl string) {
	env := benchApplied(b)
	kubeconfig := cluster.Kubeconfig(b)
	var buf bytes.Buffer
	for _, o := range benchSet(env) {
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
	// No --force-conflicts: plinth owns every field of the set, so the
	// dry-run apply as plinth has nothing to conflict with.
	var count benchRequests
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), kubectl, "--kubeconfig", kubeconfig, "--cache-dir", b.TempDir(), "-v=6",
			"diff", "--server-side", "--field-manager=plinth", "-f", file)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		b.StopTimer()
		// Exit status 1: a difference; above 1: kubectl or diff failed.
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			b.Fatalf("%s found a difference, want none:\n%s\n%s", cmd, benchLastLines(stdout.String(), 40), benchLastLines(stderr.String(), 5))
		}
		if err != nil {
			b.Fatalf("%s: %v\n%s", cmd, err, benchLastLines(stderr.String(), 20))
		}
		count.addKubectlLog(b, stderr.String())
		b.StartTimer()
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

// benchSet returns benchObjects objects in namespace env, labelled as
// environment env and component "bench": an application's
// ServiceAccount, ConfigMap, Secret, Service, Role, RoleBinding and
// Deployment, for as many applications as it takes. (A copy of lib/apply's
// benchmark set, which lives in package apply_test.)
func benchSet(env string) []*unstructured.Unstructured {
	objs := make([]*unstructured.Unstructured, 0, benchObjects)
	for i := 0; len(objs) < benchObjects; i++ {
		for _, o := range benchApplication(env, fmt.Sprintf("app-%03d", i)) {
			if len(objs) == benchObjects {
				break
			}
			o.SetNamespace(env)
			o.SetLabels(map[string]string{"app.kubernetes.io/name": o.GetName(), render.LabelEnvironment: env, render.LabelComponent: "bench"})
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

// benchRequests counts the HTTP requests of the measured operations.
type benchRequests struct {
	objects, discovery atomic.Int64
	throttled          time.Duration
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

// benchIsDiscovery tells discovery requests (API groups and resources,
// OpenAPI, version) from requests about objects.
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
