package platform

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
)

// checkFiles looks at the package clause and imports of every .cue file
// the environment layers in: its directory and each parent below the root
// (files at the root itself may belong to other CUE packages). The CUE loader would silently skip a file of another package,
// losing its settings without a word, and would try a module registry for
// a non-standard import; both are errors here, with the file's position.
//
// A symlink among those files or in cue.mod is an error too: it could make
// the loader read a file outside the repository (values.yaml → /etc/passwd,
// cue.mod/pkg/x → /), and no error may quote such a file.
func checkFiles(env Environment) []Finding {
	var out []Finding
	for dir := env.Dir; dir == env.Dir || (dir != env.Root && strings.HasPrefix(dir, env.Root)); dir = filepath.Dir(dir) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.cue"))
		for _, name := range files {
			out = append(out, checkFile(env, name)...)
		}
	}
	modDir := filepath.Join(env.Root, "cue.mod")
	_ = filepath.WalkDir(modDir, func(name string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink != 0 {
			out = append(out, symlinkFinding(env, name))
		}
		return nil // WalkDir never follows a symlink, and unreadable entries are the loader's to report
	})
	return out
}

func symlinkFinding(env Environment, name string) Finding {
	return fileFinding(env, Position{File: relPath(env.Root, name)}, "",
		"is a symlink: plinth reads no symlinks from an environments repository, as one can point outside it")
}

func checkFile(env Environment, name string) []Finding {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return []Finding{symlinkFinding(env, name)}
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return []Finding{fileFinding(env, Position{File: relPath(env.Root, name)}, "", fmt.Sprintf("reading file: %v", err))}
	}
	f, err := parser.ParseFile(name, src, parser.ImportsOnly)
	if err != nil {
		return nil // the loader reports syntax errors with their positions
	}
	var out []Finding
	switch pkg := f.PackageName(); {
	case pkg == "":
		out = append(out, fileFinding(env, Position{File: relPath(env.Root, name), Line: 1, Column: 1}, "",
			"file has no package clause: environment files start with \"package "+Package+"\""))
	case pkg != Package:
		out = append(out, fileFinding(env, position(env.Root, packagePos(f).Pos()), "",
			fmt.Sprintf("file is package %s, so it would be ignored: environment files are package %s", pkg, Package)))
	}
	for _, d := range f.Decls {
		if a, ok := d.(*ast.Attribute); ok {
			if name, _ := a.Split(); name == "extern" {
				// @extern(embed) would let a field read any file of the
				// module, symlinks included; environments are CUE alone.
				out = append(out, fileFinding(env, position(env.Root, a.Pos()), "",
					"@extern is not allowed: environments embed no files (plinth reads only .cue files from a repository)"))
			}
		}
	}
	for spec := range f.ImportSpecs() {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		first := strings.SplitN(path, "/", 2)[0]
		switch {
		case strings.Contains(first, "."):
			out = append(out, fileFinding(env, position(env.Root, spec.Path.Pos()), "",
				fmt.Sprintf("import %q is not allowed: environments may import only CUE's standard library (plinth fetches no CUE modules)", path)))
		case first == "tool":
			out = append(out, fileFinding(env, position(env.Root, spec.Path.Pos()), "",
				fmt.Sprintf("import %q is not allowed: plinth never runs CUE tool tasks", path)))
		}
	}
	return out
}

func packagePos(f *ast.File) ast.Node {
	for _, d := range f.Decls {
		if p, ok := d.(*ast.Package); ok {
			return p.Name
		}
	}
	return f
}

func fileFinding(env Environment, pos Position, path, msg string) Finding {
	return Finding{Environment: env.Name, Rule: RuleSchema, Severity: SeverityError, Path: path, Position: pos, Message: msg}
}
