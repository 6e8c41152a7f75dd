package image

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// A Use is one place where an object names an image.
type Use struct {
	// Path is the field holding it: "spec.template.spec.containers[0].image",
	// `data["katib-config.yaml"]`, "spec.driver" (the GPU operator's
	// repository, image and version).
	Path string
	// Image is the upstream reference; Pulled is what the cluster pulls
	// (Image itself without a mirror).
	Image, Pulled Ref
	// Repository is set when the field names a repository or a registry
	// prefix without a tag (Istio's hub, a script's default image that the
	// script completes): Image.Tag is then "latest" only by Parse's
	// default, and nothing pulls that tag for sure.
	Repository bool
}

// Locator finds the images of rendered objects and points them at the
// mirrors. It is the one place that knows where objects hold images
// (table, below): what render rewrites and what images.txt lists both come
// from it, so an image is listed exactly when it is rewritten.
type Locator struct {
	Mirrors Mirrors
	// DriverOS is the tag suffix the GPU operator appends to its driver's
	// version for the nodes' operating system ("ubuntu24.04"), "" for none.
	DriverOS string
}

// holding says what a located field holds.
type holding int

const (
	whole       holding = iota // a reference, the whole string
	text                       // free text: the references Find finds
	envVar                     // a {name, value} variable: whole when its name names an image, else text
	dataEntry                  // a ConfigMap data entry: whole when its key names an image, else text
	split                      // the GPU operator's {repository, image, version}
	splitDriver                // the same for the driver, whose tag gets the nodes' OS
	istioValues                // Istio's injector values (JSON): hub, tag and proxy images
)

// field is one row of the table: where objects of some kinds hold images.
type field struct {
	group string   // API group, "" for the core group, "*" for every group
	kinds []string // nil for every kind
	name  string   // object name, "" for any
	path  string   // a pattern (see patternOf), compiled into pat once
	holds holding
	pat   pattern
}

// containerFields are the image-holding fields of a container at prefix.
func containerFields(group string, kinds []string, prefixes ...string) []field {
	var fs []field
	for _, p := range prefixes {
		fs = append(fs,
			field{group: group, kinds: kinds, path: p + ".image", holds: whole},
			field{group: group, kinds: kinds, path: p + ".env[]", holds: envVar},
			field{group: group, kinds: kinds, path: p + ".args[]", holds: text},
			field{group: group, kinds: kinds, path: p + ".command[]", holds: text},
		)
	}
	return fs
}

// table lists every field known to hold images, by the kinds that hold
// them; the first row that matches a field decides how it is read. A kind
// with an image elsewhere goes unmirrored: render's independent scan of
// every string (policy IMAGE-MIRROR) fails an air-gapped render on it, and
// the fix is a row here.
var table = slices.Concat(
	// Pod templates of every workload kind, and container lists of custom
	// resources (KServe runtimes, Kubeflow Notebooks, Argo templates).
	containerFields("*", nil, "**.containers[]", "**.initContainers[]", "**.ephemeralContainers[]"),
	// KServe's storage initializer.
	containerFields("serving.kserve.io", []string{"ClusterStorageContainer"}, "spec.container"),
	[]field{
		// The Prometheus operator runs these images itself.
		{"monitoring.coreos.com", []string{"Prometheus", "Alertmanager", "ThanosRuler", "PrometheusAgent"}, "", "spec.image", whole, nil},
		{"monitoring.coreos.com", []string{"Prometheus"}, "", "spec.thanos.image", whole, nil},
		// The GPU operator's operands: repository, image and version apart.
		{"nvidia.com", []string{"ClusterPolicy"}, "", "spec.driver", splitDriver, nil},
		{"nvidia.com", []string{"ClusterPolicy"}, "", "spec.**", split, nil},
		{"nvidia.com", []string{"NVIDIADriver"}, "", "spec", splitDriver, nil},
		{"nvidia.com", []string{"NVIDIADriver"}, "", "spec.**", split, nil},
		// Knative pre-pulls its queue-proxy through an Image resource.
		{"caching.internal.knative.dev", []string{"Image"}, "", "spec.image", whole, nil},
		// Istio's sidecar injector composes the proxy image from its values.
		{"", []string{"ConfigMap"}, "istio-sidecar-injector", "data.values", istioValues, nil},
		// Configuration read by controllers that start pods: Katib's and
		// KFP's, the Jupyter spawner's, KServe's inferenceservice-config
		// (embedded JSON), Istio's hub.
		{"", []string{"ConfigMap"}, "", "data.*", dataEntry, nil},
		// Variables outside containers (the GPU operator's operands).
		{"*", nil, "", "**.env[]", envVar, nil},
	},
)

