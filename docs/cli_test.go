package docs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/plinth-platform/plinth/cmd/plinth/cli"
)

// cliFragments holds the hand-written parts of cli.md: intro.md, then
// <command>.md after each command's generated part.
const cliFragments = "../cmd/plinth/cli/clidoc"

// Every command has a section and every flag a line in docs/cli.md, and
// every fragment belongs to a command.
func TestCLIDocCoversEveryCommand(t *testing.T) {
	doc, err := cliDoc()
	if err != nil {
		t.Fatal(err)
	}
	root := cli.NewRootCommand(cli.Streams{})
	names := map[string]bool{"intro": true}
	for _, cmd := range commands(root) {
		names[cmd.Name()] = true
		if !bytes.Contains(doc, []byte("\n## "+cmd.CommandPath()+"\n")) && !bytes.Contains(doc, []byte("\n### "+cmd.CommandPath()+"\n")) {
			t.Errorf("no section for %s", cmd.CommandPath())
		}
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !bytes.Contains(doc, []byte("--"+f.Name+" ")) {
				t.Errorf("%s: flag --%s not documented", cmd.CommandPath(), f.Name)
			}
		})
	}
	entries, err := os.ReadDir(cliFragments)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := strings.TrimSuffix(e.Name(), ".md"); !names[name] {
			t.Errorf("%s/%s: no command %s", cliFragments, e.Name(), name)
		}
	}
}

// commands lists the tree's commands below the root, depth first, in the
// order plinth --help lists them, without hidden ones and help.
func commands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		out = append(out, c)
		out = append(out, commands(c)...)
	}
	return out
}

// cliDoc renders cli.md: the intro, the global flags, then per command its
// synopsis, Long help, hand-written fragment, flags and examples.
func cliDoc() ([]byte, error) {
	// The commands in the order NewRootCommand adds them, the order of the
	// work (vet, vendor, render, ...), not sorted by name.
	sorting := cobra.EnableCommandSorting
	cobra.EnableCommandSorting = false
	defer func() { cobra.EnableCommandSorting = sorting }()
	root := cli.NewRootCommand(cli.Streams{})
	root.InitDefaultCompletionCmd()
	var b bytes.Buffer
	intro, err := os.ReadFile(filepath.Join(cliFragments, "intro.md"))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, "# The plinth command line\n\n")
	fmt.Fprintf(&b, "<!-- Generated from the command tree (cmd/plinth/cli) and the hand-written\n")
	fmt.Fprintf(&b, "     parts in cmd/plinth/cli/clidoc/ by make docs: edit those, not this file. -->\n\n")
	b.Write(intro)
	fmt.Fprintf(&b, "\n## Commands\n\n| Command | What it does |\n| --- | --- |\n")
	for _, c := range commands(root) {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s |\n", c.CommandPath(), strings.ReplaceAll(c.CommandPath(), " ", "-"), escapeMarkdown(c.Short))
	}
	fmt.Fprintf(&b, "\n## Global flags\n\nEvery command takes these (`plinth --version` only on its own):\n\n```\n%s```\n", flagUsages(root.LocalFlags()))
	for _, c := range commands(root) {
		level := "##"
		if c.Parent() != root {
			level = "###"
		}
		fmt.Fprintf(&b, "\n%s %s\n\n%s.\n\n```\n%s\n```\n", level, c.CommandPath(), escapeMarkdown(c.Short), c.UseLine())
		if c.Long != "" {
			fmt.Fprintf(&b, "\n%s", longToMarkdown(c.Long))
		}
		frag, err := os.ReadFile(filepath.Join(cliFragments, c.Name()+".md"))
		switch {
		case err == nil:
			fmt.Fprintf(&b, "\n%s", frag)
		case !os.IsNotExist(err):
			return nil, err
		}
		if c.HasAvailableLocalFlags() {
			fmt.Fprintf(&b, "\nFlags:\n\n```\n%s```\n", flagUsages(c.LocalFlags()))
		}
		if c.Example != "" {
			fmt.Fprintf(&b, "\nExamples:\n\n```\n%s\n```\n", strings.TrimRight(c.Example, "\n"))
		}
	}
	return b.Bytes(), nil
}

// flagUsages is pflag's usage text, one line per flag, with a default
// under the temporary directory written as $TMPDIR (it depends on the
// environment).
func flagUsages(fs *pflag.FlagSet) string {
	tmp := os.TempDir()
	fs.VisitAll(func(f *pflag.Flag) {
		if strings.HasPrefix(f.DefValue, tmp+string(filepath.Separator)) {
			f.DefValue = "$TMPDIR" + strings.TrimPrefix(f.DefValue, tmp)
		}
	})
	var lines []string
	for line := range strings.Lines(fs.FlagUsagesWrapped(0)) {
		if strings.Contains(line, "--help ") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "")
}

// longToMarkdown turns a command's Long help, written for a terminal,
// into Markdown: prose lines stay as they are, indented lines (lists,
// tables) go into code blocks.
func longToMarkdown(long string) string {
	var b strings.Builder
	inBlock, prevBlank := false, true
	for line := range strings.Lines(strings.TrimRight(long, "\n") + "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		blank := strings.TrimSpace(line) == ""
		switch {
		case indented && !inBlock:
			if !prevBlank {
				b.WriteString("\n")
			}
			b.WriteString("```\n")
			inBlock = true
		case !indented && !blank && inBlock:
			b.WriteString("```\n\n")
			inBlock = false
		case blank && inBlock:
			b.WriteString("```\n")
			inBlock = false
		}
		if !inBlock {
			line = escapeMarkdown(line)
		}
		b.WriteString(line)
		prevBlank = blank
	}
	if inBlock {
		b.WriteString("```\n")
	}
	return b.String()
}

// escapeMarkdown keeps <env> and the like as text: Markdown would take
// them for HTML tags.
func escapeMarkdown(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}
