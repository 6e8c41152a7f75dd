package platform

import (
	"testing"
)

func TestFieldSelectors(t *testing.T) {
	for path, want := range map[string]string{
		"":                                "",
		"kind":                            "kind",
		"spec.containers[0].image":        "spec.containers.0.image",
		`data["app.conf"]`:                "data.app.conf",
		`data["a\"]b"].x`:                 `data.a"]b.x`,
		`metadata.annotations["a[0]"][2]`: "metadata.annotations.a[0].2",
		`data["unterminated`:              "data",
		"spec.list[x]":                    "spec.list",
		"spec.list[3":                     "spec.list",
	} {
		if got := displayPath(fieldSelectors(path)); got != want {
			t.Errorf("%q: got %q, want %q", path, got, want)
		}
	}
}
