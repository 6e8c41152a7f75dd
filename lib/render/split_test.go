package render

import (
	"maps"
	"slices"
	"sort"
	"testing"

	"helm.sh/helm/v3/pkg/releaseutil"
)

// TestSplitManifests: the shortcut for output without "---" gives what
// Helm's own split gives.
func TestSplitManifests(t *testing.T) {
	for _, text := range []string{"a: 1", "\n  a: 1\n\n", "a: 1\n---\nb: 2\n", "---\na: 1", "a: |\n  x\n  ---\n", "a: 1\n---b: 2", "a: 1 --- b", " -- ", "\n---\n", "", " \n "} {
		docs := releaseutil.SplitManifests(text)
		keys := slices.Collect(maps.Keys(docs))
		sort.Sort(releaseutil.BySplitManifestsOrder(keys))
		var want []string
		for _, k := range keys {
			want = append(want, docs[k])
		}
		if got := splitManifests(text); !slices.Equal(got, want) {
			t.Errorf("splitManifests(%q) = %q, want %q", text, got, want)
		}
	}
}
