package platform

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
)

// maxPatchBytes bounds a patch file: patches are a few lines; anything
// near this is a mistake (or an attempt to read something else).
const maxPatchBytes = 1 << 20

// patches gives each of a component's patches its position in the
// environment's files and, for a patch in a file, the file's content.
func (p *Platform) patches(list cue.Value, patches []Patch) ([]Patch, error) {
	for i := range patches {
		pt := &patches[i]
		pt.Position = position(p.Environment.Root, list.LookupPath(cue.MakePath(cue.Index(i))).Pos())
		if (pt.Patch == "") == (pt.Path == "") {
			return nil, fmt.Errorf("patch at %s: a patch has either patch (the patch itself) or path (a file holding it)", pt.Position)
		}
		if pt.Path == "" {
			continue
		}
		data, err := readPatchFile(p.Environment.Root, p.Environment.Dir, pt.Path)
		if err != nil {
			return nil, fmt.Errorf("patch at %s: file %s: %w", pt.Position, pt.Path, err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return nil, fmt.Errorf("patch at %s: file %s is empty", pt.Position, pt.Path)
		}
		pt.Patch = string(data)
	}
	return patches, nil
}

// readPatchFile reads name, relative to the environment's directory dir,
// only if it is a regular file inside the repository at root reached
// without symlinks: render reads nothing else of the machine it runs on.
func readPatchFile(root, dir, name string) ([]byte, error) {
	if filepath.IsAbs(name) {
		return nil, errors.New("must be relative to the environment's directory")
	}
	full := filepath.Join(dir, name)
	rel, err := filepath.Rel(root, full)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, errors.New("is outside the repository")
	}
	// No element from the root down may be a link, even one that stays
	// inside (os.Root would follow those); the open itself goes through
	// os.Root, so a link swapped in meanwhile still cannot lead out.
	at := root
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		at = filepath.Join(at, elem)
		fi, err := os.Lstat(at)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s is a symlink; patch files must not be reached through one", relPath(root, at))
		}
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, errors.New("is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPatchBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPatchBytes {
		return nil, fmt.Errorf("is larger than %d KiB", maxPatchBytes>>10)
	}
	return data, nil
}
