package render

import (
	"context"
	"slices"
	"testing"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// TestChartHooks: render keeps hooks as objects except test hooks, skips a
// hook with an unknown event (as Helm's sorter does, e.g. Helm 2's
// crd-install), keeps a document that only mentions the annotation, and
// reads every document of a template, a List's items included.
func TestChartHooks(t *testing.T) {
	cm := func(name, annotations string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  annotations:\n" + annotations + "data:\n  a: b\n"
	}
	c := testChart("hooks", map[string]string{
		"job.yaml":     cm("pre-install", `    "helm.sh/hook": pre-install,pre-upgrade`+"\n    helm.sh/hook-weight: \"-5\"\n"),
		"test.yaml":    cm("test", `    "helm.sh/hook": test`+"\n"),
		"old.yaml":     cm("old-test", `    "helm.sh/hook": test-success`+"\n"),
		"crd.yaml":     cm("crd-install", `    "helm.sh/hook": crd-install`+"\n"),
		"mention.yaml": cm("mention", `    note: "not a helm.sh/hook"`+"\n"),
		"many.yaml": cm("first", "    a: b\n") + "---\n# a comment only\n---\n" +
			"apiVersion: v1\nkind: List\nitems:\n- " + "apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: item\n",
		"_helpers.tpl": `{{- define "x" }}kind: ConfigMap{{ end }}`,
		"NOTES.txt":    "thanks",
	}, "")
	p := badChartEnv(t, "hooks", "")
	dir, lock := vendorChart(t, p, c)
	r, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range manifest.AllObjects(r.Components) {
		if o.GetKind() == "ConfigMap" {
			names = append(names, o.GetName())
		}
	}
	slices.Sort(names)
	if want := []string{"first", "item", "mention", "pre-install"}; !slices.Equal(names, want) {
		t.Errorf("ConfigMaps %v, want %v", names, want)
	}
}
