package platform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
)

// TestCaseStudy evaluates the reference case study's three attempts
// (testdata/casestudy): the two failed stacks are rejected by the rules
// that explain their failure, the stack that worked is accepted.
func TestCaseStudy(t *testing.T) {
	for _, c := range []struct {
		env      string
		errors   []string
		warnings []string
	}{
		// OKD 3.11 is Kubernetes 1.11, too old for Kubeflow 1.2; Argo's docker executor cannot run under OKD's SCC.
		{env: "attempt1-okd311", errors: []string{"ARGO-EXEC-1", "KF-K8S-1"}, warnings: []string{"IMG-1", "KF-DEP-1", "KF-TOOL-1"}},
		// OKD 4 on two hosts; CRI-O has no Docker daemon for the docker executor.
		{env: "attempt2-okd4", errors: []string{"ARGO-EXEC-1", "OCP-2"}, warnings: []string{"KF-TOOL-1"}},
		// Kubernetes 1.19 + Docker + Rancher 2.5 + Kubeflow 1.2 + GlusterFS + GPU operator 1.6.
		{env: "attempt3-final", warnings: []string{"IMG-1", "KF-DEP-1", "KF-TOOL-1"}},
	} {
		t.Run(c.env, func(t *testing.T) {
			p := evaluateDir(t, "../../testdata/casestudy", c.env)
			errs, warns := bySeverity(p.Findings)
			if !slices.Equal(errs, c.errors) || !slices.Equal(warns, c.warnings) {
				t.Errorf("got errors %v warnings %v, want errors %v warnings %v\n%s", errs, warns, c.errors, c.warnings, findingsText(p.Findings))
			}
			if p.Valid() != (len(c.errors) == 0) {
				t.Errorf("Valid() = %v", p.Valid())
			}
		})
	}
}

// TestExampleEnvironments keeps the bundled examples vet-clean.
func TestExampleEnvironments(t *testing.T) {
	want := map[string][]string{
		"dev":  nil,
		"okd":  nil,
		"prod": {"NEXUS-1.deprecated"}, // nexus-repository-manager 64.2.0 is the fixture chart, and deprecated upstream
	}
	names, err := List("../..")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"dev", "okd", "prod"}) {
		t.Fatalf("environments: %v", names)
	}
	for _, name := range names {
		p := evaluateDir(t, "../..", name)
		errs, warns := bySeverity(p.Findings)
		if len(errs) > 0 || !slices.Equal(warns, want[name]) {
			t.Errorf("%s: errors %v warnings %v, want warnings %v\n%s", name, errs, warns, want[name], findingsText(p.Findings))
		}
	}
	p := evaluateDir(t, "../..", "okd")
	if v, err := p.KubernetesVersion(); err != nil || v != "1.34" {
		t.Errorf("okd: Kubernetes version %q, %v; want 1.34 (OKD 4.21)", v, err)
	}
}

// TestDesignBriefExample: the example of the design brief is valid; its
// cert-manager and Istio are switched on and versioned by its Kubeflow.
func TestDesignBriefExample(t *testing.T) {
	p := evaluateDir(t, "../../testdata/design", "brief")
	errs, warns := bySeverity(p.Findings)
	// The brief writes objects as a list: still accepted, with OBJECT-1.
	if want := []string{"GPU-1.validated", "KF-K8S-2.validated", "NEXUS-1.deprecated", "OBJECT-1"}; len(errs) > 0 || !slices.Equal(warns, want) {
		t.Fatalf("errors %v warnings %v, want warnings %v\n%s", errs, warns, want, findingsText(p.Findings))
	}
	for path, want := range map[string]string{
		"components.certManager.enabled": "true", "components.certManager.version": `"v1.14.5"`,
		"components.istio.enabled": "true", "components.istio.version": `"1.22.1"`,
	} {
		v, _ := p.Value.LookupPath(envPath).LookupPath(cueParse(path)).Default()
		if got := fmt.Sprint(v); got != want {
			t.Errorf("%s = %s, want %s (Kubeflow 1.9 bundles cert-manager 1.14.5 and Istio 1.22.1)", path, got, want)
		}
	}
}

