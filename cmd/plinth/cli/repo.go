package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

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

// oneEnvironment is the Args check of a command that takes exactly one
// ENV: a missing or extra argument is said in plinth's words, with the
// environments of the repository when it can list them.
func oneEnvironment(g *globalFlags) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			return nil
		}
		known := ""
		if root, err := g.repoRoot(); err == nil {
			if names, err := platform.List(root); err == nil && len(names) > 0 {
				known = " (environments: " + strings.Join(names, ", ") + ")"
			}
		}
		if len(args) == 0 {
			return fmt.Errorf("%s needs the environment to work on: %s%s", cmd.Name(), usage(cmd), known)
		}
		return fmt.Errorf("%s takes one environment, not %d (%s): %s, once per environment", cmd.Name(), len(args), strings.Join(args, ", "), usage(cmd))
	}
}

// oneDirectory is the Args check of plinth init.
func oneDirectory(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("%s needs the directory to create: %s", cmd.Name(), usage(cmd))
	default:
		return fmt.Errorf("%s takes one directory, not %d (%s): %s", cmd.Name(), len(args), strings.Join(args, ", "), usage(cmd))
	}
}

// usage is the command's synopsis without cobra's "[flags]".
func usage(cmd *cobra.Command) string { return strings.TrimSuffix(cmd.UseLine(), " [flags]") }
