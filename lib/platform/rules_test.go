package platform

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// baseline is layered under every rule case (as environments/common.cue):
// a valid, unremarkable cluster whose values a case may override.
const baseline = `package plinth
cluster: {
	distribution: *"kubernetes" | _
	version:      *"1.34.4" | _
	runtime:      *"containerd" | _
	nodes: {controlPlane: *3 | _, workers: *3 | _, gpuWorkers: *0 | _}
}
storage: default: *"nfs" | _
storage: nfs: {server: "10.0.0.1", path: "/exports"}
`

// kubeflow enables Kubeflow with the prerequisites it needs.
const kubeflow = "components: {certManager: enabled: true, istio: enabled: true, kubeflow: enabled: true}\n"

// ruleCases gives every rule environments that violate it and one close
// to them that does not. Cases are layered over baseline unless bare.
var ruleCases = []struct {
	rule string
	fail []string
	pass string
	bare bool
}{
	{rule: "KF-VER-1", fail: []string{kubeflow + `components: kubeflow: version: "1.12.0"`}, pass: kubeflow + `components: kubeflow: version: "26.03"`},
	{rule: "KF-K8S-1", fail: []string{kubeflow + `cluster: version: "1.33.2"`, kubeflow + `cluster: {distribution: "okd", version: "3.11", runtime: "cri-o"}, components: kubeflow: version: "1.2.0"`}, pass: kubeflow + `cluster: version: "1.34.0"`},
	{rule: "KF-K8S-2", fail: []string{kubeflow + `cluster: version: "1.22.0", components: kubeflow: version: "1.5.0"`, kubeflow + `cluster: version: "1.21.3", components: kubeflow: version: "1.2.0"`}, pass: kubeflow + `cluster: version: "1.21.0", components: kubeflow: version: "1.5.0"`},
	{rule: "KF-K8S-2.validated", fail: []string{kubeflow + `cluster: version: "1.30.0", components: kubeflow: version: "1.9.1"`}, pass: kubeflow + `cluster: version: "1.29.4", components: kubeflow: version: "1.9.1"`},
	{rule: "KF-TOOL-1", fail: []string{kubeflow + `cluster: version: "1.19.0", components: kubeflow: version: "1.4.1"`, kubeflow + `cluster: version: "1.19.0", components: kubeflow: version: "1.2.0"`}, pass: kubeflow + `cluster: version: "1.24.0", components: kubeflow: version: "1.7.0"`},
	{rule: "KF-DEP-1", fail: []string{kubeflow + `components: certManager: version: "v1.18.2"`, kubeflow + `components: istio: version: "1.28.0"`}, pass: kubeflow + `cluster: version: "1.29.1", components: kubeflow: version: "1.9.1"`},
	{rule: "KF-DEP-2", fail: []string{`components: {kubeflow: enabled: true, istio: enabled: false}`, `components: {kubeflow: enabled: true, certManager: enabled: false}`}, pass: `components: kubeflow: enabled: true`},
	{rule: "ARGO-EXEC-1", fail: []string{
		kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "docker"}`,
		kubeflow + `cluster: {version: "1.23.0", runtime: "docker"}, components: kubeflow: {version: "1.9.0", pipelines: {argoExecutor: "docker", argoVersion: "3.4.17"}}`,
		kubeflow + `cluster: {version: "1.25.0", runtime: "docker", criDockerd: true}, components: kubeflow: {version: "1.8.0", pipelines: {argoExecutor: "docker", argoVersion: "3.4.0"}}`,
	}, pass: kubeflow + `cluster: {version: "1.19.0", runtime: "docker"}, components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "docker"}`},
	{rule: "ARGO-EXEC-2", fail: []string{
		kubeflow + `cluster: version: "1.29.0", components: kubeflow: {version: "1.9.0", pipelines: argoExecutor: "pns"}`,
		kubeflow + `cluster: version: "1.17.0", components: kubeflow: {version: "1.3.0", pipelines: argoExecutor: "emissary"}`,
		kubeflow + `cluster: version: "1.25.0", components: kubeflow: {version: "1.8.0", pipelines: {argoExecutor: "pns", argoVersion: "v3.4.2"}}`,
	}, pass: kubeflow + `cluster: version: "1.25.0", components: kubeflow: {version: "1.8.0", pipelines: {argoExecutor: "pns", argoVersion: "3.3.9"}}`},
	{rule: "ARGO-EXEC-3", fail: []string{kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "k8sapi"}`}, pass: kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "emissary"}`},
	{rule: "ARGO-EXEC-4", fail: []string{kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "pns"}`}, pass: kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "emissary"}`},
	{rule: "ARGO-EXEC-4.okd", fail: []string{kubeflow + `cluster: {distribution: "okd", version: "4.8", runtime: "cri-o"}, components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "pns"}`}, pass: kubeflow + `cluster: {distribution: "okd", version: "4.8", runtime: "cri-o"}, components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "emissary"}`},
	{rule: "RT-K8S-1", fail: []string{`cluster: {version: "1.24.0", runtime: "docker"}`}, pass: `cluster: {version: "1.24.0", runtime: "docker", criDockerd: true}`},
	{rule: "OCP-1", fail: []string{`cluster: {distribution: "okd", version: "4.99.0", runtime: "cri-o"}`}, pass: `cluster: {distribution: "okd", version: "4.19.0-okd-scos.1", runtime: "cri-o"}`},
	{rule: "OCP-1.runtime", fail: []string{`cluster: {distribution: "okd", version: "4.19.0", runtime: "containerd"}`, `cluster: {distribution: "okd", version: "4.4.0", runtime: "docker"}`}, pass: `cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o"}`},
	{rule: "OCP-2", fail: []string{`cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", nodes: controlPlane: 1}`, `cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", nodes: workers: 1}`}, pass: `cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", nodes: {controlPlane: 3, workers: 0}}`},
	{rule: "OCP-3", fail: []string{`cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", os: "fcos"}`, `cluster: {distribution: "okd", version: "4.15.0", runtime: "cri-o", os: "scos"}`}, pass: `cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", os: "scos"}`},
	{rule: "OCP-4", fail: []string{`cluster: {distribution: "okd", version: "4.1.0", runtime: "cri-o"}, network: {airGapped: true, mirrors: images: "registry.local"}`}, pass: `cluster: {distribution: "okd", version: "4.2.0", runtime: "cri-o"}, network: {airGapped: true, mirrors: images: "registry.local"}`},
	{rule: "TEKTON-1", fail: []string{kubeflow + `cluster: version: "1.32.0", components: kubeflow: {version: "1.10.0", pipelines: engine: "tekton"}`}, pass: kubeflow + `cluster: version: "1.29.0", components: kubeflow: {version: "1.9.0", pipelines: engine: "tekton"}`},
	{rule: "RANCHER-1", fail: []string{`components: {certManager: enabled: true, rancher: {enabled: true, version: "2.12.3"}}`, `cluster: version: "1.20.1", components: {certManager: enabled: true, rancher: {enabled: true, version: "2.5.5"}}`}, pass: `components: {certManager: enabled: true, rancher: {enabled: true, version: "2.15.0"}}`},
	{rule: "RANCHER-2", fail: []string{`cluster: version: "1.33.0", components: {certManager: enabled: true, rancher: {enabled: true, version: "2.12.1", downstream: ["1.31.4", "1.30.2"]}}`}, pass: `cluster: version: "1.33.0", components: {certManager: enabled: true, rancher: {enabled: true, version: "2.12.1", downstream: ["1.31.4"]}}`},
	{rule: "RANCHER-3", fail: []string{`components: {rancher: enabled: true, certManager: enabled: false}`, `components: {rancher: {enabled: true, tls: "letsEncrypt"}, certManager: enabled: false}`}, pass: `components: {rancher: {enabled: true, tls: "secret"}, certManager: enabled: false}`},
	{rule: "CM-K8S-1", fail: []string{`components: certManager: {enabled: true, version: "v1.12.0"}`}, pass: `components: certManager: {enabled: true, version: "v1.19.4"}`},
	{rule: "GPU-1", fail: []string{`cluster: {version: "1.15.0", runtime: "docker", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "1.6.2"}`}, pass: `cluster: {version: "1.16.0", runtime: "docker", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "1.6.2"}`},
	{rule: "GPU-1.validated", fail: []string{`cluster: nodes: gpuWorkers: 1, components: gpu: {enabled: true, operatorVersion: "v24.3.0"}`}, pass: `cluster: nodes: gpuWorkers: 1, components: gpu: {enabled: true, operatorVersion: "v26.7.0"}`},
	{rule: "GPU-1.okd", fail: []string{`cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", nodes: gpuWorkers: 1}, components: gpu: enabled: true`}, pass: `cluster: {distribution: "okd", version: "4.19.0", runtime: "cri-o", os: "rhcos", nodes: gpuWorkers: 1}, components: gpu: enabled: true`},
	{rule: "GPU-2", fail: []string{`cluster: {version: "1.23.0", runtime: "docker", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "v23.3.2"}`}, pass: `cluster: {version: "1.23.0", runtime: "docker", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "1.10.1"}`},
	{rule: "GPU-3", fail: []string{`cluster: {version: "1.19.0", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "1.6.2", mig: "single"}`}, pass: `cluster: {version: "1.19.0", nodes: gpuWorkers: 1}, components: gpu: {enabled: true, operatorVersion: "1.7.0", mig: "single"}`},
	{rule: "GPU-4", fail: []string{`components: gpu: enabled: true`}, pass: `cluster: nodes: gpuWorkers: 2, components: gpu: enabled: true`},
	{rule: "MON-1", fail: []string{`cluster: version: "1.24.0", components: monitoring: enabled: true`, `cluster: version: "1.18.0", components: monitoring: {enabled: true, version: "55.0.0"}`}, pass: `cluster: version: "1.25.0", components: monitoring: enabled: true`},
	{rule: "MON-1.registry", fail: []string{`cluster: version: "1.24.0", network: {airGapped: true, mirrors: images: "nexus.local"}, components: monitoring: {enabled: true, version: "41.0.0"}`}, pass: `cluster: version: "1.24.0", network: {airGapped: true, mirrors: images: "nexus.local"}, components: monitoring: {enabled: true, version: "42.0.0"}`},
	{rule: "NEXUS-1", fail: []string{`cluster: version: "1.18.0", components: nexus: enabled: true`, `components: nexus: {enabled: true, version: "65.0.0"}`}, pass: `components: nexus: {enabled: true, version: "64.2.0"}`},
	{rule: "NEXUS-1.deprecated", fail: []string{`components: nexus: enabled: true`}, pass: `components: nexus: enabled: false`},
	{rule: "MIRROR-1", fail: []string{`network: airGapped: true`}, pass: `network: {airGapped: true, mirrors: images: "nexus.bank.local:8443/proxy"}`},
	{rule: "EGRESS-1", fail: []string{
		`network: allowedEgress: ["nexus.bank.local"], components: monitoring: enabled: true`,
		`network: {airGapped: true, mirrors: images: "nexus.bank.local:8443", allowedEgress: ["git.bank.local"]}`,
	}, pass: `network: allowedEgress: ["quay.io", "registry.k8s.io", "docker.io", "ghcr.io", "*.github.io", "registry.k8s.io"], components: monitoring: enabled: true`},
	{rule: "STORE-1", bare: true, fail: []string{"package plinth\ncluster: version: \"1.34.1\"\n" + kubeflow}, pass: "package plinth\ncluster: version: \"1.34.1\"\nstorage: {default: \"nfs\", nfs: {server: \"nfs\", path: \"/x\"}}\n" + kubeflow},
	{rule: "STORE-1.rwx", fail: []string{kubeflow + `storage: {default: "ceph", ceph: filesystem: "rbd"}`, kubeflow + `storage: default: "local"`, kubeflow + `cluster: version: "1.25.0", storage: {default: "longhorn", longhorn: version: "1.0.2"}`}, pass: kubeflow + `storage: {default: "ceph", ceph: filesystem: "cephfs"}`},
	{rule: "STORE-2.glusterfs", fail: []string{`cluster: version: "1.26.0", storage: glusterfs: inTree: true`, `cluster: {distribution: "okd", version: "4.12.0", runtime: "cri-o"}, storage: glusterfs: inTree: true`}, pass: `cluster: version: "1.25.9", storage: glusterfs: inTree: true`},
	{rule: "STORE-2.ceph", fail: []string{`cluster: version: "1.31.0", storage: ceph: inTree: true`}, pass: `cluster: version: "1.30.0", storage: ceph: inTree: true`},
	{rule: "STORE-2.rook", fail: []string{`cluster: version: "1.30.0", storage: ceph: rook: "v1.20.6"`}, pass: `cluster: version: "1.31.0", storage: ceph: rook: "v1.20.6"`},
	{rule: "STORE-2.rook-validated", fail: []string{`cluster: version: "1.30.0", storage: ceph: rook: "v1.14.9"`}, pass: `cluster: version: "1.29.0", storage: ceph: rook: "v1.14.9"`},
	{rule: "STORE-2.longhorn", fail: []string{`cluster: version: "1.24.0", storage: longhorn: version: "1.8.0"`}, pass: `cluster: version: "1.25.0", storage: longhorn: version: "1.8.0"`},
	{rule: "STORE-3", fail: []string{`storage: default: "ceph"`, `storage: default: "longhorn"`}, pass: `storage: {default: "ceph", ceph: {}}`},
	{rule: "IMG-1", fail: []string{
		kubeflow + `cluster: {version: "1.19.0", runtime: "docker"}, components: kubeflow: version: "1.2.0"`,
		kubeflow + `cluster: {version: "1.19.0", runtime: "docker", imagePullProgressDeadline: "45s"}, components: kubeflow: version: "1.2.0"`,
	}, pass: kubeflow + `cluster: {version: "1.19.0", runtime: "docker", imagePullProgressDeadline: "30m"}, components: kubeflow: version: "1.2.0"`},
	{rule: "KSPRAY-1", fail: []string{`cluster: {version: "1.21.0", runtime: "docker", installer: {kind: "kubespray", version: "v2.15.0"}}`}, pass: `cluster: {version: "1.19.7", runtime: "docker", installer: {kind: "kubespray", version: "v2.15.0"}}`},
	{rule: "K8S-VER-1", fail: []string{
		`cluster: version: "v1.34.4"`, `cluster: version: "1.34"`, `cluster: version: "v1.34"`,
		`cluster: version: "1.34.4-rc.1"`, `cluster: version: "1.30.4+rke2r1"`,
	}, pass: `cluster: version: "1.34.2"`},
	{rule: "TENANT-2", fail: []string{
		`tenants: "kube-system": {quota: {cpu: "4", memory: "8Gi"}, owners: ["group:ds"]}`,
		`components: monitoring: enabled: true, tenants: monitoring: {quota: {cpu: "4", memory: "8Gi"}, owners: ["group:ds"]}`,
	}, pass: `tenants: monitoring: {quota: {cpu: "4", memory: "8Gi"}, owners: ["group:ds"]}`},
	{rule: "OBJECT-1", fail: []string{
		`objects: [{apiVersion: "v1", kind: "ConfigMap", metadata: {name: "a", namespace: "default"}}]`,
		`objects: []`,
	}, pass: `objects: a: {apiVersion: "v1", kind: "ConfigMap", metadata: {name: "a", namespace: "default"}}`},
	{rule: "PATCH-1", fail: []string{
		`components: gpu: patches: [{patch: "spec: {}"}]`,
		`components: plinth: {enabled: false, patches: [{patch: "spec: {}"}]}`,
	}, pass: `components: plinth: {enabled: true, patches: [{patch: "spec: {}"}]}, components: gpu: patches: []`},
	{rule: "PATCH-2", fail: []string{
		`components: plinth: {enabled: true, patches: [{patch: "spec: {}", path: "p.yaml"}]}`,
		`components: plinth: {enabled: true, patches: [{target: kind: "Service"}]}`,
	}, pass: `components: plinth: {enabled: true, patches: [{patch: "spec: {}"}, {path: "p.yaml"}]}`},
	{rule: "PLINTH-1", fail: []string{
		`components: plinth: {enabled: true, shards: ["batch", "ml", "batch"]}`,
		`components: plinth: {enabled: true, shards: ["` + strings.Repeat("a", 46) + `"]}`,
	}, pass: `components: plinth: {enabled: true, shards: ["batch", "ml", "` + strings.Repeat("a", 45) + `"]}`},
	{rule: "TENANT-1", fail: []string{`tenants: ds: {quota: {cpu: "4", memory: "8Gi", gpu: 1}, owners: ["group:ds"]}`}, pass: `tenants: ds: {quota: {cpu: "4", memory: "8Gi"}, owners: ["group:ds"]}`},
}

