package render

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
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
	run := func(chrt *chart.Chart, crds bool) (string, error) {
		install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
		install.DryRun = true
		install.DryRunOption = "client"
		install.ClientOnly = true
		install.Replace = true
		install.IncludeCRDs = crds
		install.ReleaseName = part.Release
		install.Namespace = part.Namespace
		install.KubeVersion = kv
		install.APIVersions = caps.APIVersions
		values := mergeValues(cloneMap(part.Values), userValues)
		rel, err := install.RunWithContext(ctx, chrt, values)
		if err != nil {
			return "", fmt.Errorf("chart %s %s: %w", part.Chart, part.Version, err)
		}
		var b strings.Builder
		b.WriteString(rel.Manifest)
		for _, h := range rel.Hooks {
			if isTestHook(h) {
				continue
			}
			fmt.Fprintf(&b, "\n---\n# Source: %s\n%s\n", h.Path, h.Manifest)
		}
		return b.String(), nil
	}
	out, err := run(chrt, true)
	if err != nil {
		return nil, nil, err
	}
	// The confirming render (see changingTemplates) needs only the
	// suspected templates, their helpers and no CRDs: most of a large
	// chart's render time is its CRDs and other templates.
	again := func(files []string) (string, error) {
		if out, err := run(onlyTemplates(chrt, files), false); err == nil {
			return out, nil
		}
		return run(chrt, true) // a helper outside the partials: the whole chart
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
	objs, err := manifest.Parse([]byte(out))
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s %s: rendered output: %w", part.Chart, part.Version, err)
	}
	return objs, warnings, nil
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
