package source

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// digestBytes returns "sha256:<hex>" of data.
func digestBytes(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// digestFile returns "sha256:<hex>" of a regular file's content. A symlink
// or any other non-regular file is an error.
func digestFile(name string) (string, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", name)
	}
	sum, err := hashFile(name)
	if err != nil {
		return "", err
	}
	return "sha256:" + sum, nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digestTree returns the digest of the tree rooted at root as the package
// documentation defines it. The root must be a directory (not a symlink to
// one); a symlink or any other non-regular file inside it is an error, since
// vendored trees hold neither.
func digestTree(root string) (string, error) {
	fi, err := os.Lstat(root)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", root)
	}
	type file struct {
		rel, mode, sum string
	}
	var files []file
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s in %s is a %s, not a regular file", rel, root, kindOf(d.Type()))
		}
		if strings.ContainsAny(rel, "\n\r") {
			return fmt.Errorf("%q in %s has a line break in its name", rel, root)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := "100644"
		if info.Mode().Perm()&0o111 != 0 {
			mode = "100755"
		}
		files = append(files, file{rel: rel, mode: mode})
		return nil
	})
	if err != nil {
		return "", err
	}

	// Hash the files in parallel: a tree like Kubeflow's manifests has a
	// thousand files and 25 MB.
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		errs = make([]error, len(files))
	)
	for range min(runtime.GOMAXPROCS(0), 8) {
		wg.Go(func() {
			for i := range next {
				files[i].sum, errs[i] = hashFile(filepath.Join(root, filepath.FromSlash(files[i].rel)))
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}

	lines := make([]string, len(files))
	for i, f := range files {
		lines[i] = f.mode + " " + f.sum + " " + f.rel + "\n"
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// vendoredDigest returns the digest of what is vendored for the entry under
// the vendor directory dir: a chart archive or a git tree, reached through
// real directories only.
func vendoredDigest(dir string, e Locked) (string, error) {
	if err := realDirs(dir, path.Dir(e.Path), false); err != nil {
		return "", err
	}
	name := filepath.Join(dir, filepath.FromSlash(e.Path))
	if e.Kind == KindHelm {
		return digestFile(name)
	}
	return digestTree(name)
}