// evaluate writes files into a fresh repository and evaluates environments/env.
func evaluate(t *testing.T, files map[string]string) *Platform {
	t.Helper()
	root := t.TempDir()
	writeFiles(t, root, files)
	return evaluateDir(t, root, "env")
}

func ruleCase(src string, bare bool) map[string]string {
	if bare {
		return map[string]string{"environments/env/env.cue": src}
	}
	return map[string]string{
		"environments/common.cue":  baseline,
		"environments/env/env.cue": "package plinth\n" + src + "\n",
	}
}

func ruleIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule)
	}
	return ids
}

func TestRules(t *testing.T) {
	for _, c := range ruleCases {
		t.Run(c.rule, func(t *testing.T) {
			t.Parallel()
			for i, src := range c.fail {
				p := evaluate(t, ruleCase(src, c.bare))
				ids := ruleIDs(p.Findings)
				if slices.Contains(ids, RuleSchema) {
					t.Fatalf("failing case %d is not schema-valid: %v", i, p.Findings)
				}
				if !slices.Contains(ids, c.rule) {
					t.Errorf("failing case %d: rule %s did not fire; findings: %v", i, c.rule, ids)
					continue
				}
				f := p.Findings[slices.Index(ids, c.rule)]
				if f.Detail == "" || f.Message == "" || f.Source == "" || f.Path == "" {
					t.Errorf("failing case %d: finding lacks detail, message, source or path: %+v", i, f)
				}
			}
			p := evaluate(t, ruleCase(c.pass, c.bare))
			ids := ruleIDs(p.Findings)
			if slices.Contains(ids, RuleSchema) {
				t.Fatalf("passing case is not schema-valid: %v", p.Findings)
			}
			if slices.Contains(ids, c.rule) {
				t.Errorf("passing case: rule %s fired: %v", c.rule, p.Findings)
			}
		})
	}
}

