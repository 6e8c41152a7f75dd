package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// markerScript writes an executable that creates marker when run, and
// otherwise acts as a KRM function passing its input through.
func markerScript(t *testing.T) (script, marker string) {
	t.Helper()
	dir := t.TempDir()
	marker = filepath.Join(dir, "executed")
	script = filepath.Join(dir, "fn.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\ncat\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, marker
}

// TestKustomizeExecutionRefused: a kustomization that would run something
// (an exec or Go plugin as generator, transformer or validator, a KRM
// function, helm through helmCharts) or read outside its tree (an absolute
// path) is refused before krusty runs, naming the source and the file,
// and nothing is executed.
func TestKustomizeExecutionRefused(t *testing.T) {
	script, marker := markerScript(t)
	// An old-style exec plugin where kustomize would look for one, were
	// plugins enabled.
	home := t.TempDir()
	pluginDir := filepath.Join(home, "plinth.test", "v1", "marker")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pluginDir, "Marker"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUSTOMIZE_PLUGIN_HOME", home)

	cm := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
	execFn := fmt.Sprintf("apiVersion: plinth.test/v1\nkind: Fn\nmetadata:\n  name: f\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: %s\n", script)
	tree := fstest.MapFS{
		"generator/kustomization.yaml":     {Data: []byte("generators:\n- gen.yaml\n")},
		"generator/gen.yaml":               {Data: []byte("apiVersion: plinth.test/v1\nkind: Marker\nmetadata:\n  name: m\n")},
		"transformer/kustomization.yaml":   {Data: []byte("resources:\n- cm.yaml\ntransformers:\n- tr.yaml\n")},
		"transformer/cm.yaml":              {Data: cm},
		"transformer/tr.yaml":              {Data: []byte("apiVersion: plinth.test/v1\nkind: Marker\nmetadata:\n  name: m\n")},
		"validator/kustomization.yaml":     {Data: []byte("resources:\n- cm.yaml\nvalidators:\n- v.yaml\n")},
		"validator/cm.yaml":                {Data: cm},
		"validator/v.yaml":                 {Data: []byte(execFn)},
		"krm-exec/kustomization.yaml":      {Data: []byte("resources:\n- cm.yaml\ntransformers:\n- fn.yaml\n")},
		"krm-exec/cm.yaml":                 {Data: cm},
		"krm-exec/fn.yaml":                 {Data: []byte(execFn)},
		"krm-container/kustomization.yaml": {Data: []byte("generators:\n- fn.yaml\n")},
		"krm-container/fn.yaml": {Data: []byte("apiVersion: builtin\nkind: Fn\nmetadata:\n  name: f\n  annotations:\n" +
			"    config.kubernetes.io/function: |\n      container:\n        image: example.com/fn:1\n")},
		"krm-inline/kustomization.yaml": {Data: []byte("resources:\n- cm.yaml\ntransformers:\n- |\n" + indent(execFn, "  "))},
		"krm-inline/cm.yaml":            {Data: cm},
		"nested/kustomization.yaml":     {Data: []byte("resources:\n- ../krm-exec\n")},
		"helm/kustomization.yaml":       {Data: []byte("helmCharts:\n- name: grafana\n  repo: https://grafana.github.io/helm-charts\n  version: 8.0.0\n")},
		"absolute/kustomization.yaml":   {Data: []byte("resources:\n- /etc/hosts\n")},
	}
	mem, err := memTree(tree, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ base, want string }{
		{"generator", "generator/gen.yaml: Marker m (plinth.test/v1) is not one of kustomize's builtin plugins"},
		{"transformer", "transformer/tr.yaml: Marker m (plinth.test/v1) is not one of kustomize's builtin plugins"},
		{"validator", "validator/v.yaml: Fn f declares a KRM function (config.kubernetes.io/function)"},
		{"krm-exec", "krm-exec/fn.yaml: Fn f declares a KRM function"},
		{"krm-container", "krm-container/fn.yaml: Fn f declares a KRM function"},
		{"krm-inline", "krm-inline/kustomization.yaml: Fn f declares a KRM function"},
		{"nested", "krm-exec/fn.yaml: Fn f declares a KRM function"},
		{"helm", "helm/kustomization.yaml uses helmCharts, which would run helm"},
		{"absolute", `absolute/kustomization.yaml refers to the absolute path "/etc/hosts"`},
	} {
		t.Run(c.base+" "+c.want[:20], func(t *testing.T) {
			objs, _, err := buildKustomize(mem, "test-tree", c.base, []string{c.base})
			if err == nil {
				t.Fatalf("built %d objects", len(objs))
			}
			if !strings.Contains(err.Error(), "test-tree: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name the source and %q", err, c.want)
			}
			if strings.Contains(err.Error(), "localhost") {
				t.Errorf("error shows /etc/hosts: %q", err)
			}
		})
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("something was executed: %s exists (%v)", marker, err)
	}

	// The control: krusty with exec functions enabled (on a copy on disk:
	// the function runs in the kustomization's directory) does run the
	// script, so the absent marker above means something.
	disk := t.TempDir()
	for _, f := range []string{"kustomization.yaml", "cm.yaml", "fn.yaml"} {
		if err := os.WriteFile(filepath.Join(disk, f), tree["krm-exec/"+f].Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	krustyMu.Lock()
	defer krustyMu.Unlock()
	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
	opts.PluginConfig.FnpLoadingOptions.EnableExec = true
	if _, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), disk); err != nil {
		t.Logf("krusty with exec enabled: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("control: krusty with exec enabled did not run the function: %v", err)
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}

// TestKustomizeCycle: kustomizations including each other, or
// themselves, fail quickly with kustomize's cycle error naming the source.
func TestKustomizeCycle(t *testing.T) {
	tree := fstest.MapFS{
		"a/kustomization.yaml":    {Data: []byte("resources:\n- ../b\n")},
		"b/kustomization.yaml":    {Data: []byte("resources:\n- ../a\n")},
		"self/kustomization.yaml": {Data: []byte("resources:\n- .\n- ../self\n")},
	}
	mem, err := memTree(tree, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"a", "self"} {
		start := time.Now()
		_, _, err := buildKustomize(mem, "test-tree", base, []string{base})
		if err == nil || !strings.Contains(err.Error(), "test-tree: kustomize build: ") || !strings.Contains(err.Error(), "cycle detected") {
			t.Errorf("%s: got %v, want a cycle error naming the source", base, err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: took %v", base, d)
		}
	}
}

// panickingFS panics when krusty reads file, as kustomize does on some
// malformed objects: fault injection through the interface krusty uses.
type panickingFS struct {
	filesys.FileSystem
	file string
}

func (p panickingFS) ReadFile(name string) ([]byte, error) {
	if strings.HasSuffix(name, p.file) {
		panic("injected fault reading " + name)
	}
	return p.FileSystem.ReadFile(name)
}

// TestKustomizePanic: a panic inside krusty fails that build with an
// error naming the source; the lock and the redirected stderr are
// restored, and the next build works.
func TestKustomizePanic(t *testing.T) {
	tree := fstest.MapFS{
		"app/kustomization.yaml": {Data: []byte("resources:\n- cm.yaml\n")},
		"app/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")},
	}
	mem, err := memTree(tree, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	_, _, err = buildKustomize(panickingFS{mem, "app/cm.yaml"}, "test-tree", "app", []string{"app"})
	if err == nil || !strings.Contains(err.Error(), "test-tree: kustomize build: kustomize panicked: injected fault reading /src/app/cm.yaml") {
		t.Errorf("got %v, want the panic as an error naming the source", err)
	}
	if os.Stderr != stderr {
		t.Error("os.Stderr is still redirected after the panic")
	}
	done := make(chan error, 1)
	go func() {
		objs, _, err := buildKustomize(mem, "test-tree", "app", []string{"app"})
		if err == nil && len(objs) != 1 {
			err = fmt.Errorf("%d objects", len(objs))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the build after the panic: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the build after the panic is stuck: krustyMu still held")
	}
}

// panickingCache panics on every lookup: fault injection into a
// component's render through an interface Render calls.
type panickingCache struct{}

func (panickingCache) Get(key string) ([]byte, bool) { panic("injected fault in the cache") }
func (panickingCache) Put(key string, data []byte)   {}

// TestRenderPanic: a panic while rendering a component becomes the
// render's error, naming environment and component.
func TestRenderPanic(t *testing.T) {
	c := testChart("fine", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"}, "")
	p := badChartEnv(t, "fine", "")
	dir, lock := vendorChart(t, p, c)
	r, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock, Cache: panickingCache{}})
	if err == nil || r != nil || err.Error() != "environment bad: component monitoring: render panicked: injected fault in the cache" {
		t.Errorf("got %v, %v; want the panic as an error naming environment and component", r, err)
	}
}

// TestKustomizeOpenAPIState: kyaml's OpenAPI schema is process-global. A
// build whose kustomization sets openapi: (a schema without Deployment's
// merge keys, so a strategic merge patch replaces the container list
// instead of merging it) uses its schema whatever was built before, and
// leaves the next plain build's output as a fresh process would give it.
func TestKustomizeOpenAPIState(t *testing.T) {
	deployment := []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: app
        image: app:1
      - name: sidecar
        image: sidecar:1
`)
	patch := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: sidecar:2\n")
	tree := fstest.MapFS{
		"plain/kustomization.yaml":  {Data: []byte("resources:\n- deploy.yaml\npatches:\n- path: patch.yaml\n")},
		"plain/deploy.yaml":         {Data: deployment},
		"plain/patch.yaml":          {Data: patch},
		"custom/kustomization.yaml": {Data: []byte("openapi:\n  path: schema.json\nresources:\n- deploy.yaml\npatches:\n- path: patch.yaml\n")},
		"custom/deploy.yaml":        {Data: deployment},
		"custom/patch.yaml":         {Data: patch},
		"custom/schema.json":        {Data: []byte(`{"definitions": {}}`)},
	}
	containers := func(base string) string {
		t.Helper()
		mem, err := memTree(tree, "test-tree")
		if err != nil {
			t.Fatal(err)
		}
		objs, _, err := buildKustomize(mem, "test-tree", base, []string{base})
		if err != nil || len(objs) != 1 {
			t.Fatalf("%s: %v %v", base, objs, err)
		}
		c, _, _ := unstructuredSlice(objs[0].Object, "spec", "template", "spec", "containers")
		return fmt.Sprint(c)
	}
	fresh := containers("plain")
	if !strings.Contains(fresh, "app:1") || !strings.Contains(fresh, "sidecar:2") {
		t.Fatalf("plain build: containers %s, want the patch merged", fresh)
	}
	// Without a reset between builds, this one kept the schema of the
	// build before and ignored its own.
	if custom := containers("custom"); custom == fresh {
		t.Errorf("the build with openapi: gives %s, as without it: its schema was not used", custom)
	}
	if after := containers("plain"); after != fresh {
		t.Errorf("after a build with openapi:, containers %s; fresh %s", after, fresh)
	}
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("%s: not an object", f)
		}
		cur = m[f]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

// TestKustomizeParallel: 100 builds at once from goroutines sharing one
// in-memory tree (as components built from the same source do) all
// succeed with the same objects; run with -race to check the sharing.
func TestKustomizeParallel(t *testing.T) {
	tree := fstest.MapFS{
		"app/kustomization.yaml": {Data: []byte("namePrefix: p-\nresources:\n- cm.yaml\n")},
		"app/cm.yaml":            {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: '1'\n")},
	}
	mem, err := memTree(tree, "test-tree")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := buildKustomize(mem, "test-tree", "first", []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Go(func() {
			objs, _, err := buildKustomize(mem, "test-tree", fmt.Sprintf("build-%d", i), []string{"app"})
			if err == nil && (len(objs) != 1 || !reflect.DeepEqual(objs[0].Object, want[0].Object)) {
				err = fmt.Errorf("objects %v, want %v", objs, want)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
}
