package diff

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	lines := func(n ...int) string {
		var b strings.Builder
		for _, i := range n {
			fmt.Fprintf(&b, "l%d\n", i)
		}
		return b.String()
	}
	seq := func(from, to int) []int {
		var s []int
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	}
	tests := []struct {
		name, a, b, want string
	}{{
		name: "equal", a: lines(1, 2, 3), b: lines(1, 2, 3), want: "",
	}, {
		name: "one line changed in the middle",
		a:    lines(seq(1, 10)...),
		b:    lines(append(append(seq(1, 4), 50), seq(6, 10)...)...),
		want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+l50\n l6\n l7\n l8\n",
	}, {
		name: "insert at start",
		a:    lines(1, 2, 3, 4, 5),
		b:    lines(0, 1, 2, 3, 4, 5),
		want: "--- a\n+++ b\n@@ -1,3 +1,4 @@\n+l0\n l1\n l2\n l3\n",
	}, {
		name: "delete at end",
		a:    lines(1, 2, 3, 4, 5),
		b:    lines(1, 2, 3, 4),
		want: "--- a\n+++ b\n@@ -2,4 +2,3 @@\n l2\n l3\n l4\n-l5\n",
	}, {
		name: "from empty",
		a:    "",
		b:    lines(1, 2),
		want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+l1\n+l2\n",
	}, {
		name: "to empty",
		a:    lines(1),
		b:    "",
		want: "--- a\n+++ b\n@@ -1 +0,0 @@\n-l1\n",
	}, {
		name: "changes 6 lines apart share a hunk",
		a:    lines(seq(1, 20)...),
		b:    lines(append(append(append(seq(1, 4), 105), seq(6, 11)...), append([]int{112}, seq(13, 20)...)...)...),
		want: "--- a\n+++ b\n@@ -2,14 +2,14 @@\n l2\n l3\n l4\n-l5\n+l105\n l6\n l7\n l8\n l9\n l10\n l11\n-l12\n+l112\n l13\n l14\n l15\n",
	}, {
		name: "changes 7 lines apart make two hunks",
		a:    lines(seq(1, 20)...),
		b:    lines(append(append(append(seq(1, 4), 105), seq(6, 12)...), append([]int{113}, seq(14, 20)...)...)...),
		want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+l105\n l6\n l7\n l8\n@@ -10,7 +10,7 @@\n l10\n l11\n l12\n-l13\n+l113\n l14\n l15\n l16\n",
	}, {
		name: "no newline at end",
		a:    "x\ny",
		b:    "x\nz\n",
		want: "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unified(tt.a, tt.b, "a", "b"); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestLineDiffRandom checks, on random texts, that the edit script turns
// a into b and is minimal (its length is that of the longest common
// subsequence, computed by dynamic programming).
func TestLineDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		a := randomLines(rng, rng.IntN(30), 1+rng.IntN(6))
		b := randomLines(rng, rng.IntN(30), 1+rng.IntN(6))
		if rng.IntN(2) == 0 && len(a) > 0 {
			// a mutation of a, the common case
			b = append([]string(nil), a...)
			for k := rng.IntN(4); k >= 0; k-- {
				p := rng.IntN(len(b) + 1)
				switch rng.IntN(3) {
				case 0:
					b = append(b[:p], append([]string{"new" + strconv.Itoa(k) + "\n"}, b[p:]...)...)
				case 1:
					if p < len(b) {
						b = append(b[:p], b[p+1:]...)
					}
				default:
					if p < len(b) {
						b[p] = "changed\n"
					}
				}
			}
		}
		checkEditScript(t, a, b)
	}
}

func randomLines(rng *rand.Rand, n, alphabet int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = strconv.Itoa(rng.IntN(alphabet)) + "\n"
	}
	return lines
}

