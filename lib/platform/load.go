package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing/fstest"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/mod/modfile"
	"cuelang.org/go/mod/module"

	schemas "github.com/plinth-platform/plinth/cue"
)

// EnvironmentsDir is the directory under the repository root that holds one
// directory per environment.
const EnvironmentsDir = "environments"

// Package is the CUE package every environment file belongs to.
const Package = "plinth"

// schemaDir is how the embedded schema files are named in positions.
const schemaDir = "cue"

// Environment locates one environment on disk.
type Environment struct {
	// Name is the environment's directory name, e.g. "prod".
	Name string
	// Dir is the environment's directory, absolute.
	Dir string
	// Root is the repository root, absolute; parent directories up to it are layered in.
	Root string
}

// RelDir is the environment's directory relative to the root, slash-separated.
func (e Environment) RelDir() string { return relPath(e.Root, e.Dir) }

// Resolve finds the environment arg names under root: a name under
// root/environments, or a path to an environment directory inside root.
func Resolve(root, arg string) (Environment, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return Environment{}, err
	}
	candidates := []string{filepath.Join(absRoot, EnvironmentsDir, arg)}
	if strings.ContainsRune(arg, filepath.Separator) || arg == "." || arg == ".." {
		p, err := filepath.Abs(arg)
		if err != nil {
			return Environment{}, err
		}
		candidates = []string{p}
	}
	for _, dir := range candidates {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		rel, err := filepath.Rel(absRoot, dir)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return Environment{}, fmt.Errorf("environment %s: directory %s is outside the root %s", arg, dir, absRoot)
		}
		if link := symlinkBelow(absRoot, dir); link != "" {
			return Environment{}, fmt.Errorf("environment %s: %s is a symlink: plinth reads no symlinks from an environments repository, as one can point outside it", arg, link)
		}
		if !hasCUEFiles(dir) {
			return Environment{}, fmt.Errorf("environment %s: %s has no .cue files", arg, dir)
		}
		return Environment{Name: filepath.Base(dir), Dir: dir, Root: absRoot}, nil
	}
	known, _ := List(absRoot)
	return Environment{}, fmt.Errorf("environment %s not found under %s (known: %s)", arg, filepath.Join(absRoot, EnvironmentsDir), strings.Join(known, ", "))
}

// List returns the names of the environments under root/environments:
// every directory holding .cue files, sorted.
func List(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, EnvironmentsDir))
	if err != nil {
		return nil, fmt.Errorf("listing environments: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && hasCUEFiles(filepath.Join(root, EnvironmentsDir, e.Name())) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// symlinkBelow returns the first element of dir's path below root that is
// a symlink, relative to root, or "". Root itself may be reached through
// one (a checkout under a linked home directory).
func symlinkBelow(root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return ""
	}
	p := root
	for part := range strings.SplitSeq(rel, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return relPath(root, p)
		}
	}
	return ""
}

func hasCUEFiles(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.cue"))
	return len(matches) > 0
}

// loadSchema builds the embedded schema package.
func loadSchema(cctx *cue.Context) (cue.Value, error) {
	insts := load.Instances([]string{"."}, &load.Config{
		FS:         schemaFS(),
		Dir:        "/",
		Package:    Package,
		FromFSPath: func(p string) string { return schemaDir + "/" + strings.TrimPrefix(p, "/") },
		Registry:   noRegistry{},
	})
	if err := insts[0].Err; err != nil {
		return cue.Value{}, fmt.Errorf("embedded schema: %w", err)
	}
	v := cctx.BuildInstance(insts[0])
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("embedded schema: %w", err)
	}
	return v, nil
}

// schemaFS serves the embedded .cue files plus a module file, so that the
// loader treats them as a module of their own.
var schemaFS = sync.OnceValue(func() fs.FS {
	files := fstest.MapFS{
		"cue.mod/module.cue": {Data: []byte("module: \"plinth.dev/schema@v0\"\nlanguage: version: \"v0.17.0\"\n")},
	}
	entries, _ := fs.ReadDir(schemas.FS, ".")
	for _, e := range entries {
		data, _ := fs.ReadFile(schemas.FS, e.Name())
		files[e.Name()] = &fstest.MapFile{Data: data}
	}
	return files
})

// noRegistry refuses every module fetch: environments may import CUE's
// standard library only, and loading never touches the network.
type noRegistry struct{}

var errNoRegistry = errors.New("plinth loads no CUE modules from registries: import only the standard library")

func (noRegistry) ModFile(context.Context, module.Version) (*modfile.File, error) {
	return nil, errNoRegistry
}

func (noRegistry) Fetch(context.Context, module.Version) (module.SourceLoc, error) {
	return module.SourceLoc{}, errNoRegistry
}

func (noRegistry) ModuleVersions(context.Context, string) ([]string, error) {
	return nil, errNoRegistry
}

// loadEnvironment builds the user's environment package: the files of
// env.Dir and the same-package files of every parent directory up to
// env.Root, whose names it returns too. A repository without cue.mod gets one in memory.
func loadEnvironment(cctx *cue.Context, env Environment) (cue.Value, []string, error) {
	cfg := &load.Config{
		Dir:        env.Dir,
		ModuleRoot: env.Root,
		Package:    Package,
		// Environments may import only CUE's standard library: no registry, no network.
		Registry: noRegistry{},
		Env:      []string{"CUE_REGISTRY=none"},
	}
	modFile := filepath.Join(env.Root, "cue.mod", "module.cue")
	if _, err := os.Stat(modFile); err != nil {
		cfg.Overlay = map[string]load.Source{
			modFile: load.FromString("module: \"plinth.local/environments@v0\"\nlanguage: version: \"v0.17.0\"\n"),
		}
	}
	insts := load.Instances([]string{"."}, cfg)
	if err := insts[0].Err; err != nil {
		return cue.Value{}, nil, err
	}
	var files []string
	for _, f := range insts[0].BuildFiles {
		files = append(files, f.Filename)
	}
	v := cctx.BuildInstance(insts[0])
	return v, files, v.Err()
}
