package render

import (
	"slices"
	"strings"
	"testing"
)

func TestSummarizeWarnings(t *testing.T) {
	in := []string{
		"kubeflow: 'vars' is deprecated. Please use 'replacements' instead. [EXPERIMENTAL] Run 'kustomize edit fix' to update your Kustomization automatically.",
		"kubeflow: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
		"certManager: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
		"kubeflow: well-defined vars that were never replaced: kfp-app-version,kfp-app-name",
		"monitoring: chart kube-prometheus-stack 88.5.3: kube-prometheus-stack/charts/grafana/templates/pvc.yaml calls lookup, which finds nothing in an offline render (as with helm template)",
		"nexus: chart nexus-repository-manager 64.2.0 is deprecated upstream",
		"rancher: chart rancher 2.15.0 is deprecated upstream",
		"nexus: chart nexus-repository-manager 64.2.0 is deprecated upstream",
		"storage: the same text",
		"gpu: the same text",
	}
	want := []string{
		"monitoring: chart kube-prometheus-stack 88.5.3: kube-prometheus-stack/charts/grafana/templates/pvc.yaml calls lookup, which finds nothing in an offline render (as with helm template)",
		"nexus: chart nexus-repository-manager 64.2.0 is deprecated upstream",
		"rancher: chart rancher 2.15.0 is deprecated upstream",
		"storage, gpu: the same text",
		"kubeflow, certManager: 3 kustomize notes about upstream kustomizations (deprecated fields vars, bases; vars never used kfp-app-name, kfp-app-version), which plinth builds as they are: nothing to change in the environment; -v lists them",
	}
	got := SummarizeWarnings(in, false)
	if !slices.Equal(got, want) {
		t.Errorf("summary:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The same input, the same lines: a cached render prints what a cold one does.
	if again := SummarizeWarnings(slices.Clone(in), false); !slices.Equal(again, got) {
		t.Errorf("not deterministic:\n%s", strings.Join(again, "\n"))
	}

	verbose := SummarizeWarnings(in, true)
	if len(verbose) != 7 {
		t.Errorf("verbose: %d lines, want 7 (every distinct text once):\n%s", len(verbose), strings.Join(verbose, "\n"))
	}
	for _, w := range verbose {
		if strings.Contains(w, "kustomize notes") {
			t.Errorf("verbose summarises: %s", w)
		}
	}
	if !slices.Contains(verbose, "kubeflow, certManager: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.") {
		t.Errorf("verbose does not merge the components of one note:\n%s", strings.Join(verbose, "\n"))
	}
	if got := SummarizeWarnings(nil, false); len(got) != 0 {
		t.Errorf("no warnings: %v", got)
	}
}
