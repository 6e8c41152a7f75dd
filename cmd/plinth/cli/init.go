package cli

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/platform"
)

// scaffold holds the files plinth init writes, at their paths in the new
// repository (dot files included, hence all:).
//
//go:embed all:scaffold
var scaffold embed.FS

const scaffoldDir = "scaffold"

// versionToken in a scaffold file is replaced by the plinth the CI files
// install: the running plinth's release tag, or the commit it was built
// from (VersionInfo.Pin), "latest" only when neither is known.
const versionToken = "@PLINTH_VERSION@"

type initFlags struct {
	force bool
}

func newInitCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &initFlags{}
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Scaffold an environments repository: an example environment, CI for pull requests, a README",
		Long: `init writes a new environments repository into DIR (created if missing):

  environments/common.cue               defaults shared by every environment
  environments/staging/environment.cue  a first environment, valid for plinth vet
  .github/workflows/plinth.yml          GitHub Actions: vet, diff as a PR comment, render --check
  .gitlab-ci.yml                        the same for GitLab merge requests
  README.md, .gitignore

Replace the values marked PLACEHOLDER, keep one CI file and delete the
other (plinth's docs/ci.md explains the setup). PLINTH_VERSION in the CI
files pins the plinth that ran init: its release tag, or the commit of a
build between releases (plinth version).
Then run plinth vendor and plinth render, and commit everything, vendor/,
plinth.lock and deploy/ included.

init overwrites nothing: when any of these files exists, it names each and
writes none of them, unless --force. --root does not apply to init.

Exit status: 0 written, 2 a file exists or DIR could not be written.`,
		Example: `  # Start a new environments repository
  plinth init platform-envs
  plinth vet --root platform-envs

  # Write the scaffold into the current directory, replacing those of its
  # files that exist already
  plinth init . --force`,
		Args: oneDirectory,
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := scaffoldFiles(currentVersion().Pin())
			if err != nil {
				return err
			}
			dir := args[0]
			if err := insideRepository(dir); err != nil {
				fmt.Fprintf(s.Err, "plinth init: %v; nothing written\n", err)
				return exitCodeError{exitError}
			}
			if errs := checkScaffold(dir, files, f.force); len(errs) > 0 {
				for _, err := range errs {
					fmt.Fprintf(s.Err, "plinth init: %v\n", err)
				}
				fmt.Fprintf(s.Err, "plinth init: nothing written\n")
				return exitCodeError{exitError}
			}
			for _, file := range files {
				name := filepath.Join(dir, filepath.FromSlash(file.name))
				verb := "created"
				if _, err := os.Lstat(name); err == nil {
					verb = "overwrote"
				}
				if err := writeFileAtomic(name, file.data); err != nil {
					fmt.Fprintf(s.Err, "plinth init: %v\n", err)
					return exitCodeError{exitError}
				}
				fmt.Fprintf(s.Err, "%s %s\n", verb, name)
			}
			fmt.Fprintf(s.Err, "next: replace the PLACEHOLDERs, then run plinth vet --root %s\n", dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.force, "force", false, "overwrite files that exist")
	return cmd
}

// scaffoldFile is one file plinth init writes; name is slash-separated,
// relative to DIR.
type scaffoldFile struct {
	name string
	data []byte
}

// scaffoldFiles returns the scaffold in lexical order, with version
// substituted.
func scaffoldFiles(version string) ([]scaffoldFile, error) {
	var files []scaffoldFile
	err := fs.WalkDir(scaffold, scaffoldDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := scaffold.ReadFile(p)
		if err != nil {
			return err
		}
		data = []byte(strings.ReplaceAll(string(data), versionToken, version))
		files = append(files, scaffoldFile{name: strings.TrimPrefix(p, scaffoldDir+"/"), data: data})
		return nil
	})
	return files, err
}

// checkScaffold returns an error for every file of the scaffold that cannot
// be written into dir: one that exists (unless force), a directory in its
// place, or a file where one of its directories would be.
func checkScaffold(dir string, files []scaffoldFile, force bool) []error {
	var errs []error
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return []error{fmt.Errorf("%s exists and is not a directory", dir)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return []error{err}
	}
	notDir := map[string]bool{} // parent directories checked: true if blocked by a file
	for _, file := range files {
		blocked := false
		for p := path.Dir(file.name); p != "."; p = path.Dir(p) {
			b, seen := notDir[p]
			if !seen {
				name := filepath.Join(dir, filepath.FromSlash(p))
				fi, err := os.Stat(name)
				b = err == nil && !fi.IsDir()
				notDir[p] = b
				if b {
					errs = append(errs, fmt.Errorf("%s exists and is not a directory", name))
				}
			}
			blocked = blocked || b
		}
		if blocked {
			continue
		}
		name := filepath.Join(dir, filepath.FromSlash(file.name))
		fi, err := os.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			errs = append(errs, err)
		case fi.IsDir():
			errs = append(errs, fmt.Errorf("%s exists and is a directory", name))
		case !force:
			errs = append(errs, fmt.Errorf("%s exists (--force overwrites it)", name))
		}
	}
	return errs
}

// writeFileAtomic writes name through a temporary file in its directory:
// a symbolic link at name is replaced, not followed.
func writeFileAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".plinth-init-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// insideRepository refuses a target inside the sources of an environments
// repository that holds it (its environments/, cue/ or .git): a new
// repository there would be read as part of that one.
func insideRepository(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for parent := filepath.Dir(abs); ; parent = filepath.Dir(parent) {
		if fi, err := os.Stat(filepath.Join(parent, platform.EnvironmentsDir)); err == nil && fi.IsDir() {
			if err := (platform.Layout{Root: parent}).CheckOutput(dir, ""); err != nil {
				return fmt.Errorf("%w of the repository at %s", err, parent)
			}
			return nil
		}
		if filepath.Dir(parent) == parent {
			return nil
		}
	}
}
