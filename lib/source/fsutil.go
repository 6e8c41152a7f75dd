package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// realDirs makes sure every directory of the slash path rel below root is a
// real directory, not a symlink, creating missing ones when create is set.
// Vendored content is often committed, so a hostile change could turn
// vendor/charts into a symlink to somewhere outside the repository; writes
// and reads through it are refused.
func realDirs(root, rel string, create bool) error {
	dir := root
	for _, elem := range strings.Split(rel, "/") {
		if elem == "" || elem == "." {
			continue
		}
		dir = filepath.Join(dir, elem)
		fi, err := os.Lstat(dir)
		if errors.Is(err, fs.ErrNotExist) && create {
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if fi, err = os.Lstat(dir); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink; the vendor directory must hold real directories", dir)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
	}
	return nil
}
