package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/plinth-platform/plinth/lib/platform"
)

// checkRepo says what to do when root has no environments/ directory:
// plinth runs inside an environments repository, or with --root naming
// one, or the user creates one with plinth init.
func (g *globalFlags) checkRepo(root string) error {
	dir := filepath.Join(root, platform.EnvironmentsDir)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if g.root != "" {
		return fmt.Errorf("--root %s has no %s/ directory: name an environments repository's root, or create one with plinth init %s",
			g.root, platform.EnvironmentsDir, g.root)
	}
	return fmt.Errorf("no %s/ directory in %s or any parent directory: run plinth inside an environments repository, pass --root DIR, or create one with plinth init DIR",
		platform.EnvironmentsDir, root)
}

// expandEnvironmentsDir replaces an argument that names the environments
// directory itself (plinth vet environments/) with every environment under
// it, in order: the directory is not an environment.
func expandEnvironmentsDir(root string, args []string) ([]string, error) {
	envsDir := filepath.Join(root, platform.EnvironmentsDir)
	var out []string
	for _, a := range args {
		if abs, err := filepath.Abs(a); err == nil && abs == envsDir && (a != platform.EnvironmentsDir || !isDir(filepath.Join(envsDir, a))) {
			names, err := platform.List(root)
			if err != nil {
				return nil, err
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("no environments under %s", envsDir)
			}
			out = append(out, names...)
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
