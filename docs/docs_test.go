// Package docs_test checks that the documents under docs/ say what the
// code does.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testRef is how security.md names a test: `path/to/x_test.go:TestName`
// or a testscript `path/to/x.txtar`.
var testRef = regexp.MustCompile("`((?:lib|cmd|reconciler|docs)/[^`:]+?)(?::((?:Test|Fuzz)\\w+))?`")

// TestSecurityCasesNameRealTests: every one of the 29 cases of
// security.md has a row naming tests, and every test named anywhere in
// it exists, so the document cannot claim a test that was renamed or
// never written.
func TestSecurityCasesNameRealTests(t *testing.T) {
	doc, err := os.ReadFile("security.md")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[int]bool{}
	for line := range strings.SplitSeq(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			continue
		}
		if cases[n] {
			t.Errorf("case %d has two rows", n)
		}
		cases[n] = true
		if !testRef.MatchString(cells[3]) {
			t.Errorf("case %d names no test: %s", n, line)
		}
	}
	for n := 1; n <= 29; n++ {
		if !cases[n] {
			t.Errorf("case %d has no row", n)
		}
	}

	refs := testRef.FindAllStringSubmatch(string(doc), -1)
	if len(refs) < 29 {
		t.Fatalf("only %d test references", len(refs))
	}
	for _, ref := range refs {
		file, name := ref[1], ref[2]
		if !strings.HasSuffix(file, "_test.go") && !strings.HasSuffix(file, ".txtar") {
			continue // a source file named in the prose
		}
		src, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("%s: %v", ref[0], err)
			continue
		}
		if name != "" && !regexp.MustCompile(`(?m)^func `+name+`\(`).Match(src) {
			t.Errorf("%s: no func %s in %s", ref[0], name, file)
		}
	}
}
