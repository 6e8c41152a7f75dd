package diff

import (
	"strconv"
	"strings"
)

// contextLines is the number of unchanged lines around each change in a
// unified diff.
const contextLines = 3

// diffBudget bounds the work of one line diff (diagonals and snake steps
// of the Myers search). Past it, the part of the texts still being compared
// is reported as deleted and re-added: a correct, if longer, diff of huge,
// entirely rewritten objects, in bounded time.
const diffBudget = 1 << 25

// unified returns the unified diff of a and b with contextLines lines of
// context, under "--- <from>" and "+++ <to>" headers, or "" when a and b
// are equal. Lines are compared whole, including their terminating
// newline; a last line without one is followed by the usual
// "\ No newline at end of file" marker.
func unified(a, b, from, to string) string {
	if a == b {
		return ""
	}
	al, bl := splitLines(a), splitLines(b)
	ops := lineDiff(al, bl)
	var sb strings.Builder
	sb.WriteString("--- ")
	sb.WriteString(from)
	sb.WriteString("\n+++ ")
	sb.WriteString(to)
	sb.WriteString("\n")
	writeHunks(&sb, ops, al, bl, contextLines)
	return sb.String()
}

// splitLines cuts s after every newline; the last line has no newline when
// s does not end with one.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// op is one step of an edit script: keep a line of both texts (' '),
// delete a line of a ('-') or insert a line of b ('+'). ai and bi are the
// positions in a and b before the step.
type op struct {
	kind   byte
	ai, bi int
}

// lineDiff returns an edit script from a to b with, within the work
// budget, the fewest deletions and insertions (Myers' algorithm, linear
// space, with the divide-and-conquer of the middle snake). Within a run of
// changes, deletions come before insertions.
func lineDiff(a, b []string) []op {
	ids := make(map[string]int, len(a)+len(b))
	intern := func(lines []string) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[l]
			if !ok {
				id = len(ids)
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	d := &differ{
		a:      intern(a),
		b:      intern(b),
		budget: diffBudget,
	}
	d.deleted = make([]bool, len(a))
	d.inserted = make([]bool, len(b))
	d.compare(0, len(a), 0, len(b))

	ops := make([]op, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && d.deleted[i]:
			ops = append(ops, op{'-', i, j})
			i++
		case j < len(b) && d.inserted[j]:
			ops = append(ops, op{'+', i, j})
			j++
		default:
			ops = append(ops, op{' ', i, j})
			i++
			j++
		}
	}
	return ops
}

// differ marks the lines of a that are deleted and the lines of b that are
// inserted, as GNU diff's compareseq does.
type differ struct {
	a, b              []int
	deleted, inserted []bool
	budget            int
}

// compare marks the changes between a[xlo:xhi] and b[ylo:yhi].
func (d *differ) compare(xlo, xhi, ylo, yhi int) {
	for xlo < xhi && ylo < yhi && d.a[xlo] == d.b[ylo] {
		xlo++
		ylo++
	}
	for xlo < xhi && ylo < yhi && d.a[xhi-1] == d.b[yhi-1] {
		xhi--
		yhi--
	}
	if xlo == xhi || ylo == yhi {
		d.replace(xlo, xhi, ylo, yhi)
		return
	}
	x, y, ok := d.bisect(d.a[xlo:xhi], d.b[ylo:yhi])
	if !ok || (x == 0 && y == 0) || (x == xhi-xlo && y == yhi-ylo) {
		d.replace(xlo, xhi, ylo, yhi)
		return
	}
	d.compare(xlo, xlo+x, ylo, ylo+y)
	d.compare(xlo+x, xhi, ylo+y, yhi)
}

// replace marks all of a[xlo:xhi] deleted and all of b[ylo:yhi] inserted.
func (d *differ) replace(xlo, xhi, ylo, yhi int) {
	for i := xlo; i < xhi; i++ {
		d.deleted[i] = true
	}
	for j := ylo; j < yhi; j++ {
		d.inserted[j] = true
	}
}