// TestSchemaErrors covers bad input: each error names the file, line and
// column in the environment, the field's path and what is wrong.
func TestSchemaErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want []string // Finding.String() of every finding, in order
	}{
		{
			name: "unknown fields",
			src:  "cluster: {version: \"1.34.1\", runtme: \"docker\"}\ncomponents: kubeflw: enabled: true\nnetwork: mirrors: {image: \"nexus.local\"}\n",
			want: []string{
				"environments/env/env.cue:2:30: error SCHEMA cluster.runtme: field not allowed (did you mean runtime?)",
				"environments/env/env.cue:3:13: error SCHEMA components.kubeflw: field not allowed (did you mean kubeflow?)",
				"environments/env/env.cue:4:20: error SCHEMA network.mirrors.image: field not allowed (did you mean images?)",
			},
		},
		{
			name: "wrong types",
			src:  "cluster: {version: 1.34, nodes: workers: \"three\"}\nnetwork: airGapped: \"yes\"\n",
			want: []string{
				"environments/env/env.cue:2:20: error SCHEMA cluster.version: 1.34 is a number; the field takes a string (a version such as 1.34.2, v26.7.0 or 26.03): write it as a string: version: \"1.34\"",
				"environments/env/env.cue:2:42: error SCHEMA cluster.nodes.workers: conflicting values \"three\" and int (mismatched types string and int)",
				"environments/env/env.cue:3:21: error SCHEMA network.airGapped: conflicting values \"yes\" and bool (mismatched types string and bool)",
			},
		},
		{
			// A quantity written as a number says to quote it, with the
			// field's own value; any number where a string belongs too.
			name: "numbers for strings",
			src: "cluster: version: \"1.34.1\"\ntenants: ds: {quota: {cpu: 8, memory: 32, storage: 1.5}, owners: [7]}\n" +
				"components: plinth: resources: limits: cpu: 2\nobjects: cm: {apiVersion: \"v1\", kind: 5, metadata: name: \"cm\"}\n",
			want: []string{
				"environments/env/env.cue:3:28: error SCHEMA tenants.ds.quota.cpu: 8 is a number; a quantity is a string, such as \"500m\", \"64\" or \"256Gi\": write the quantity as a string: cpu: \"8\"",
				"environments/env/env.cue:3:39: error SCHEMA tenants.ds.quota.memory: 32 is a number; a quantity is a string, such as \"500m\", \"64\" or \"256Gi\": write the quantity as a string: memory: \"32\"",
				"environments/env/env.cue:3:52: error SCHEMA tenants.ds.quota.storage: 1.5 is a number; a quantity is a string, such as \"500m\", \"64\" or \"256Gi\": write the quantity as a string: storage: \"1.5\"",
				"environments/env/env.cue:3:67: error SCHEMA tenants.ds.owners.0: 7 is a number; the field takes a string (a subject such as group:risk-ds or user:jdoe): write it as a string: \"7\"",
				"environments/env/env.cue:4:45: error SCHEMA components.plinth.resources.limits.cpu: 2 is a number; a quantity is a string, such as \"500m\", \"64\" or \"256Gi\": write the quantity as a string: cpu: \"2\"",
				"environments/env/env.cue:5:39: error SCHEMA objects.cm.kind: 5 is a number; the field takes a string: write it as a string: kind: \"5\"",
			},
		},
		{
			name: "not a version",
			src:  "cluster: version: \"latest\"\ncomponents: gpu: operatorVersion: \"v26\"\ncomponents: kubeflow: {enabled: true, version: \"1.x\"}\n",
			want: []string{
				"environments/env/env.cue:2:19: error SCHEMA cluster.version: invalid value \"latest\" (want a version such as 1.34.2, v26.7.0 or 26.03)",
				"environments/env/env.cue:3:35: error SCHEMA components.gpu.operatorVersion: invalid value \"v26\" (want a version such as 1.34.2, v26.7.0 or 26.03)",
				"environments/env/env.cue:4:48: error SCHEMA components.kubeflow.version: invalid value \"1.x\" (want a version such as 1.34.2, v26.7.0 or 26.03)",
			},
		},
		{
			name: "value not allowed",
			src:  "cluster: {version: \"1.34.1\", runtime: \"rkt\"}\ntenants: \"Risk_Models\": {quota: {cpu: \"4\", memory: \"8Gi\"}, owners: [\"group:risk\"]}\ntenants: risk: {quota: {cpu: \"4\", memory: \"8Gi\"}, owners: [\"risk\"]}\n",
			want: []string{
				"environments/env/env.cue:2:39: error SCHEMA cluster.runtime: invalid value \"rkt\" (want one of \"containerd\", \"cri-o\", \"docker\")",
				"environments/env/env.cue:3:10: error SCHEMA tenants.Risk_Models: field not allowed (\"Risk_Models\" is not a DNS-1123 label: use lowercase letters, digits and '-')",
				"environments/env/env.cue:4:60: error SCHEMA tenants.risk.owners.0: invalid value \"risk\" (want a subject such as group:risk-ds or user:jdoe)",
			},
		},
		{
			// CUE alone would not report runtme next to the failed disjunction of distribution.
			name: "unknown field next to another error",
			src:  "cluster: {version: \"1.34.1\", runtme: \"docker\", distribution: \"openshift\"}\n",
			want: []string{
				"environments/env/env.cue:2:30: error SCHEMA cluster.runtme: field not allowed (did you mean runtime?)",
				"environments/env/env.cue:2:62: error SCHEMA cluster.distribution: invalid value \"openshift\" (want one of \"kubernetes\", \"okd\")",
			},
		},
		{
			name: "missing required field",
			src:  "storage: {}\n",
			want: []string{"environments/env: error SCHEMA cluster.version: field is required but not present"},
		},
		{
			name: "syntax error",
			src:  "cluster: {version: \"1.34.1\"\n",
			want: []string{"environments/env/env.cue:2:29: error SCHEMA (environment): expected '}', found 'EOF'"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := evaluate(t, map[string]string{"environments/env/env.cue": "package plinth\n" + c.src})
			var got []string
			for _, f := range p.Findings {
				got = append(got, f.String())
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if p.Valid() {
				t.Error("Valid() = true")
			}
		})
	}
}

