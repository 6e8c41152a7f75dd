package safetext_test

import (
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/safetext"
)

// hostile inputs shared by the tables: what a repository, a cluster or a
// webhook's caller could put in a name, a value or a message.
const (
	ansi     = "\x1b[31mred\x1b[0m"
	bidi     = "admin\u202egpj.exe"
	isolate  = "a\u2066b\u2069c"
	zeroW    = "pro\u200bd\ufeff"
	joiner   = "👩\u200d💻" // a zero-width joiner scripts and emoji need: kept
	html     = `<script>alert("x")</script>`
	crlf     = "line\r\nforged: yes"
	invalid  = "a\xffb"
	c1       = "a\u0085b\u009bc"
	sep      = "a\u2028b\u2029c"
	backtick = "a```b`c"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, newline, want string }{
		{"plain ünïcode 名前", `\n`, "plain ünïcode 名前"},
		{ansi, `\n`, `\x1b[31mred\x1b[0m`},
		{bidi, `\n`, `admin\u202egpj.exe`},
		{isolate, `\n`, `a\u2066b\u2069c`},
		{zeroW, `\n`, `pro\u200bd\ufeff`},
		{joiner, `\n`, joiner},
		{html, `\n`, html},
		{crlf, `\n`, `line\r\nforged: yes`},
		{crlf, "⏎", `line\r⏎forged: yes`},
		{"a\tb\x00c\x7f", "⏎", `a\tb\x00c\x7f`},
		{invalid, `\n`, `a\xffb`},
		{c1, `\n`, `a\x85b\x9bc`},
		{sep, `\n`, `a\u2028b\u2029c`},
		{"a\u061cb\u200ec\u200fd", `\n`, `a\u061cb\u200ec\u200fd`},
	} {
		if got := safetext.Escape(tc.in, tc.newline); got != tc.want {
			t.Errorf("Escape(%q, %q) = %q, want %q", tc.in, tc.newline, got, tc.want)
		}
		if got, want := safetext.NeedsEscape(tc.in), safetext.Escape(tc.in, tc.newline) != tc.in; got != want {
			t.Errorf("NeedsEscape(%q) = %v, want %v", tc.in, got, want)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "` `"},
		{"plain", "`plain`"},
		{backtick, "````a```b`c````"},
		{"`", "`` ` ``"},
		{"``x", "``` ``x ```"},
		{"x`", "`` x` ``"},
		{" lead", "`  lead `"},
		{"   ", "`   `"}, // all spaces: CommonMark strips nothing, so no padding
		{"a|b", "`a|b`"},
		{"a\nb", "`a⏎b`"},
		{crlf, "`line\\r⏎forged: yes`"},
		{ansi, "`\\x1b[31mred\\x1b[0m`"},
		{bidi, "`admin\\u202egpj.exe`"},
		{zeroW, "`pro\\u200bd\\ufeff`"},
		{html, "`" + html + "`"},
		{"@octocat #1 [x](http://e) *b*", "`@octocat #1 [x](http://e) *b*`"},
	} {
		if got := safetext.CodeSpan(tc.in, "⏎"); got != tc.want {
			t.Errorf("CodeSpan(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCodeBlock(t *testing.T) {
	for _, tc := range []struct{ in, info, want string }{
		{"", "diff", "```diff\n\n```\n"},
		{"+a\n-b\n", "diff", "```diff\n+a\n-b\n```\n"},
		{"+a", "diff", "```diff\n+a\n```\n"},
		{"```\n</details>\n````", "diff", "`````diff\n```\n</details>\n````\n`````\n"},
		{"x\r\ny\x1b[2J\u202e", "", "```\nx\\r\ny\\x1b[2J\\u202e\n```\n"},
		{"x", "go`", "```\nx\n```\n"},
		{"x", "go\nrm", "```\nx\n```\n"},
		{"x", "a\u202eb", "```\nx\n```\n"},
	} {
		if got := safetext.CodeBlock(tc.in, tc.info); got != tc.want {
			t.Errorf("CodeBlock(%q, %q) = %q, want %q", tc.in, tc.info, got, tc.want)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain words, 3.", "plain words, 3."},
		{html, `&lt;script&gt;alert\("x"\)&lt;/script&gt;`},
		{"a & b", "a &amp; b"},
		{"@octocat", "@\u2060octocat"},
		{"*b* _i_ ~s~ `c` [l](u) ![i](u) #1 a|b $x$ :tada: ^h {x} \\",
			`\*b\* \_i\_ \~s\~ \` + "`" + `c\` + "`" + ` \[l\]\(u\) \!\[i\]\(u\) \#1 a\|b \$x\$ \:tada\: \^h \{x\} \\`},
		{"a\nb", "a⏎b"},
		{ansi, `\\x1b\[31mred\\x1b\[0m`},
		{bidi, `admin\\u202egpj.exe`},
		{zeroW, `pro\\u200bd\\ufeff`},
	} {
		if got := safetext.MarkdownText(tc.in, "⏎"); got != tc.want {
			t.Errorf("MarkdownText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTableCell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"`a|b`", "`a\\|b`"},
		{`a\|b`, `a\\|b`},
		{"||", `\|\|`},
	} {
		if got := safetext.TableCell(tc.in); got != tc.want {
			t.Errorf("TableCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCompact(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"  a \n\n b\t", 10, "a b"},
		{crlf, 40, "line forged: yes"},
		{ansi, 20, "[31mred[0m"},
		{bidi, 20, "admingpj.exe"},
		{isolate, 10, "abc"},
		{zeroW, 10, "prod"},
		{joiner, 10, joiner},
		{sep, 10, "a b c"},
		{c1, 10, "a bc"},
		{invalid, 10, "a\uFFFDb"},
		{html, 100, html}, // HTML is the medium's business (Slack escapes it)
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"abcd efg", 6, "abcd…"},
		{"名前名前名前名", 6, "名前名前名…"},
		{strings.Repeat("x", 100000), 10, "xxxxxxxxx…"},
		{strings.Repeat("\x00", 100000) + "x", 10, "…"},
		{"x", 0, ""},
		{"x", -1, ""},
	} {
		if got := safetext.Compact(tc.in, tc.n); got != tc.want {
			t.Errorf("Compact(%.20q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 3, "abc"},
		{"abc", 2, "ab"},
		{"a名", 3, "a"},
		{"a名", 4, "a名"},
		{"名", 2, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
	} {
		if got := safetext.Cut(tc.in, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
