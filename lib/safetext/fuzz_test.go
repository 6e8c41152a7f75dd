package safetext_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// FuzzForms checks every form against what its medium would make of it:
// one line with nothing unsafe left, a code span or block that a
// CommonMark reader closes exactly where it ends and whose content is the
// escaped text, Markdown text that decodes back to it, and the bounds.
func FuzzForms(f *testing.F) {
	for _, s := range []string{
		"", "plain", ansi, bidi, isolate, zeroW, joiner, html, crlf, invalid, c1, sep, backtick,
		"`", " ` ", "   ", "```\n</details>\n````", "@octocat [x](y) ![i](u) a|b \\*",
		"&lt; &amp;", "@\u2060", "名前\n\t名前", strings.Repeat("`", 40),
	} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		for _, newline := range []string{`\n`, "⏎"} {
			line := safetext.Escape(s, newline)
			checkLine(t, "Escape", line)
			if !safetext.NeedsEscape(s) && line != s {
				t.Errorf("Escape(%q) = %q changes a safe text", s, line)
			}

			span := safetext.CodeSpan(s, newline)
			checkLine(t, "CodeSpan", span)
			if got := codeSpanContent(t, span); got != line && !(line == "" && got == " ") {
				t.Errorf("CodeSpan(%q) = %q reads as %q, want %q", s, span, got, line)
			}

			md := safetext.MarkdownText(s, newline)
			checkLine(t, "MarkdownText", md)
			if got := decodeMarkdownText(t, md); got != line {
				t.Errorf("MarkdownText(%q) = %q reads as %q, want %q", s, md, got, line)
			}

			if cell := safetext.TableCell(md); strings.Count(cell, "|") != strings.Count(cell, `\|`) {
				t.Errorf("TableCell(%q) = %q has a pipe not escaped", md, cell)
			}
		}

		checkCodeBlock(t, s)

		n = n % 300
		c := safetext.Compact(s, n)
		checkLine(t, "Compact", c)
		if got := utf8.RuneCountInString(c); got > max(n, 0) {
			t.Errorf("Compact(%q, %d) = %q has %d characters", s, n, c, got)
		}
		if !utf8.ValidString(c) || strings.TrimSpace(c) != c || strings.Contains(c, "  ") || strings.ContainsAny(c, "\t\r\n") {
			t.Errorf("Compact(%q, %d) = %q: not one trimmed line of valid UTF-8", s, n, c)
		}

		cut := safetext.Cut(s, n)
		if !strings.HasPrefix(s, cut) || len(cut) > max(n, 0) || len(s) > n && n > 0 && len(cut) < n-3 {
			t.Errorf("Cut(%q, %d) = %q", s, n, cut)
		}
		if utf8.ValidString(s) && !utf8.ValidString(cut) {
			t.Errorf("Cut(%q, %d) = %q cuts a character", s, n, cut)
		}
	})
}

// checkLine fails when out is not one line of valid UTF-8 without an
// unsafe character.
func checkLine(t *testing.T, form, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: %q is not valid UTF-8", form, out)
	}
	for _, r := range out {
		if safetext.Unsafe(r) {
			t.Errorf("%s: %q holds %U", form, out, r)
			return
		}
	}
}

// codeSpanContent parses span as one CommonMark code span and returns its
// content: the span must close at its very end.
func codeSpanContent(t *testing.T, span string) string {
	t.Helper()
	n := leadingRun(span, '`')
	if n == 0 || len(span) < 2*n || leadingRun(span[len(span)-n:], '`') != n || (len(span) > 2*n && span[len(span)-n-1] == '`') {
		t.Errorf("%q is not delimited by equal runs of backticks", span)
		return ""
	}
	inner := span[n : len(span)-n]
	for i := 0; i < len(inner); {
		if inner[i] != '`' {
			i++
			continue
		}
		run := leadingRun(inner[i:], '`')
		if run == n {
			t.Errorf("%q closes early, at byte %d", span, n+i)
		}
		i += run
	}
	if len(inner) >= 2 && inner[0] == ' ' && inner[len(inner)-1] == ' ' && strings.Trim(inner, " ") != "" {
		inner = inner[1 : len(inner)-1]
	}
	return inner
}

// decodeMarkdownText reads md as Markdown text: every character Markdown
// or GitHub could take as markup must be escaped, and the result is the
// text a reader sees.
func decodeMarkdownText(t *testing.T, md string) string {
	t.Helper()
	var sb strings.Builder
	for i := 0; i < len(md); {
		switch {
		case md[i] == '\\' && i+1 < len(md) && strings.IndexByte("\\`*_{}[]()#|~^$:!", md[i+1]) >= 0:
			sb.WriteByte(md[i+1])
			i += 2
		case strings.HasPrefix(md[i:], "&lt;"):
			sb.WriteByte('<')
			i += 4
		case strings.HasPrefix(md[i:], "&gt;"):
			sb.WriteByte('>')
			i += 4
		case strings.HasPrefix(md[i:], "&amp;"):
			sb.WriteByte('&')
			i += 5
		case strings.HasPrefix(md[i:], "@\u2060"):
			sb.WriteByte('@')
			i += 1 + len("\u2060")
		case strings.IndexByte("\\`*_{}[]()#|~^$:!<>&@", md[i]) >= 0:
			t.Errorf("%q: %q at byte %d is not escaped", md, md[i], i)
			return ""
		default:
			sb.WriteByte(md[i])
			i++
		}
	}
	return sb.String()
}

// checkCodeBlock parses CodeBlock's output as a CommonMark fenced code
// block: the fence closes at its last line only, and the content is the
// text with its lines escaped.
func checkCodeBlock(t *testing.T, s string) {
	t.Helper()
	block := safetext.CodeBlock(s, "diff")
	lines := strings.Split(block, "\n")
	fence := strings.Repeat("`", leadingRun(lines[0], '`'))
	if len(fence) < 3 || lines[0] != fence+"diff" || len(lines) < 3 || lines[len(lines)-1] != "" || lines[len(lines)-2] != fence {
		t.Fatalf("CodeBlock(%q) = %q is not one fenced block", s, block)
	}
	body := lines[1 : len(lines)-2]
	for i, l := range body {
		for _, r := range l {
			if safetext.Unsafe(r) {
				t.Errorf("CodeBlock(%q): line %d holds %U", s, i+1, r)
			}
		}
		if leadingRun(strings.TrimLeft(l, " "), '`') >= len(fence) {
			t.Errorf("CodeBlock(%q): line %d %q closes the fence", s, i+1, l)
		}
	}
	want := safetext.Escape(s, "\n")
	if !strings.HasSuffix(want, "\n") {
		want += "\n"
	}
	if got := strings.Join(body, "\n") + "\n"; got != want {
		t.Errorf("CodeBlock(%q) holds %q, want %q", s, got, want)
	}
}

func leadingRun(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}