// TestEveryRuleHasCases keeps the table above complete as rules are added.
func TestEveryRuleHasCases(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range ruleCases {
		if covered[c.rule] {
			t.Errorf("rule %s has two entries", c.rule)
		}
		covered[c.rule] = true
		if len(c.fail) == 0 || c.pass == "" {
			t.Errorf("rule %s needs a failing and a passing case", c.rule)
		}
	}
	for _, r := range rules {
		if !covered[r.ID] {
			t.Errorf("rule %s has no test case", r.ID)
		}
		delete(covered, r.ID)
		if r.Message == "" || r.Source == "" || r.Condition == "" || len(r.Paths) == 0 {
			t.Errorf("rule %s lacks message, source, condition or paths", r.ID)
		}
		if strings.Contains(r.Message, "\n") {
			t.Errorf("rule %s: message must be one line", r.ID)
		}
	}
	for id := range covered {
		t.Errorf("test case for unknown rule %s", id)
	}
}

func TestBaselineIsClean(t *testing.T) {
	p := evaluate(t, ruleCase("", false))
	if len(p.Findings) != 0 {
		t.Fatalf("baseline has findings: %v", p.Findings)
	}
}

// TestReservedTenants: a tenant cannot take a namespace Kubernetes,
// OpenShift or plinth reserves, or one an enabled component installs
// into; the finding names the tenant and, for a component's namespace,
// the component.
func TestReservedTenants(t *testing.T) {
	const quota = `{quota: {cpu: "4", memory: "8Gi"}, owners: ["group:ds"]}`
	for _, c := range []struct {
		name, src, want string
	}{
		{"kube-system", `tenants: "kube-system": ` + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.kube-system: tenant kube-system: namespace kube-system is reserved for Kubernetes (kube-*): choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"kube-node-lease", `tenants: "kube-node-lease": ` + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.kube-node-lease: tenant kube-node-lease: namespace kube-node-lease is reserved for Kubernetes (kube-*): choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"default", `tenants: default: ` + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.default: tenant default: namespace default is Kubernetes' own: objects without a namespace go there: choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"openshift-monitoring", `tenants: "openshift-monitoring": ` + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.openshift-monitoring: tenant openshift-monitoring: namespace openshift-monitoring is reserved for OpenShift (openshift-*): choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"plinth-system", `tenants: "plinth-system": ` + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.plinth-system: tenant plinth-system: namespace plinth-system is plinth's own: it holds the controller and every environment's inventory: choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"a Kustomize component's namespace", kubeflow + `tenants: kubeflow: ` + quota,
			`environments/env/env.cue:3:10: error TENANT-2 tenants.kubeflow: tenant kubeflow: namespace kubeflow is where component kubeflow installs: choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"a chart's namespace", `components: gpu: enabled: true, cluster: nodes: gpuWorkers: 1, tenants: "gpu-operator": ` + quota,
			`environments/env/env.cue:2:73: error TENANT-2 tenants.gpu-operator: tenant gpu-operator: namespace gpu-operator is where component gpu installs: choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"storage's namespace", `storage: ceph: rook: "v1.20.6", tenants: "rook-ceph": ` + quota,
			`environments/env/env.cue:2:42: error TENANT-2 tenants.rook-ceph: tenant rook-ceph: namespace rook-ceph is where component storage installs: choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
		{"every tenant at once", "tenants: default: " + quota + "\ntenants: \"kube-public\": " + quota,
			`environments/env/env.cue:2:10: error TENANT-2 tenants.default: tenant default: namespace default is Kubernetes' own: objects without a namespace go there; tenant kube-public: namespace kube-public is reserved for Kubernetes (kube-*): choose another name: a tenant's namespace is plinth's to label, with the tenant's quota and RBAC`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := evaluate(t, ruleCase(c.src, false))
			var got []string
			for _, f := range p.Findings {
				if f.Rule == "TENANT-2" || f.Rule == RuleSchema {
					got = append(got, f.String())
				}
			}
			if !slices.Equal(got, []string{c.want}) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), c.want)
			}
		})
	}
	// The namespace is free when the component that would own it is off.
	p := evaluate(t, ruleCase(`tenants: kubeflow: `+quota, false))
	if len(p.Findings) != 0 {
		t.Errorf("tenant kubeflow without Kubeflow: %v", p.Findings)
	}
}

// TestPatchesOnDisabledComponents: the warning names every disabled
// component with patches, at the first one's patches field.
func TestPatchesOnDisabledComponents(t *testing.T) {
	p := evaluate(t, ruleCase("components: gpu: patches: [{patch: \"spec: {}\"}]\ncomponents: rancher: {enabled: false, patches: [{patch: \"spec: {}\"}]}\ncomponents: plinth: {enabled: true, patches: [{patch: \"spec: {}\"}]}", false))
	want := []string{"environments/env/env.cue:2:18: warning PATCH-1 components.gpu.patches: patches on components that are not enabled: gpu, rancher: enable the component or remove its patches: a disabled component renders nothing to patch"}
	var got []string
	for _, f := range p.Findings {
		got = append(got, f.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !p.Valid() {
		t.Error("Valid() = false: PATCH-1 is a warning")
	}
}

// TestKubernetesVersion: cluster.version must be an exact release; each
// way of writing it otherwise has its own words. OKD versions keep OKD's
// release names.
func TestKubernetesVersion(t *testing.T) {
	const fix = `: write the exact Kubernetes version, e.g. "1.34.4" (no leading v; kubectl version prints the server's as v1.34.4)`
	for _, c := range []struct {
		version, want string
	}{
		{"v1.34", `"v1.34" has a leading v and needs the patch version`},
		{"v1.34.4", `"v1.34.4" has a leading v`},
		{"1.34", `"1.34" needs the patch version`},
		{"1.34.4-rc.1", `"1.34.4-rc.1" is a pre-release the compatibility matrix does not list`},
		{"1.30.4+rke2r1", `"1.30.4+rke2r1" has build metadata`},
		{"1.34.4", ""},
	} {
		t.Run(c.version, func(t *testing.T) {
			t.Parallel()
			p := evaluate(t, ruleCase(`cluster: version: "`+c.version+`"`, false))
			var got []string
			for _, f := range p.Findings {
				if f.Rule == "K8S-VER-1" || f.Rule == RuleSchema {
					got = append(got, f.String())
				}
			}
			var want []string
			if c.want != "" {
				want = []string{"environments/env/env.cue:2:19: error K8S-VER-1 cluster.version: " + c.want + fix}
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	for _, okd := range []string{"4.21.0-okd-scos.2", "4.15.0-0.okd-2024-03-10-010116", "3.11", "4.19"} {
		p := evaluate(t, ruleCase(`cluster: {distribution: "okd", version: "`+okd+`", runtime: "cri-o"}`, false))
		if slices.Contains(ruleIDs(p.Findings), "K8S-VER-1") || slices.Contains(ruleIDs(p.Findings), RuleSchema) {
			t.Errorf("OKD %s: %v", okd, p.Findings)
		}
	}
}

// TestListedPreRelease: a pre-release is accepted once the matrix lists it.
func TestListedPreRelease(t *testing.T) {
	cctx := cuecontext.New()
	schema, err := loadSchema(cctx)
	if err != nil {
		t.Fatal(err)
	}
	env := cctx.CompileString(`cluster: version: "1.35.0-rc.1"`)
	violated := func(schema cue.Value) bool {
		v, err := schema.LookupPath(platformDef).FillPath(envPath, env).LookupPath(cue.ParsePath(`rules."K8S-VER-1".violated`)).Bool()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if !violated(schema) {
		t.Error("1.35.0-rc.1 accepted although the matrix lists no pre-release")
	}
	if violated(schema.FillPath(cue.ParsePath("matrix.kubernetesPreReleases"), []string{"1.35.0-rc.1"})) {
		t.Error("1.35.0-rc.1 refused although the matrix lists it")
	}
}

// TestArgoExecutorMessages: the advice of ARGO-EXEC-1 and ARGO-EXEC-2 is
// right for the release it fires on: no Docker on Argo ≥ 3.4, emissary
// only where it exists, and the default named when emissary is it.
func TestArgoExecutorMessages(t *testing.T) {
	for _, c := range []struct {
		rule, src        string
		want, wantDetail []string
		notWant          []string
	}{
		{"ARGO-EXEC-1", kubeflow + `cluster: {version: "1.23.0", runtime: "docker"}, components: kubeflow: {version: "1.9.0", pipelines: {argoExecutor: "docker", argoVersion: "3.4.17"}}`,
			[]string{`remove argoExecutor or set it to "emissary", plinth's default`}, []string{"Argo 3.4.17 has no docker executor"}, []string{"Docker on every node"}},
		{"ARGO-EXEC-1", kubeflow + `cluster: version: "1.25.0", components: kubeflow: {version: "1.7.0", pipelines: {argoExecutor: "docker"}}`,
			[]string{`use argoExecutor "emissary", plinth's default`}, []string{"the nodes run containerd"}, []string{"Docker on every node"}},
		{"ARGO-EXEC-1", kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "docker"}`,
			[]string{"run Docker on every node", `"pns"`}, nil, []string{`use argoExecutor "emissary"`}},
		{"ARGO-EXEC-1", kubeflow + `cluster: {distribution: "okd", version: "4.6", runtime: "cri-o"}, components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "docker"}`,
			[]string{`"k8sapi"`}, nil, []string{"Docker on every node", `"pns"`}},
		{"ARGO-EXEC-2", kubeflow + `cluster: version: "1.17.0", components: kubeflow: version: "1.3.0"`,
			[]string{"emissary needs Argo ≥ 3.1 and KFP ≥ 1.7", `set argoExecutor "pns" (the nodes run containerd, not Docker)`}, []string{"executor emissary (plinth's default when argoExecutor is not set)"}, nil},
		{"ARGO-EXEC-2", kubeflow + `cluster: {version: "1.17.0", runtime: "docker"}, components: kubeflow: version: "1.3.0"`,
			[]string{`set argoExecutor "docker" (the nodes run Docker)`}, nil, []string{`"pns"`}},
		{"ARGO-EXEC-3", kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "k8sapi"}`,
			[]string{`prefer emissary, plinth's default`}, nil, []string{"docker", "pns"}},
		{"ARGO-EXEC-3", kubeflow + `cluster: {version: "1.19.0", runtime: "docker"}, components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "k8sapi"}`,
			[]string{"prefer docker (the nodes run Docker), or Kubeflow ≥ 1.4 for emissary"}, nil, []string{"prefer emissary"}},
		{"ARGO-EXEC-4", kubeflow + `cluster: version: "1.19.0", components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "pns"}`,
			[]string{"allow them, or use Kubeflow ≥ 1.4 for emissary"}, nil, []string{"prefer emissary"}},
		{"ARGO-EXEC-4.okd", kubeflow + `cluster: {distribution: "okd", version: "4.8", runtime: "cri-o"}, components: kubeflow: {version: "1.4.0", pipelines: argoExecutor: "pns"}`,
			[]string{`use emissary, plinth's default`}, nil, []string{"k8sapi"}},
		{"ARGO-EXEC-4.okd", kubeflow + `cluster: {distribution: "okd", version: "4.6", runtime: "cri-o"}, components: kubeflow: {version: "1.2.0", pipelines: argoExecutor: "pns"}`,
			[]string{"use k8sapi (it needs no privileges), or Kubeflow ≥ 1.4 for emissary"}, nil, []string{"use emissary"}},
		{"ARGO-EXEC-2", kubeflow + `cluster: version: "1.29.0", components: kubeflow: {version: "1.9.0", pipelines: argoExecutor: "pns"}`,
			[]string{`remove argoExecutor or set it to "emissary", plinth's default`}, []string{"executor pns with Argo"}, []string{"Docker", "default when"}},
	} {
		p := evaluate(t, ruleCase(c.src, false))
		ids := ruleIDs(p.Findings)
		i := slices.Index(ids, c.rule)
		if i < 0 {
			t.Errorf("%s did not fire on %s: %v", c.rule, c.src, p.Findings)
			continue
		}
		f := p.Findings[i]
		for _, w := range c.want {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s on %s: message %q lacks %q", c.rule, c.src, f.Message, w)
			}
		}
		for _, w := range c.wantDetail {
			if !strings.Contains(f.Detail, w) {
				t.Errorf("%s on %s: detail %q lacks %q", c.rule, c.src, f.Detail, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(f.Message, w) || strings.Contains(f.Detail, w) {
				t.Errorf("%s on %s: %q: %q has %q", c.rule, c.src, f.Detail, f.Message, w)
			}
		}
	}
}

// TestTektonMessage: TEKTON-1 advises emissary only on a release that has it.
func TestTektonMessage(t *testing.T) {
	for src, want := range map[string]string{
		kubeflow + `components: kubeflow: {version: "26.03", pipelines: engine: "tekton"}`:                             `use engine "argo" (executor "emissary", plinth's default)`,
		kubeflow + `cluster: version: "1.16.0", components: kubeflow: {version: "1.0.0", pipelines: engine: "tekton"}`: `use engine "argo" with executor "docker" (Docker nodes), "pns" or "k8sapi" (OKD)`,
	} {
		p := evaluate(t, ruleCase(src, false))
		ids := ruleIDs(p.Findings)
		i := slices.Index(ids, "TEKTON-1")
		if i < 0 {
			t.Errorf("TEKTON-1 did not fire on %s: %v", src, ids)
			continue
		}
		if m := p.Findings[i].Message; !strings.HasPrefix(m, want) {
			t.Errorf("%s: message %q, want %q", src, m, want)
		}
	}
}

// TestRuleSourcesConcrete: every rule's source names a concrete tag,
// commit, issue or document; no placeholder left from writing the rule.
func TestRuleSourcesConcrete(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`<[^>]*>|\bX\.Y\b|\bX\b|\.X\b|TODO|TBD|FIXME|XXX|\?\?`)
	for _, r := range rules {
		if m := placeholder.FindString(r.Source); m != "" {
			t.Errorf("rule %s: source %q has the placeholder %q", r.ID, r.Source, m)
		}
	}
}