func init() {
	for i := range table {
		table[i].pat = patternOf(table[i].path)
	}
}

// Rewrite points every image of o that the table locates at the mirrors,
// in place, and returns its uses in the order of the table.
func (l Locator) Rewrite(o *unstructured.Unstructured) ([]Use, error) {
	gv := strings.SplitN(o.GetAPIVersion(), "/", 2)
	group := ""
	if len(gv) == 2 {
		group = gv[0]
	}
	var uses []Use
	done := map[string]bool{}
	for _, f := range table {
		if f.group != "*" && f.group != group || f.kinds != nil && !slices.Contains(f.kinds, o.GetKind()) || f.name != "" && f.name != o.GetName() {
			continue
		}
		var err error
		match(o.Object, f.pat, func(s slot) {
			if err != nil || done[s.path] {
				return
			}
			done[s.path] = true
			var found []Use
			found, err = l.read(f.holds, s)
			uses = append(uses, found...)
		})
		if err != nil {
			return nil, err
		}
	}
	return uses, nil
}

// read reads and rewrites the field in s as f holds it.
func (l Locator) read(h holding, s slot) ([]Use, error) {
	switch h {
	case whole:
		v, ok := s.value.(string)
		if !ok {
			return nil, nil
		}
		u, to, err := l.whole(s.path, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		s.set(to)
		return []Use{u}, nil
	case text:
		v, ok := s.value.(string)
		if !ok {
			return nil, nil
		}
		uses, to := l.text(s.path, v)
		s.set(to)
		return uses, nil
	case envVar:
		m, ok := s.value.(map[string]any)
		if !ok {
			return nil, nil
		}
		name, _ := m["name"].(string)
		v, ok := m["value"].(string)
		if !ok {
			return nil, nil
		}
		return l.named(manifest.JoinKey(s.path, "value"), name, v, func(to string) { m["value"] = to }), nil
	case dataEntry:
		v, ok := s.value.(string)
		if !ok {
			return nil, nil
		}
		return l.named(s.path, s.key, v, s.set), nil
	case split, splitDriver:
		m, ok := s.value.(map[string]any)
		if !ok {
			return nil, nil
		}
		return l.split(s.path, m, h == splitDriver)
	case istioValues:
		v, ok := s.value.(string)
		if !ok {
			return nil, nil
		}
		uses := l.istio(s.path, v)
		textUses, to := l.text(s.path, v)
		s.set(to)
		return append(uses, textUses...), nil
	}
	return nil, nil
}

// use returns the use of ref in the field at path; repository says the
// field names a repository, not an image to pull as it stands.
func (l Locator) use(path string, ref Ref, repository bool) Use {
	return Use{Path: path, Image: l.Mirrors.Upstream(ref), Pulled: l.Mirrors.Pull(ref), Repository: repository}
}

func (l Locator) whole(path, v string) (Use, string, error) {
	ref, err := Parse(v)
	if err != nil {
		return Use{}, "", err
	}
	u := l.use(path, ref, false) // pulled as it stands: a missing tag is "latest"
	if u.Pulled == ref {
		return u, v, nil
	}
	return u, respell(v, ref, u.Pulled), nil
}

// text reads free text: the references Find finds, and those already on
// the mirrors (a chart told to pull from there), which Find cannot tell
// from other hosts.
func (l Locator) text(path, v string) ([]Use, string) {
	var uses []Use
	for _, m := range l.Mirrors.find(v) {
		if ref, err := Parse(m.Ref); err == nil {
			tagged := strings.ContainsAny(m.Ref[strings.LastIndexByte(m.Ref, '/')+1:], ":@")
			uses = append(uses, l.use(path, ref, !tagged))
		}
	}
	return uses, Rewrite(v, l.Mirrors.Pull)
}

// named reads a value named by a variable or key: the whole value is an
// image when the name says so (V2_DRIVER_IMAGE, cacheImage,
// TENSORBOARD_IMAGE) and it has a path or a tag; otherwise it is text.
func (l Locator) named(path, name, v string, set func(string)) []Use {
	if isImageKey(name) && wholeName(name) && strings.ContainsAny(v, "/:") {
		if u, to, err := l.whole(path, v); err == nil {
			set(to)
			return []Use{u}
		}
	}
	uses, to := l.text(path, v)
	set(to)
	return uses
}

// wholeName reports whether a name that names an image names the image
// itself, not its tag, version or digest.
func wholeName(name string) bool {
	n := strings.ToLower(name)
	for _, part := range []string{"tag", "version", "digest", "hash"} {
		if strings.Contains(n, part) {
			return false
		}
	}
	return true
}

// split reads the GPU operator's {repository, image, version}: the operator
// pulls <repository>/<image>:<version> (@<version> for a digest) and, for
// the driver, appends "-<os>" to a version that is no digest. Only the
// repository is rewritten.
func (l Locator) split(path string, m map[string]any, driver bool) ([]Use, error) {
	repo, _ := m["repository"].(string)
	name, _ := m["image"].(string)
	if repo == "" || name == "" {
		return nil, nil
	}
	version, _ := m["version"].(string)
	written := repo + "/" + name
	switch {
	case strings.HasPrefix(version, "sha256:"):
		written += "@" + version
	case version != "":
		if driver && l.DriverOS != "" {
			version += "-" + l.DriverOS
		}
		written += ":" + version
	}
	ref, err := Parse(written)
	if err != nil {
		return nil, fmt.Errorf("%s: repository, image and version: %w", path, err)
	}
	u := l.use(path, ref, false)
	pulledRepo, ok := strings.CutSuffix(u.Pulled.Name(), "/"+name)
	if !ok {
		return nil, fmt.Errorf("%s: image %q is not the last part of %s", path, name, u.Pulled.Name())
	}
	if u.Pulled != ref {
		m["repository"] = pulledRepo
	}
	return []Use{u}, nil
}

// istio lists the proxy images Istio's sidecar injector composes from its
// values: <global.hub>/<image>:<global.tag>[-<variant>] for the proxy and
// its init container, an image with a '/' as it stands. The hub itself is
// rewritten as text (a repository prefix on a public registry).
func (l Locator) istio(path, v string) []Use {
	var values struct {
		Global struct {
			Hub       string                 `json:"hub"`
			Tag       any                    `json:"tag"`
			Variant   string                 `json:"variant"`
			Proxy     struct{ Image string } `json:"proxy"`
			ProxyInit struct{ Image string } `json:"proxy_init"`
		} `json:"global"`
	}
	if json.Unmarshal([]byte(v), &values) != nil {
		return nil
	}
	g := values.Global
	tag := ""
	if g.Tag != nil {
		tag = fmt.Sprint(g.Tag)
	}
	if g.Variant != "" && g.Variant != "default" && !strings.HasSuffix(tag, "-"+g.Variant) {
		tag += "-" + g.Variant
	}
	var uses []Use
	seen := map[string]bool{}
	for _, name := range []string{g.Proxy.Image, g.ProxyInit.Image} {
		written := name
		if name == "" || strings.Contains(name, "{{") {
			continue
		}
		if !strings.Contains(name, "/") {
			if g.Hub == "" || tag == "" {
				continue
			}
			written = g.Hub + "/" + name + ":" + tag
		}
		if ref, err := Parse(written); err == nil && !seen[written] {
			seen[written] = true
			uses = append(uses, l.use(path, ref, false))
		}
	}
	return uses
}
