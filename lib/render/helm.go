package render

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
)

// Capabilities are what Helm templates may ask about the target cluster.
type Capabilities struct {
	// KubeVersion is the cluster's Kubernetes version, e.g. "v1.34.4".
	KubeVersion string
	// APIVersions are group/versions (and group/version/Kind) served in
	// addition to Helm's built-in list: those of CRDs other components install.
	APIVersions []string
}

// renderChart renders one chart archive the way `helm template
// --include-crds --skip-tests` does, through the SDK in client-only mode:
// no cluster, so `lookup` finds nothing; a template calling it is an error
// unless part.Lookup is "warn". Hooks other than tests are kept as
// ordinary objects (see docs/architecture.md). A template whose output
// changes on every render (random values, the clock) gives a warning, or
// an error when strict.
func renderChart(ctx context.Context, archive string, part platform.HelmPart, userValues map[string]any, caps Capabilities, strict bool) ([]*unstructured.Unstructured, []string, error) {
	chrt, err := loader.Load(archive)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: loading %s: %w", part.Chart, part.Version, archive, err)
	}
	if err := checkSchemas(chrt); err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: %w", part.Chart, part.Version, err)
	}
	var warnings []string
	if chrt.Metadata.Deprecated {
		warnings = append(warnings, fmt.Sprintf("chart %s %s is deprecated upstream", part.Chart, part.Version))
	}
	for _, file := range lookupCalls(chrt) {
		if part.Lookup != "warn" {
			return nil, nil, fmt.Errorf("chart %s %s: %s calls lookup, which finds nothing in an offline render, so the output may differ from what the chart would install; plinth renders only charts whose lookups its catalog knows to be guarded", part.Chart, part.Version, file)
		}
		warnings = append(warnings, fmt.Sprintf("chart %s %s: %s calls lookup, which finds nothing in an offline render (as with helm template)", part.Chart, part.Version, file))
	}
	kv, err := chartutil.ParseKubeVersion(caps.KubeVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: Kubernetes version %q: %w", part.Chart, part.Version, caps.KubeVersion, err)
	}
	run := func(chrt *chart.Chart, crds bool, rendering func(crds string)) (string, error) {
		values := mergeValues(cloneMap(part.Values), userValues)
		out, err := renderTemplates(chrt, part, values, kv, caps.APIVersions, crds, rendering)
		if err != nil {
			return "", fmt.Errorf("chart %s %s: %w", part.Chart, part.Version, err)
		}
		return out, nil
	}
	// The engine renders on one core. The chart's CRDs (static files, most
	// of a large chart's output) are parsed meanwhile, and the templates'
	// output while the template scan and its confirming render run.
	type parsed struct {
		objs []*unstructured.Unstructured
		err  error
	}
	parse := func(text string) <-chan parsed {
		c := make(chan parsed, 1) // never blocks: an abandoned parse ends on its own
		go func() {
			objs, err := manifest.Parse([]byte(text))
			c <- parsed{objs, err}
		}()
		return c
	}
	var crdText string
	var crdObjs <-chan parsed
	out, err := run(chrt, true, func(crds string) { crdText, crdObjs = crds, parse(crds) })
	if err != nil {
		return nil, nil, err
	}
	templateObjs := parse(out[len(crdText):])
	// The confirming render (see changingTemplates) needs only the
	// suspected templates, their helpers and no CRDs: most of a large
	// chart's render time is its CRDs and other templates.
	again := func(files []string) (string, error) {
		if out, err := run(onlyTemplates(chrt, files), false, nil); err == nil {
			return out, nil
		}
		return run(chrt, true, nil) // a helper outside the partials: the whole chart
	}
	changing, err := changingTemplates(chrt, out, again)
	if err != nil {
		return nil, nil, err
	}
	for _, call := range changing {
		msg := fmt.Sprintf("chart %s %s: %s, so its output changes on every render: plinth diff and drift would show it changing; set the value in the environment or the catalog", part.Chart, part.Version, call)
		if strict {
			return nil, nil, fmt.Errorf("%s (strict render)", msg)
		}
		warnings = append(warnings, msg)
	}
	crds, templates := <-crdObjs, <-templateObjs
	if err := cmp.Or(crds.err, templates.err); err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: %w", part.Chart, part.Version, failingTemplate(out, err))
	}
	objs := append(crds.objs, templates.objs...)
	if err := checkAnnotations(objs); err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: rendered output: %w", part.Chart, part.Version, err)
	}
	return objs, warnings, nil
}

