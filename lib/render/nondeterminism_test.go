package render

import (
	"context"
	"strings"
	"testing"
)

// changingChart generates a password in a Secret (through a helper, as
// charts do), stamps the time on a ConfigMap, and keeps a deterministic
// ConfigMap; the Secret is skipped when an existing one is named, but the
// ConfigMap still includes the helper in a branch it does not take then.
func changingChartFiles() map[string]string {
	return map[string]string{
		"_helpers.tpl": `{{- define "changing.password" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecret }}{{ else }}{{ randAlphaNum 32 | b64enc }}{{ end -}}
{{- end -}}`,
		"secret.yaml": `{{- if not .Values.existingSecret }}
apiVersion: v1
kind: Secret
metadata:
  name: admin
data:
  password: {{ include "changing.password" . | quote }}
{{- end }}
`,
		"stamped.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: stamped
  annotations:
    rendered-at: {{ now | date "2006-01-02" | quote }}
`,
		"checksum.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: checksum
  annotations:
    # {{ "randAlphaNum" }} in text or a comment is no call
    checksum/secret: {{ include "changing.password" . | sha256sum | quote }}
`,
	}
}

// TestChangingTemplates: a template whose output changes on every render
// gives a warning naming the chart and template (the component and the
// environment are the Result's), the render still succeeds; Strict makes
// it an error naming environment, component, chart and template; a chart
// whose random call sits in a branch its values do not take, or that has
// no such call, renders without the warning.
func TestChangingTemplates(t *testing.T) {
	const advice = "changes on every render: plinth diff and drift would show it changing; set the value in the environment or the catalog"
	c := testChart("changing", changingChartFiles(), "")
	p := badChartEnv(t, "changing", "")
	dir, lock := vendorChart(t, p, c)

	r, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err != nil {
		t.Fatalf("a plain render fails: %v", err)
	}
	if r.Environment != "bad" || len(r.Components) != 1 || r.Components[0].Name != "monitoring" {
		t.Fatalf("rendered %s %+v", r.Environment, r.Components)
	}
	warnings := strings.Join(r.Components[0].Warnings, "\n")
	for _, want := range []string{
		`chart changing 0.1.0: changing/templates/secret.yaml calls randAlphaNum (in template "changing.password"), so its output ` + advice,
		`chart changing 0.1.0: changing/templates/stamped.yaml calls now, so its output ` + advice,
		// checksum.yaml's checksum of the password changes with it.
		`chart changing 0.1.0: changing/templates/checksum.yaml calls randAlphaNum (in template "changing.password")`,
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
	if n := len(r.Components[0].Warnings); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, warnings)
	}

	_, err = Render(context.Background(), p, Options{VendorDir: dir, Lock: lock, Strict: true})
	for _, want := range []string{"environment bad", "component monitoring", "chart changing 0.1.0", "changing/templates/", advice, "strict render"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("strict render: error %v does not name %q", err, want)
		}
	}

	// With an existing Secret named, the Secret template renders nothing
	// and the checksum's helper takes the other branch: only the clock is
	// left.
	p = badChartEnv(t, "changing", `values: existingSecret: "admin-from-vault"`)
	r, err = Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Components[0].Warnings; len(w) != 1 || !strings.Contains(w[0], "changing/templates/stamped.yaml calls now") {
		t.Errorf("with an existing Secret, warnings = %q, want only stamped.yaml's now", w)
	}

	files := changingChartFiles()
	delete(files, "stamped.yaml")
	steady := testChart("steady", files, "")
	p = badChartEnv(t, "steady", `values: existingSecret: "admin-from-vault"`)
	dir, lock = vendorChart(t, p, steady)
	if _, err := Render(context.Background(), p, Options{VendorDir: dir, Lock: lock, Strict: true}); err != nil {
		t.Errorf("a chart whose output does not change fails a strict render: %v", err)
	}
	r, err = Render(context.Background(), p, Options{VendorDir: dir, Lock: lock})
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Components[0].Warnings; len(w) != 0 {
		t.Errorf("steady chart: warnings %q", w)
	}
}
