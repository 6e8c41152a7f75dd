package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// Rule identifiers of violations.
const (
	RuleAPIRemoved  = "API-REMOVED"
	RuleImageMirror = "IMAGE-MIRROR"
	RuleEgress      = "EGRESS"
	RuleTenantScope = "TENANT-SCOPE"
	RuleLimits      = "LIMITS"
	RuleSize        = "OBJECT-SIZE"
)

// Facts are what the checks need to know of the environment.
type Facts struct {
	// Environment is the environment's name, for messages.
	Environment string
	// KubernetesVersion is the target Kubernetes version, "1.34.4" or
	// "1.32" (for OKD, the Kubernetes version of its release). API-REMOVED
	// is not checked when it does not parse as major.minor[.patch].
	KubernetesVersion string
	// AirGapped turns on IMAGE-MIRROR and EGRESS.
	AirGapped bool
	// Mirrors are the registry prefixes images may come from
	// (network.mirrors.images and the values of network.mirrors.registries).
	Mirrors []string
	// MirrorAllow are references IMAGE-MIRROR lets pass although they are
	// off the mirrors (network.mirrors.allow): no node pulls them.
	MirrorAllow []string
	// AllowedEgress lists the hosts an air-gapped environment may reach;
	// ".bank.local" or "*.bank.local" allow the subdomains of bank.local.
	AllowedEgress []string
	// TenantComponents are the components owned by a tenant: they must not
	// emit cluster-scoped objects.
	TenantComponents []string
	// RequireLimits requires every container to set resources.limits.cpu
	// and resources.limits.memory.
	RequireLimits bool
}

// Violation is one broken rule, for one object.
type Violation struct {
	// Rule is one of the Rule constants: "API-REMOVED", "IMAGE-MIRROR",
	// "EGRESS", "TENANT-SCOPE", "LIMITS", "OBJECT-SIZE".
	Rule string
	// Environment is Facts.Environment.
	Environment string
	// Component is the name of the component that emits the object.
	Component string
	// Object identifies the object.
	Object manifest.ID
	// Path is the field inside the object, when there is one:
	// "spec.template.spec.containers[0].image", "data[\"config.yaml\"]".
	Path string
	// Message is one line that says what is wrong and what to do.
	Message string
}

// String formats v on one line:
// "<env>/<component>: <Kind.group/ns/name>: <RULE>: <message>".
func (v Violation) String() string {
	return fmt.Sprintf("%s/%s: %s: %s: %s", v.Environment, v.Component, v.Object, v.Rule, v.Message)
}

// Check runs every rule on every object of components and returns the
// violations, ordered by component, object, rule, path and message.
//
// Rules, and what they read:
//
//   - API-REMOVED: the object's apiVersion and kind, against the removals
//     of the Kubernetes Deprecated API Migration Guide (1.16 to 1.32), for
//     Facts.KubernetesVersion.
//   - TENANT-SCOPE, for the components named in Facts.TenantComponents:
//     whether the object is cluster-scoped ([manifest.ClusterScoped], with
//     the scopes of the CRDs of all components).
//   - LIMITS, when Facts.RequireLimits: resources.limits.cpu and .memory of
//     every container ([manifest.Containers]).
//   - OBJECT-SIZE: the object's JSON encoding, against etcd's request limit
//     (1.5 MiB), and the data of a v1 ConfigMap or Secret against the API
//     server's 1 MiB ([apicheck.Size]; a Secret's values are measured, not
//     read). The message names the size.
//   - IMAGE-MIRROR, when Facts.AirGapped: every image reference
//     [ScanImages] finds in any string of the object must be under one of
//     Facts.Mirrors or in Facts.MirrorAllow. This scan is independent of
//     the rewrite that put images on the mirror (lib/image).
//   - EGRESS, when Facts.AirGapped: the hosts of the URLs (http, https,
//     oci, git, ssh, git+ssh, git+http, git+https) in the scanned texts must
//     be cluster-internal or in Facts.AllowedEgress. Cluster-internal are
//     names without a dot, names under .svc, .cluster.local or .localhost,
//     "<service>.<namespace>" for a namespace of the set (or default,
//     kube-system, kube-public), and loopback, private, link-local and
//     unspecified IP addresses. Links for people are not endpoints and are
//     skipped: values of keys named link, links, href, homepage, docs or
//     documentation, XML namespaces, Markdown link targets, ConfigMap keys
//     ending in .svg, .css, .html, .htm or .md, scripts (keys ending in
//     .sh, .bash, .py or .ps1, or starting with #!), and Grafana dashboards
//     (ConfigMaps labelled grafana_dashboard).
//
// The texts EGRESS scans are the values of a v1 ConfigMap's data, except keys
// starting with '_' (documentation, as Knative's "_example"), and of every
// container its env values (env[].value; valueFrom is not resolved), args
// and command; an argument that follows a bare flag ("--executor-image",
// "x") is read together with it. Comments ('#' at the start of a line or
// after a blank, to the end of the line) are ignored. Secrets and every
// other field are not scanned.
func Check(facts Facts, components []manifest.Component) []Violation {
	c := newChecker(facts, components)
	var vs []Violation
	for _, comp := range components {
		for _, o := range comp.Objects {
			if o == nil {
				continue
			}
			obj := object{component: comp.Name, id: manifest.IDOf(o), u: o}
			report := func(rule, path, msg string) {
				vs = append(vs, Violation{
					Rule:        rule,
					Environment: facts.Environment,
					Component:   comp.Name,
					Object:      obj.id,
					Path:        path,
					Message:     msg,
				})
			}
			c.apiRemoved(obj, report)
			c.size(obj, report)
			if c.tenants[comp.Name] {
				c.tenantScope(obj, report)
			}
			if facts.RequireLimits {
				c.limits(obj, report)
			}
			if facts.AirGapped {
				c.imageMirror(obj, report)
				c.egress(obj, report)
			}
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return lessViolation(vs[i], vs[j]) })
	return vs
}

