package docs_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/schemadoc"
)

var update = flag.Bool("update", false, "rewrite the generated documents (make docs)")

// TestGeneratedDocsUpToDate: the documents generated from the code are
// what the code makes of them now: environment.md and rules.md from cue/
// (lib/schemadoc, with cue/guide/), cli.md from the command tree (with
// cmd/plinth/cli/clidoc/). go test ./docs -run TestGeneratedDocsUpToDate
// -update (make docs) rewrites them.
func TestGeneratedDocsUpToDate(t *testing.T) {
	for _, tc := range []struct {
		file     string
		generate func() ([]byte, error)
	}{
		{"environment.md", written(schemadoc.Environment)},
		{"rules.md", written(schemadoc.Rules)},
		{"cli.md", cliDoc},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := tc.generate()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(tc.file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatalf("docs/%s: %v; run make docs", tc.file, err)
			}
			if bytes.Equal(got, want) {
				return
			}
			line, committed, generated := firstDiff(string(want), string(got))
			t.Errorf("docs/%s is stale: run make docs and commit the result.\nfirst difference at line %d:\n  committed: %q\n  generated: %q",
				tc.file, line, committed, generated)
		})
	}
}

// written adapts a generator that writes to one that returns the bytes.
func written(generate func(io.Writer) error) func() ([]byte, error) {
	return func() ([]byte, error) {
		var b bytes.Buffer
		err := generate(&b)
		return b.Bytes(), err
	}
}

// firstDiff returns the 1-based number of the first line where a and b
// differ and the two lines ("" past the end).
func firstDiff(a, b string) (int, string, string) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return i + 1, x, y
		}
	}
	return 0, "", ""
}
