package platform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout is where a repository keeps what plinth reads: the environments,
// the schemas (cue/), the vendored sources and their lock, and git's own
// directory. Every writer checks its target against it (CheckOutput).
type Layout struct {
	Root      string
	VendorDir string
	LockFile  string
}

// sources names the paths of l that no output may touch, except the one
// the writer owns (own: the vendor directory for vendor, the lock file
// for its writer).
func (l Layout) sources(own string) map[string]string {
	all := map[string]string{
		filepath.Join(l.Root, EnvironmentsDir): "the environments",
		filepath.Join(l.Root, schemaDir):       "the schemas (cue/)",
		filepath.Join(l.Root, ".git"):          "the git directory",
	}
	if l.VendorDir != "" {
		all[l.VendorDir] = "the vendor directory"
	}
	if l.LockFile != "" {
		all[l.LockFile] = "the lock file"
	}
	delete(all, own)
	return all
}

// CheckOutput refuses an output path that is, contains or lies inside one
// of the repository's sources (other than own, the writer's own target),
// compared both as written and with symlinks resolved: a render into
// environments/ would replace environment files with YAML.
func (l Layout) CheckOutput(path, own string) error {
	out, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	outs := []string{out, resolve(out)}
	for src, what := range l.sources(own) {
		for _, s := range []string{src, resolve(src)} {
			for _, o := range outs {
				switch {
				case o == s:
					return fmt.Errorf("refusing to write to %s: it is %s", path, what)
				case within(s, o):
					return fmt.Errorf("refusing to write to %s: it contains %s (%s)", path, what, src)
				case within(o, s):
					return fmt.Errorf("refusing to write to %s: it lies inside %s (%s)", path, what, src)
				}
			}
		}
	}
	return nil
}

// within reports whether p lies strictly inside dir.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// resolve resolves the symlinks of p's longest existing prefix, so that
// a path not created yet compares by where it will be written.
func resolve(p string) string {
	var rest []string
	for cur := p; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		} else if !os.IsNotExist(err) {
			return p
		}
		if filepath.Dir(cur) == cur {
			return p
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
	}
}
