package platform

import (
	"cmp"
	"fmt"

	"cuelang.org/go/cue"
)

// Paths of the catalog in #Platform.
var (
	catalogPath     = cue.ParsePath("render.components")
	componentsPath  = cue.ParsePath("components")
	apiVersionsPath = cue.ParsePath("render.apiVersions")
	driverOSPath    = cue.ParsePath("render.driverOS")
	patchesPath     = cue.ParsePath("patches")
)

// RenderFacts are what the catalog computed for rendering besides the
// components.
type RenderFacts struct {
	// APIVersions are the API versions the catalog's components serve
	// besides Kubernetes' own (for Helm's .Capabilities).
	APIVersions []string `json:"apiVersions"`
	// DriverOS is the OS tag of the GPU operator's driver image, "" when
	// the catalog derives none.
	DriverOS string `json:"driverOS"`
}

// RenderFacts decodes them from a valid environment.
func (p *Platform) RenderFacts() (RenderFacts, error) {
	var f RenderFacts
	if err := p.Value.LookupPath(apiVersionsPath).Decode(&f.APIVersions); err != nil {
		return RenderFacts{}, fmt.Errorf("environment %s: render.apiVersions: %w", p.Environment.Name, err)
	}
	var err error
	if f.DriverOS, err = p.Value.LookupPath(driverOSPath).String(); err != nil {
		return RenderFacts{}, fmt.Errorf("environment %s: render.driverOS: %w", p.Environment.Name, err)
	}
	return f, nil
}

// Component is one entry of the catalog as the environment configures it.
type Component struct {
	Name        string           `json:"name"`
	Namespace   string           `json:"namespace"`
	DependsOn   []string         `json:"dependsOn"`
	Helm        []HelmPart       `json:"helm"`
	Kustomize   []KustomizePart  `json:"kustomize"`
	Objects     []map[string]any `json:"objects"`
	Unsupported string           `json:"unsupported,omitempty"`
	// Values are the user's components.<name>.values, merged over each chart's computed values.
	Values map[string]any `json:"-"`
	// Patches are the user's components.<name>.patches, applied in order
	// to the component's rendered objects, with their files read.
	Patches []Patch `json:"-"`
}

// Patch is a Kustomize patch of a component's rendered objects, as
// kustomize's patches field has it: a strategic-merge patch or a JSON 6902
// operation list, in YAML, applied to Target's objects (or, for a
// strategic-merge patch without one, to the object it names).
type Patch struct {
	// Patch is the patch: as written, or the content of the file Path names.
	Patch string `json:"patch"`
	// Path is the file the patch came from, relative to the environment's
	// directory ("" for a patch written inline).
	Path   string       `json:"path,omitempty"`
	Target *PatchTarget `json:"target,omitempty"`
	// Position is where the environment writes the patch, for messages.
	Position Position `json:"position"`
}

// PatchTarget selects objects as kustomize's patch target does: every set
// field must match; name and namespace are regular expressions, the
// selectors label and annotation selectors.
type PatchTarget struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Name               string `json:"name,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// HelmPart is one chart of a component.
type HelmPart struct {
	Repo      string         `json:"repo"`
	Chart     string         `json:"chart"`
	Version   string         `json:"version"`
	Release   string         `json:"release"`
	Namespace string         `json:"namespace"`
	Values    map[string]any `json:"values"`
	// Lookup is "warn" for charts the catalog knows guard their lookup calls, else "error".
	Lookup string `json:"lookup"`
}

// KustomizePart is a set of Kustomize bases: paths inside a git source, or
// a directory of the repository's overlays/.
type KustomizePart struct {
	Git     *GitRef  `json:"git,omitempty"`
	Overlay string   `json:"overlay,omitempty"`
	Paths   []string `json:"paths"`
}

// GitRef names a git source at a ref.
type GitRef struct {
	URL string `json:"url"`
	Ref string `json:"ref"`
}

// Catalog decodes #Platform.render.components of an evaluated environment,
// with the components' own values and dependsOn merged in: a new map on
// every call, which the caller may change.
func (p *Platform) Catalog() (map[string]*Component, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("environment %s is not valid: run plinth vet", p.Environment.Name)
	}
	var comps map[string]*Component
	if err := p.Value.LookupPath(catalogPath).Decode(&comps); err != nil {
		return nil, fmt.Errorf("environment %s: reading the component catalog: %w", p.Environment.Name, err)
	}
	user := p.Value.LookupPath(envPath).LookupPath(componentsPath)
	for name, c := range comps {
		u := user.LookupPath(cue.MakePath(cue.Str(name)))
		if !u.Exists() {
			continue
		}
		var extra struct {
			Values    map[string]any `json:"values"`
			DependsOn []string       `json:"dependsOn"`
			Source    *struct {
				Repo, Chart, Version, URL, Ref, Path string
			} `json:"source"`
			Patches []Patch `json:"patches"`
		}
		if err := u.Decode(&extra); err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", p.Environment.Name, name, err)
		}
		c.Values = extra.Values
		c.DependsOn = append(c.DependsOn, extra.DependsOn...)
		patches, err := p.patches(p.user.LookupPath(componentsPath).LookupPath(cue.MakePath(cue.Str(name))).LookupPath(patchesPath), extra.Patches)
		if err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", p.Environment.Name, name, err)
		}
		c.Patches = patches
		if s := extra.Source; s != nil {
			if err := c.override(s.Repo, s.Chart, s.Version, s.URL, s.Ref); err != nil {
				return nil, fmt.Errorf("environment %s: component %s: source: %w", p.Environment.Name, name, err)
			}
		}
	}
	return comps, nil
}

// override replaces where the component comes from: the chart of a Helm
// component, or the git repository of a Kustomize one (a mirror or a fork).
func (c *Component) override(repo, chart, version, url, ref string) error {
	if repo != "" || chart != "" || version != "" {
		if len(c.Helm) != 1 {
			return fmt.Errorf("repo, chart and version apply to a component rendered from one Helm chart")
		}
		h := &c.Helm[0]
		if chart != "" && chart != h.Chart {
			h.Lookup = "error" // the catalog vouches only for its own charts
		}
		h.Repo, h.Chart, h.Version = cmp.Or(repo, h.Repo), cmp.Or(chart, h.Chart), cmp.Or(version, h.Version)
	}
	if url != "" || ref != "" {
		n := 0
		for i := range c.Kustomize {
			if g := c.Kustomize[i].Git; g != nil {
				g.URL, g.Ref = cmp.Or(url, g.URL), cmp.Or(ref, g.Ref)
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("url and ref apply to a component rendered from a git source")
		}
	}
	return nil
}