// bisect finds the middle snake of an optimal path from a to b, both
// non-empty, searching forward from the start and backward from the end
// until the paths overlap, and returns the point (x, y) where the problem
// splits in two. ok is false when the texts have nothing in common or the
// work budget runs out. (It is the bisection of Myers' paper as Neil
// Fraser's diff-match-patch implements it.)
func (d *differ) bisect(a, b []int) (x, y int, ok bool) {
	n, m := len(a), len(b)
	maxD := (n + m + 1) / 2
	vOff := maxD
	vLen := 2*maxD + 2
	v1 := make([]int, vLen)
	v2 := make([]int, vLen)
	for i := range v1 {
		v1[i] = -1
		v2[i] = -1
	}
	v1[vOff+1] = 0
	v2[vOff+1] = 0
	delta := n - m
	// With an odd delta the forward path overlaps the reverse path;
	// with an even one, the reverse path overlaps the forward path.
	front := delta%2 != 0
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for dd := 0; dd < maxD; dd++ {
		d.budget -= 2*dd + 2
		if d.budget < 0 {
			return 0, 0, false
		}
		for k1 := -dd + k1start; k1 <= dd-k1end; k1 += 2 {
			k1Off := vOff + k1
			var x1 int
			if k1 == -dd || (k1 != dd && v1[k1Off-1] < v1[k1Off+1]) {
				x1 = v1[k1Off+1]
			} else {
				x1 = v1[k1Off-1] + 1
			}
			y1 := x1 - k1
			start := x1
			for x1 < n && y1 < m && a[x1] == b[y1] {
				x1++
				y1++
			}
			d.budget -= x1 - start
			v1[k1Off] = x1
			switch {
			case x1 > n:
				k1end += 2 // ran off the right of the graph
			case y1 > m:
				k1start += 2 // ran off the bottom of the graph
			case front:
				k2Off := vOff + delta - k1
				if k2Off >= 0 && k2Off < vLen && v2[k2Off] != -1 {
					if x2 := n - v2[k2Off]; x1 >= x2 {
						return x1, y1, true
					}
				}
			}
		}
		for k2 := -dd + k2start; k2 <= dd-k2end; k2 += 2 {
			k2Off := vOff + k2
			var x2 int
			if k2 == -dd || (k2 != dd && v2[k2Off-1] < v2[k2Off+1]) {
				x2 = v2[k2Off+1]
			} else {
				x2 = v2[k2Off-1] + 1
			}
			y2 := x2 - k2
			start := x2
			for x2 < n && y2 < m && a[n-x2-1] == b[m-y2-1] {
				x2++
				y2++
			}
			d.budget -= x2 - start
			v2[k2Off] = x2
			switch {
			case x2 > n:
				k2end += 2
			case y2 > m:
				k2start += 2
			case !front:
				k1Off := vOff + delta - k2
				if k1Off >= 0 && k1Off < vLen && v1[k1Off] != -1 {
					x1 := v1[k1Off]
					y1 := vOff + x1 - k1Off
					if x1 >= n-x2 {
						return x1, y1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// writeHunks writes the hunks of ops, each change with up to context
// unchanged lines around it; changes closer than 2*context lines share a
// hunk.
func writeHunks(sb *strings.Builder, ops []op, a, b []string, context int) {
	for i := 0; i < len(ops); {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			return
		}
		start := max(i-context, 0)
		last := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind != ' ' {
				last = j
			} else if j-last > 2*context {
				break
			}
		}
		end := min(last+context+1, len(ops))
		writeHunk(sb, ops[start:end], a, b)
		i = end
	}
}

// writeHunk writes one hunk: its "@@ -l,s +l,s @@" header and its lines.
func writeHunk(sb *strings.Builder, ops []op, a, b []string) {
	aCount, bCount := 0, 0
	for _, o := range ops {
		if o.kind != '+' {
			aCount++
		}
		if o.kind != '-' {
			bCount++
		}
	}
	sb.WriteString("@@ -")
	sb.WriteString(hunkRange(ops[0].ai, aCount))
	sb.WriteString(" +")
	sb.WriteString(hunkRange(ops[0].bi, bCount))
	sb.WriteString(" @@\n")
	for _, o := range ops {
		var line string
		switch o.kind {
		case '-':
			line = a[o.ai]
		default:
			line = b[o.bi]
		}
		sb.WriteByte(o.kind)
		sb.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange formats a hunk's range of lines as GNU diff does: "start,count",
// just "start" for one line, and the line before the range for none.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return strconv.Itoa(start) + ",0"
	case 1:
		return strconv.Itoa(start + 1)
	default:
		return strconv.Itoa(start+1) + "," + strconv.Itoa(count)
	}
}
