package render

import (
	"maps"
	"slices"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
)

// chartSource is where a chart comes from.
func chartSource(h platform.HelmPart) source.Source {
	return source.Source{Repo: h.Repo, Chart: h.Chart, Version: h.Version}
}

// Sources lists every source the components need from the vendor directory.
func Sources(comps map[string]*platform.Component) []source.Source {
	seen := map[string]bool{}
	var out []source.Source
	add := func(s source.Source) {
		if !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		c := comps[name]
		for _, h := range c.Helm {
			add(chartSource(h))
		}
		for _, k := range c.Kustomize {
			if k.Git != nil {
				add(source.Source{URL: k.Git.URL, Ref: k.Git.Ref})
			}
		}
	}
	return out
}
