package safetext

import "strings"

// CodeSpan shows s verbatim in a Markdown inline code span: made one line
// by [Escape] (newline as in Escape; it must not hold a line break),
// delimited by a run of backticks longer than any in s and padded with a
// space when s starts or ends with a backtick or a space (CommonMark
// strips one, unless the span is all spaces). Markdown, HTML, mentions and
// references are not interpreted in a code span. In a table cell, pass
// the span through [TableCell].
func CodeSpan(s, newline string) string {
	s = Escape(s, newline)
	if s == "" {
		return "` `"
	}
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	pad := strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ")
	if pad && strings.Trim(s, " ") != "" {
		s = " " + s + " "
	}
	return delim + s + delim
}

// CodeBlock shows s verbatim in a fenced Markdown code block: every line
// made safe by [Escape] (its newlines kept), the fence a run of backticks
// longer than any in s (three at least), so that no line of s can close
// it. info is the block's language ("diff"); one that would not be a
// valid info string (a backtick, a line break, an unsafe character) is
// left out. The block ends with a newline.
func CodeBlock(s, info string) string {
	s = Escape(s, "\n")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if strings.ContainsAny(info, "`\n") || NeedsEscape(info) {
		info = ""
	}
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + info + "\n" + s + fence + "\n"
}

// MarkdownText escapes s for Markdown text that does not start a line:
// made one line by [Escape] (newline as in Escape), HTML's special
// characters written as entities, the ASCII punctuation that Markdown or
// GitHub gives a meaning within a line backslash-escaped (":" for emoji
// codes, "$" for math), and a word joiner after "@" so that GitHub
// mentions no one.
func MarkdownText(s, newline string) string {
	s = Escape(s, newline)
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '&':
			sb.WriteString("&amp;")
		case '@':
			sb.WriteString("@\u2060")
		case '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '|', '~', '^', '$', ':', '!':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// TableCell makes inline Markdown (a [CodeSpan], [MarkdownText]) a cell of
// a GitHub table: GitHub splits a row at every "|" not escaped, inside
// code spans too, and reads "\|" as "|" before the cell's Markdown.
func TableCell(markdown string) string {
	return strings.ReplaceAll(markdown, "|", `\|`)
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}
