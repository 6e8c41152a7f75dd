package render

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// kustomizeDeprecation matches kustomize's note about a deprecated field of
// a kustomization ("'bases' is deprecated. Please use 'resources' instead.
// Run 'kustomize edit fix' to update your Kustomization automatically."):
// the kustomizations plinth builds are upstream's (Kubeflow's manifests)
// or plinth's own overlays, none of them the user's to edit.
var kustomizeDeprecation = regexp.MustCompile(`^'([^']+)' is deprecated\. .*Run 'kustomize edit fix'`)

// kustomizeUnusedVars matches kustomize's note about vars an upstream
// kustomization declares and none of its resources uses.
var kustomizeUnusedVars = regexp.MustCompile(`^well-defined vars that were never replaced: (.+)$`)

// SummarizeWarnings turns the warnings of one environment's render, each
// "component: text" (pipeline.Output's), into the lines to show a person:
// each distinct text once, after the components that gave it ("certManager,
// kubeflow: text"), in the order first seen; unless verbose, kustomize's
// notes about the upstream kustomizations (deprecated fields, vars never
// used) become one line that names the fields and vars and says that -v
// lists them. A render taken from the
// cache has the same warnings, so it prints the same lines.
func SummarizeWarnings(warnings []string, verbose bool) []string {
	var texts []string
	comps := map[string][]string{}
	var deprecated, unused, deprecatedComps []string
	var notes []string // distinct deprecation texts
	for _, w := range warnings {
		comp, text, ok := strings.Cut(w, ": ")
		if !ok {
			comp, text = "", w
		}
		m := kustomizeDeprecation.FindStringSubmatch(text)
		u := kustomizeUnusedVars.FindStringSubmatch(text)
		if (m != nil || u != nil) && !verbose {
			addOnce(&notes, text)
			if m != nil {
				addOnce(&deprecated, m[1])
			}
			if u != nil {
				for v := range strings.SplitSeq(u[1], ",") {
					addOnce(&unused, strings.TrimSpace(v))
				}
			}
			addOnce(&deprecatedComps, comp)
			continue
		}
		if _, seen := comps[text]; !seen {
			texts = append(texts, text)
		}
		list := comps[text]
		addOnce(&list, comp)
		comps[text] = list
	}
	var out []string
	for _, text := range texts {
		if len(comps[text]) == 0 {
			out = append(out, text)
			continue
		}
		out = append(out, strings.Join(comps[text], ", ")+": "+text)
	}
	if n := len(notes); n > 0 {
		var about []string
		if len(deprecated) > 0 {
			about = append(about, "deprecated fields "+strings.Join(deprecated, ", "))
		}
		if len(unused) > 0 {
			slices.Sort(unused) // kustomize lists them in map order
			about = append(about, "vars never used "+strings.Join(unused, ", "))
		}
		line := fmt.Sprintf("%d kustomize %s about upstream kustomizations (%s), which plinth builds as they are: nothing to change in the environment; -v lists %s",
			n, plural(n, "note", "notes"), strings.Join(about, "; "), plural(n, "it", "them"))
		if len(deprecatedComps) > 0 {
			line = strings.Join(deprecatedComps, ", ") + ": " + line
		}
		out = append(out, line)
	}
	return out
}

// addOnce appends v to *list unless it is empty or there already.
func addOnce(list *[]string, v string) {
	if v != "" && !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