// TestLayering checks that files of parent directories are unified with
// the environment's own, and that a conflict between layers is reported
// at the layer that conflicts.
func TestLayering(t *testing.T) {
	p := evaluate(t, map[string]string{
		"environments/common.cue":  "package plinth\ncluster: runtime: \"cri-o\"\ndrift: policy: \"correct\"\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\n",
		"environments/other.txt":   "not CUE",
		"environments/env/x.json":  "{\"ignored\": true}",
	})
	if len(p.Findings) != 0 {
		t.Fatalf("findings: %v", p.Findings)
	}
	if got, _ := p.Value.LookupPath(envPath).LookupPath(cueParse("cluster.runtime")).String(); got != "cri-o" {
		t.Errorf("cluster.runtime = %q, want cri-o from common.cue", got)
	}
	p = evaluate(t, map[string]string{
		"environments/common.cue":  "package plinth\ncluster: version: \"1.33.0\"\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\n",
	})
	if len(p.Findings) != 1 || !strings.Contains(p.Findings[0].String(), "cluster.version: conflicting values \"1.34.1\" and \"1.33.0\"") {
		t.Errorf("findings: %v", p.Findings)
	}
}

// TestFileChecks: a file the loader would skip, an import it would fetch,
// a CUE tool task (in a _tool.cue file too) or an embedded file is an
// error at that file, not silence, a registry request or a file read.
func TestFileChecks(t *testing.T) {
	p := evaluate(t, map[string]string{
		"environments/common.cue":       "package plinth\nimport \"tool/exec\"\n",
		"environments/env/env.cue":      "package plinth\nimport \"example.com/lib@v0\"\ncluster: version: \"1.34.1\"\n",
		"environments/env/typo.cue":     "package plinht\ncluster: runtime: \"cri-o\"\n",
		"environments/env/plain.cue":    "cluster: nodes: workers: 5\n",
		"environments/env/run_tool.cue": "package plinth\nimport \"tool/exec\"\ncommand: id: exec.Run & {cmd: \"id\"}\n",
		"environments/env/embed.cue":    "@extern(embed)\npackage plinth\nleak: _ @embed(file=\"../../../etc/hostname\", type=text)\n",
		"other.cue":                     "package tooling\n", // the root may hold other packages
	})
	want := []string{
		"environments/common.cue:2:8: error SCHEMA (environment): import \"tool/exec\" is not allowed: plinth never runs CUE tool tasks",
		"environments/env/embed.cue:1:1: error SCHEMA (environment): @extern is not allowed: environments embed no files (plinth reads only .cue files from a repository)",
		"environments/env/env.cue:2:8: error SCHEMA (environment): import \"example.com/lib@v0\" is not allowed: environments may import only CUE's standard library (plinth fetches no CUE modules)",
		"environments/env/plain.cue:1:1: error SCHEMA (environment): file has no package clause: environment files start with \"package plinth\"",
		"environments/env/run_tool.cue:2:8: error SCHEMA (environment): import \"tool/exec\" is not allowed: plinth never runs CUE tool tasks",
		"environments/env/typo.cue:1:9: error SCHEMA (environment): file is package plinht, so it would be ignored: environment files are package plinth",
	}
	var got []string
	for _, f := range p.Findings {
		got = append(got, f.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestResolve(t *testing.T) {
	if _, err := Resolve("../..", "staging"); err == nil || !strings.Contains(err.Error(), "environment staging not found") || !strings.Contains(err.Error(), "known: dev, okd, prod") {
		t.Errorf("missing environment: %v", err)
	}
	if _, err := Resolve("../..", "../../testdata/casestudy/environments/attempt1-okd311"); err != nil {
		t.Errorf("directory inside the root: %v", err)
	}
	if _, err := Resolve("../../environments", "/tmp"); err == nil || !strings.Contains(err.Error(), "outside the root") {
		t.Errorf("directory outside the root: %v", err)
	}
	env, err := Resolve("../..", "prod")
	if err != nil || env.Name != "prod" {
		t.Errorf("prod: %+v, %v", env, err)
	}
}

func evaluateDir(t *testing.T, root, name string) *Platform {
	t.Helper()
	env, err := Resolve(root, name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Evaluate(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func bySeverity(fs []Finding) (errs, warns []string) {
	for _, f := range fs {
		if f.Severity == SeverityError {
			errs = append(errs, f.Rule)
		} else {
			warns = append(warns, f.Rule)
		}
	}
	slices.Sort(errs)
	slices.Sort(warns)
	return errs, warns
}

func findingsText(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func cueParse(p string) cue.Path { return cue.ParsePath(p) }

// TestSymlinks: a symlink anywhere the loader reads (an environment file,
// a parent's file, cue.mod, the environment directory itself) is an error
// naming it, wherever it points, and nothing of its target is quoted.
func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "passwd")
	if err := os.WriteFile(secret, []byte("root:x:0:0:SECRET-CONTENT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "env.cue"), []byte("package plinth\ncluster: version: \"1.34.1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"environments/common.cue":  "package plinth\n",
		"environments/env/env.cue": "package plinth\ncluster: version: \"1.34.1\"\n",
	}
	for _, c := range []struct {
		name, link, target string
		want               string
	}{
		{"environment file to a file outside", "environments/env/values.cue", secret, "environments/env/values.cue: error SCHEMA (environment): is a symlink"},
		{"environment file inside the repository", "environments/env/shared.cue", "../common.cue", "environments/env/shared.cue: error SCHEMA (environment): is a symlink"},
		{"directory named like a file, to ..", "environments/env/up.cue", "..", "environments/env/up.cue: error SCHEMA (environment): is a symlink"},
		{"parent layer", "environments/base.cue", secret, "environments/base.cue: error SCHEMA (environment): is a symlink"},
		{"cue.mod/pkg to /", "cue.mod/pkg/x", "/", "cue.mod/pkg/x: error SCHEMA (environment): is a symlink"},
		{"cue.mod itself", "cue.mod", outside, "cue.mod: error SCHEMA (environment): is a symlink"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, good)
			link := filepath.Join(root, c.link)
			if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(c.target, link); err != nil {
				t.Fatal(err)
			}
			p := evaluateDir(t, root, "env")
			text := findingsText(p.Findings)
			if p.Valid() || !strings.Contains(text, c.want) {
				t.Errorf("findings:\n%s\nwant %q", text, c.want)
			}
			if strings.Contains(text, "SECRET-CONTENT") || strings.Contains(text, "root:x") {
				t.Errorf("a finding quotes the symlink's target:\n%s", text)
			}
		})
	}
	t.Run("environment directory", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, map[string]string{"environments/common.cue": "package plinth\n"})
		if err := os.Symlink(outside, filepath.Join(root, "environments", "env")); err != nil {
			t.Fatal(err)
		}
		_, err := Resolve(root, "env")
		if err == nil || !strings.Contains(err.Error(), "environment env: environments/env is a symlink") {
			t.Errorf("Resolve: %v", err)
		}
	})
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestObjects: the environment's objects are checked at vet as the API
// server would check them (lib/apicheck); each finding names the
// environment, the object and the field, at the field in the user's file.
// The list form is still read, with warning OBJECT-1.
func TestObjects(t *testing.T) {
	p := evaluate(t, map[string]string{"environments/env/env.cue": `package plinth
cluster: version: "1.34.1"
objects: [{
	apiVersion: "v1"
	kind:       "Secret"
	metadata: {name: "db", namespace: "apps"}
	data: password: "hunter2!"
	stringData: user: "admin"
}, {
	apiVersion: "apps/v1"
	kind:       "Deployment"
	metadata: name: "web"
	spec: {replica: 2, template: spec: containers: [{name: "web", image: "nginx", resources: limits: cpu: "lots"}]}
}, {
	apiVersion: "v1"
	kind:       "ConfigMap"
	metadata: {name: "Bad_Name", namespace: "apps"}
	data: "app.conf": 42
}, {
	apiVersion: "example.com/v1"
	kind:       "Widget"
	metadata: name: "Left_To_Its_CRD"
}]
`})
	want := []string{
		`environments/env/env.cue:7:8: error OBJECT objects.0.data.password: environment env, Secret apps/db: data.password: is not base64 (illegal base64 data at input byte 7): encode each value of data in base64, or write the plain text under stringData`,
		`environments/env/env.cue:13:9: error OBJECT objects.1.spec.replica: environment env, Deployment web: spec.replica: unknown field: apps/v1 Deployment has no field of this name here: did you mean replicas?`,
		`environments/env/env.cue:13:99: error OBJECT objects.1.spec.template.spec.containers.0.resources.limits.cpu: environment env, Deployment web: spec.template.spec.containers[0].resources.limits.cpu: is not a quantity such as 500m, 2 or 4Gi (quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'): fix the object: the API server would refuse it`,
		`environments/env/env.cue:17:13: error OBJECT objects.2.metadata.name: environment env, ConfigMap apps/Bad_Name: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'): rename the object`,
		`environments/env/env.cue:18:8: error OBJECT objects.2.data.app.conf: environment env, ConfigMap apps/Bad_Name: data["app.conf"]: is a number where v1 ConfigMap takes a string: write a string`,
		`environments/env/env.cue:3:1: warning OBJECT-1 objects: objects is a list of 4 object(s): write objects as a map from a key of your choosing (the object's name, say) to the object: objects: "platform-info": {apiVersion: "v1", kind: "ConfigMap", ...} instead of objects: [{...}]; every file and layer can then add objects, where two lists conflict element by element`,
	}
	var got []string
	for _, f := range p.Findings {
		got = append(got, f.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if p.Valid() {
		t.Error("Valid() = true")
	}
}