func checkEditScript(t *testing.T, a, b []string) {
	t.Helper()
	ops := lineDiff(a, b)
	var got []string
	keep := 0
	ai, bi := 0, 0
	for _, o := range ops {
		switch o.kind {
		case ' ':
			if o.ai != ai || o.bi != bi || a[ai] != b[bi] {
				t.Fatalf("a=%q b=%q: bad keep %+v", a, b, o)
			}
			got = append(got, a[ai])
			keep++
			ai++
			bi++
		case '-':
			if o.ai != ai {
				t.Fatalf("a=%q b=%q: bad delete %+v", a, b, o)
			}
			ai++
		case '+':
			if o.bi != bi {
				t.Fatalf("a=%q b=%q: bad insert %+v", a, b, o)
			}
			got = append(got, b[bi])
			bi++
		}
	}
	if ai != len(a) || bi != len(b) || strings.Join(got, "") != strings.Join(b, "") {
		t.Fatalf("a=%q b=%q: script does not produce b", a, b)
	}
	if lcs := lcsLength(a, b); keep != lcs {
		t.Fatalf("a=%q b=%q: keeps %d lines, longest common subsequence %d", a, b, keep, lcs)
	}
}

func lcsLength(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// TestUnifiedApplies applies random diffs as patches.
func TestUnifiedApplies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		a := strings.Join(randomLines(rng, rng.IntN(40), 1+rng.IntN(8)), "")
		b := strings.Join(randomLines(rng, rng.IntN(40), 1+rng.IntN(8)), "")
		if got := applyUnified(t, a, unified(a, b, "a", "b")); got != b {
			t.Fatalf("a=%q b=%q: patched to %q", a, b, got)
		}
	}
}

// applyUnified applies a unified diff made by unified to a.
func applyUnified(t *testing.T, a, d string) string {
	t.Helper()
	if d == "" {
		return a
	}
	al := splitLines(a)
	lines := strings.SplitAfter(d, "\n")
	if !strings.HasPrefix(lines[0], "--- ") || !strings.HasPrefix(lines[1], "+++ ") {
		t.Fatalf("bad header: %q", d)
	}
	var out []string
	next := 0 // next line of a to copy
	for i := 2; i < len(lines) && lines[i] != ""; {
		var as, ac, bs, bc int
		h := lines[i]
		if _, err := fmt.Sscanf(rangeForm(h), "@@ -%d,%d +%d,%d @@\n", &as, &ac, &bs, &bc); err != nil {
			t.Fatalf("bad hunk header %q: %v", h, err)
		}
		start := as - 1
		if ac == 0 {
			start = as
		}
		out = append(out, al[next:start]...)
		next = start
		i++
		for ; i < len(lines) && lines[i] != "" && !strings.HasPrefix(lines[i], "@@"); i++ {
			l := lines[i]
			if l[0] == '\\' {
				continue // marks the line before, handled there
			}
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\\ No newline at end of file") {
				l = strings.TrimSuffix(l, "\n")
			}
			switch l[0] {
			case ' ':
				if next >= len(al) || al[next] != l[1:] {
					t.Fatalf("context mismatch at a line %d: %q vs %q", next+1, al[next], l[1:])
				}
				out = append(out, l[1:])
				next++
			case '-':
				if next >= len(al) || al[next] != l[1:] {
					t.Fatalf("delete mismatch at a line %d", next+1)
				}
				next++
			case '+':
				out = append(out, l[1:])
			default:
				t.Fatalf("bad line %q", l)
			}
		}
	}
	out = append(out, al[next:]...)
	return strings.Join(out, "")
}

// rangeForm writes a hunk header's ranges in the "start,count" form.
func rangeForm(h string) string {
	f := strings.Fields(h)
	for i := 1; i <= 2; i++ {
		if !strings.Contains(f[i], ",") {
			f[i] += ",1"
		}
	}
	return strings.Join(f, " ") + "\n"
}

// TestUnifiedBudget checks that two large, entirely different texts are
// diffed in bounded time, as a replacement.
func TestUnifiedBudget(t *testing.T) {
	var a, b strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	d := unified(a.String(), b.String(), "a", "b")
	if !strings.HasPrefix(d, "--- a\n+++ b\n@@ -1,20000 +1,20000 @@\n-a0\n") {
		t.Errorf("diff starts %q", d[:60])
	}
	if got := applyUnified(t, a.String(), d); got != b.String() {
		t.Error("patch does not apply")
	}
}

func FuzzLineDiff(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd\n"))
	f.Add([]byte(""), []byte("x"))
	f.Add([]byte("x\ny"), []byte("x\ny\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 2000 || len(b) > 2000 {
			return
		}
		as, bs := string(a), string(b)
		checkEditScript(t, splitLines(as), splitLines(bs))
		if got := applyUnified(t, as, unified(as, bs, "a", "b")); got != bs {
			t.Fatalf("patched to %q", got)
		}
	})
}