// renderTemplates renders chrt as action.Install does in client-only
// dry-run mode (helm template), through the same chartutil and engine
// calls, and returns the manifest stream: the CRDs when crds is set, then
// each template's documents, as "---\n# Source: <template>\n<document>"
// blocks, test hooks left out. rendering, when set, is given the CRDs'
// part before the engine renders. It does not call action.Install because
// Install parses every document once more (releaseutil.SortManifests)
// only to order them by kind and pick out hooks, and render parses
// (manifest.Parse) and orders (manifest.Sort) them anyway: only the
// documents that name a hook go through Helm's sorter here, for its rules
// on hook events (a test hook is left out, an unknown hook skipped).
func renderTemplates(chrt *chart.Chart, part platform.HelmPart, values map[string]any, kv *chartutil.KubeVersion, apiVersions []string, crds bool, rendering func(crds string)) (string, error) {
	if err := chartutil.ValidateReleaseName(part.Release); err != nil {
		return "", fmt.Errorf("release name %q: %w", part.Release, err)
	}
	if err := chartutil.ProcessDependenciesWithMerge(chrt, values); err != nil {
		return "", err
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	caps.APIVersions = append(caps.APIVersions, apiVersions...)
	options := chartutil.ReleaseOptions{Name: part.Release, Namespace: part.Namespace, Revision: 1, IsInstall: true}
	renderValues, err := chartutil.ToRenderValuesWithSchemaValidation(chrt, values, options, caps, false)
	if err != nil {
		return "", err
	}
	if chrt.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(chrt.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", chrt.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	var b strings.Builder
	if crds {
		for _, crd := range chrt.CRDObjects() {
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", crd.Filename, crd.File.Data)
		}
	}
	if rendering != nil {
		rendering(b.String())
	}
	var e engine.Engine // no cluster: lookup finds nothing
	files, err := e.Render(chrt, renderValues)
	if err != nil {
		return "", err
	}
	hooks := map[string]string{} // template → its documents that may be hooks
	for _, name := range slices.Sorted(maps.Keys(files)) {
		// As action.Install: partials and NOTES.txt are not manifests.
		if strings.HasPrefix(path.Base(name), "_") || strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(files[name]) == "" {
			continue
		}
		for _, doc := range splitManifests(files[name]) {
			if strings.Contains(doc, release.HookAnnotation) {
				hooks[name] += doc + "\n---\n"
				continue
			}
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, doc)
		}
	}
	if len(hooks) > 0 {
		sorted, generic, err := releaseutil.SortManifests(hooks, nil, releaseutil.InstallOrder)
		if err != nil {
			return "", err
		}
		for _, m := range generic { // the annotation's name appeared, but not as a hook
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
		}
		for _, h := range sorted {
			if !isTestHook(h) {
				fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
			}
		}
	}
	return b.String(), nil
}

// failingTemplate names the template whose output made parsing out fail
// with err: the error names only the document's place in the stream.
func failingTemplate(out string, err error) error {
	parts := outputs(out)
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		if _, perr := manifest.Parse([]byte(parts[name])); perr != nil {
			return fmt.Errorf("output of %s: %w", name, perr)
		}
	}
	return fmt.Errorf("rendered output: %w", err)
}

// splitManifests is releaseutil.SplitManifests with its documents in
// order. Its separator expression cannot match text without "---", which
// most templates' output is: such output is one document, trimmed.
func splitManifests(text string) []string {
	if !strings.Contains(text, "---") {
		if doc := strings.TrimSpace(text); doc != "" {
			return []string{doc}
		}
		return nil
	}
	docs := releaseutil.SplitManifests(text)
	keys := slices.Collect(maps.Keys(docs))
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = docs[k]
	}
	return out
}

// checkAnnotations refuses an object whose annotations are not strings,
// as Helm's manifest sorter did (see renderTemplates) before render read
// chart output only through manifest.Parse.
func checkAnnotations(objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		meta, _ := o.Object["metadata"].(map[string]any)
		annotations, ok := meta["annotations"]
		if !ok || annotations == nil {
			continue
		}
		m, ok := annotations.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: metadata.annotations is not a map", manifest.IDOf(o))
		}
		for k, v := range m {
			if _, ok := v.(string); !ok && v != nil {
				return fmt.Errorf("%s: annotation %s is not a string", manifest.IDOf(o), k)
			}
		}
	}
	return nil
}

// lookupRe matches a call of Helm's lookup function in a template action.
var lookupRe = regexp.MustCompile(`\{\{-?[^}]*\blookup\s+"`)

// lookupCalls names the templates of a chart and its subcharts that call
// lookup: their output may depend on the cluster, which render cannot see.
func lookupCalls(c *chart.Chart) []string {
	var files []string
	for _, t := range c.Templates {
		if bytes.Contains(t.Data, []byte("lookup")) && lookupRe.Match(t.Data) {
			files = append(files, path.Join(c.ChartFullPath(), t.Name))
		}
	}
	for _, dep := range c.Dependencies() {
		files = append(files, lookupCalls(dep)...)
	}
	slices.Sort(files)
	return files
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// mergeValues merges over into base the way Helm merges values files:
// maps merge key by key, anything else in over replaces base's.
func mergeValues(base, over map[string]any) map[string]any {
	if base == nil {
		base = map[string]any{}
	}
	for k, v := range over {
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := base[k].(map[string]any); ok {
				base[k] = mergeValues(bm, vm)
				continue
			}
		}
		base[k] = v
	}
	return base
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if vm, ok := v.(map[string]any); ok {
			v = cloneMap(vm)
		}
		out[k] = v
	}
	return out
}
