package safetext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Compact returns s as one line of at most n characters, for a chat
// message or a form field where Go escapes would be noise: invalid UTF-8
// replaced by U+FFFD, [Unsafe] characters that are not white space
// removed, runs of white space (newlines, tabs, line separators included)
// collapsed into one space and trimmed, and the last character "…" when
// cut. n <= 0 gives "".
func Compact(s string, n int) string {
	if n <= 0 {
		return ""
	}
	cut := false
	// A character is at most 4 bytes: leave as much again for removed ones,
	// so a huge input costs no more than a short one.
	if limit := 8 * n; len(s) > limit {
		s, cut = Cut(s, limit), true
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsSpace(r) && Unsafe(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if !cut && utf8.RuneCountInString(s) <= n {
		return s
	}
	if r := []rune(s); len(r) > n-1 {
		s = strings.TrimRight(string(r[:n-1]), " ")
	}
	return s + "…"
}

// Cut cuts s to at most n bytes, at a character boundary, for a limit in
// bytes (a comment's size). n <= 0 gives "".
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	// A character starts at most UTFMax-1 bytes back; further back there
	// are only stray continuation bytes, which cutting cannot split.
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}
