package safetext_test

import (
	"fmt"

	"github.com/plinth-platform/plinth/lib/safetext"
)

func ExampleEscape() {
	fmt.Println(safetext.Escape("web\x1b[2J\u202eevil\nnext", "⏎"))
	// Output: web\x1b[2J\u202eevil⏎next
}

func ExampleCodeSpan() {
	fmt.Println(safetext.CodeSpan("a``b", `\n`))
	fmt.Println(safetext.TableCell(safetext.CodeSpan("a|b", `\n`)))
	// Output:
	// ```a``b```
	// `a\|b`
}

func ExampleMarkdownText() {
	fmt.Println(safetext.MarkdownText("@team see <b>[this](x)</b>", `\n`))
	// Output: @⁠team see &lt;b&gt;\[this\]\(x\)&lt;/b&gt;
}

func ExampleCompact() {
	fmt.Println(safetext.Compact("  drift:\n\t3 drifted\u202e, 1 missing  ", 40))
	fmt.Println(safetext.Compact("a long message that is cut", 10))
	// Output:
	// drift: 3 drifted, 1 missing
	// a long me…
}