func lessViolation(a, b Violation) bool {
	if a.Component != b.Component {
		return a.Component < b.Component
	}
	if ai, bi := a.Object.String(), b.Object.String(); ai != bi {
		return ai < bi
	}
	if a.Rule != b.Rule {
		return a.Rule < b.Rule
	}
	if a.Path != b.Path {
		return a.Path < b.Path
	}
	return a.Message < b.Message
}

// reportFunc records a violation of rule at path inside the current object.
type reportFunc func(rule, path, msg string)

// object is the object being checked.
type object struct {
	component string
	id        manifest.ID
	u         *unstructured.Unstructured
}

// checker holds what the rules derive from the facts and the whole set.
type checker struct {
	facts      Facts
	k8sMinor   int  // minor of the target Kubernetes 1.x
	k8sKnown   bool // KubernetesVersion parsed
	crdScopes  map[string]bool
	tenants    map[string]bool
	namespaces map[string]bool
	allowed    []allowedHost
}

func newChecker(facts Facts, components []manifest.Component) *checker {
	c := &checker{
		facts:      facts,
		tenants:    map[string]bool{},
		namespaces: map[string]bool{"default": true, "kube-system": true, "kube-public": true},
		allowed:    parseAllowed(facts.AllowedEgress),
	}
	c.k8sMinor, c.k8sKnown = parseMinor(facts.KubernetesVersion)
	var all []*unstructured.Unstructured
	for _, comp := range components {
		for _, o := range comp.Objects {
			if o == nil {
				continue
			}
			all = append(all, o)
			if ns := o.GetNamespace(); ns != "" {
				c.namespaces[ns] = true
			}
			if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
				c.namespaces[o.GetName()] = true
			}
		}
	}
	c.crdScopes = manifest.CRDScopes(all)
	for _, t := range facts.TenantComponents {
		c.tenants[t] = true
	}
	return c
}

// parseMinor returns the minor version of a Kubernetes 1.x version:
// "1.34.4", "v1.32", "1.30.4+rke2r1".
func parseMinor(version string) (int, bool) {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 || parts[0] != "1" {
		return 0, false
	}
	minor, err := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err != nil {
		return 0, false
	}
	return minor, true
}

// fieldPath joins a path and a map key the way manifest paths are written.
func fieldPath(path, key string) string {
	if key == "" || strings.ContainsAny(key, ".[]\"") {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// text is a string value of an object that rules scan.
type text struct {
	path  string
	value string // with comments blanked out, see stripComments
	// dataKey is the ConfigMap data key the value is of, "" for others.
	dataKey string
	// flag is the argument before this one when it is a flag without a
	// value ("--executor-image"), so that "--flag value" reads as one.
	flag string
}

// texts returns the texts the EGRESS rule scans: the data
// of a v1 ConfigMap, and for every container its env values, args and
// command. Data keys that start with '_' are documentation by convention
// (Knative's "_example", which its components never read) and are left
// out. Comments are blanked out of every value (see stripComments).
func texts(o *unstructured.Unstructured) []text {
	var ts []text
	if o.GetKind() == "ConfigMap" && o.GetAPIVersion() == "v1" {
		if data, ok := o.Object["data"].(map[string]interface{}); ok {
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if s, ok := data[k].(string); ok && !strings.HasPrefix(k, "_") {
					ts = append(ts, text{path: fieldPath("data", k), value: stripComments(s), dataKey: k})
				}
			}
		}
	}
	for _, c := range manifest.Containers(o) {
		if env, ok := c.Fields["env"].([]interface{}); ok {
			for i, e := range env {
				em, _ := e.(map[string]interface{})
				if s, ok := em["value"].(string); ok {
					ts = append(ts, text{path: fmt.Sprintf("%s.env[%d].value", c.Path, i), value: stripComments(s)})
				}
			}
		}
		for _, field := range []string{"command", "args"} {
			list, _ := c.Fields[field].([]interface{})
			prev := ""
			for i, a := range list {
				s, ok := a.(string)
				if !ok {
					prev = ""
					continue
				}
				t := text{path: fmt.Sprintf("%s.%s[%d]", c.Path, field, i), value: stripComments(s)}
				if strings.HasPrefix(prev, "-") && !strings.ContainsAny(prev, "= \t\n") {
					t.flag = prev
				}
				ts = append(ts, t)
				prev = s
			}
		}
	}
	return ts
}

// containerName names a container in messages.
func containerName(c manifest.Container) string {
	if c.Name == "" {
		return "container at " + c.Path
	}
	return fmt.Sprintf("container %q", c.Name)
}

// stripComments blanks out comments of the YAML, shell, Python and INI
// kind: from a '#' at the start of a line or after a blank to the end of
// the line. Offsets stay as they were. A '#' inside a word (a URL's
// fragment, "#fff") is kept.
func stripComments(s string) string {
	if !strings.Contains(s, "#") {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] != '#' || i > 0 && b[i-1] != ' ' && b[i-1] != '\t' && b[i-1] != '\n' {
			continue
		}
		for ; i < len(b) && b[i] != '\n'; i++ {
			b[i] = ' '
		}
	}
	return string(b)
}
