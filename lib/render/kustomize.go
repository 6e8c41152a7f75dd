package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// krustyMu serialises krusty runs: kustomize keeps process-global state
// (its standard-logger warnings among them).
var krustyMu sync.Mutex

// treeRoot is where a source tree sits in the in-memory filesystem, and
// buildRoot where plinth writes the kustomizations it generates.
const (
	treeRoot  = "/src"
	buildRoot = "/plinth"
)

// Limits on a tree copied into memory for one build.
const (
	maxTreeFiles = 100_000
	maxTreeBytes = 512 << 20
)

// memTree copies a directory tree into an in-memory filesystem under
// /src, so that krusty can read nothing else. Symlinks are refused: the
// vendored trees have none and overlays/ must not either.
func memTree(fsys fs.FS, label string) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	var files, size int
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s: %s is a symlink; sources must not contain symlinks", label, p)
		}
		target := path.Join(treeRoot, p)
		if d.IsDir() {
			return mem.MkdirAll(target)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: %s is not a regular file", label, p)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files++
		size += len(data)
		if files > maxTreeFiles || size > maxTreeBytes {
			return fmt.Errorf("%s: tree exceeds %d files or %d MiB", label, maxTreeFiles, maxTreeBytes>>20)
		}
		return mem.WriteFile(target, data)
	})
	if err != nil {
		return nil, err
	}
	return mem, nil
}

// buildKustomize builds the given bases of a tree (paths relative to the
// tree's root) as one kustomization and returns its objects and the
// warnings kustomize printed.
func buildKustomize(mem filesys.FileSystem, label, name string, paths []string) ([]*unstructured.Unstructured, []string, error) {
	// The generated kustomization lives beside the tree, not in it, so
	// that a base may be the tree's root itself.
	dir := path.Join(buildRoot, name)
	k := types.Kustomization{
		TypeMeta: types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
	}
	for _, p := range paths {
		clean := path.Clean(p)
		if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, nil, fmt.Errorf("%s: base %q is outside the source", label, p)
		}
		k.Resources = append(k.Resources, path.Join("../..", treeRoot, clean))
	}
	data, err := yaml.Marshal(k)
	if err != nil {
		return nil, nil, err
	}
	if err := mem.MkdirAll(dir); err != nil {
		return nil, nil, err
	}
	if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), data); err != nil {
		return nil, nil, err
	}
	if err := refuseRemote(mem, dir, label, map[string]bool{}); err != nil {
		return nil, nil, err
	}

	krustyMu.Lock()
	defer krustyMu.Unlock()
	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	var m resmap.ResMap
	printed, err := captureOutput(func() error {
		var err error
		m, err = krusty.MakeKustomizer(opts).Run(mem, dir)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: kustomize build: %w", label, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", label, r.CurId(), err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: obj})
	}
	return objs, warningLines(printed), nil
}

// captureOutput runs fn with the standard logger and os.Stderr redirected
// into the returned text: kustomize prints its deprecation warnings there,
// and plinth reports them as the component's warnings instead. Callers
// hold krustyMu; os.Stderr is process-wide.
func captureOutput(fn func() error) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		out.ReadFrom(r)
		close(done)
	}()
	stderr := os.Stderr
	os.Stderr = w
	log.SetOutput(w)
	err = fn()
	os.Stderr = stderr
	log.SetOutput(stderr)
	w.Close()
	<-done
	r.Close()
	return out.String(), err
}

func warningLines(s string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		// Drop the standard logger's date and time prefix.
		if f := strings.SplitN(line, " ", 3); len(f) == 3 && strings.Count(f[0], "/") == 2 && strings.Count(f[1], ":") == 2 {
			line = f[2]
		}
		line = strings.TrimPrefix(strings.TrimSpace(line), "# Warning: ")
		if line != "" && !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out
}

// kustomizationFiles are the names kustomize recognises, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// refuseRemote walks the kustomizations reachable from dir and fails on a
// remote base or resource (a URL or a git reference), naming the file:
// kustomize would fetch it with git or HTTP, and render is hermetic.
func refuseRemote(mem filesys.FileSystem, dir, label string, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	var file string
	for _, name := range kustomizationFiles {
		if mem.Exists(path.Join(dir, name)) {
			file = path.Join(dir, name)
			break
		}
	}
	if file == "" {
		return nil
	}
	data, err := mem.ReadFile(file)
	if err != nil {
		return err
	}
	var k struct {
		Resources  []string `json:"resources"`
		Bases      []string `json:"bases"`
		Components []string `json:"components"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: %s: %w", label, strings.TrimPrefix(file, treeRoot+"/"), err)
	}
	for _, ref := range slices.Concat(k.Resources, k.Bases, k.Components) {
		if isRemote(ref) {
			return fmt.Errorf("%s: %s refers to the remote %q: render is offline; vendor that base into the source instead", label, strings.TrimPrefix(file, treeRoot+"/"), ref)
		}
		next := path.Join(dir, ref)
		if mem.IsDir(next) {
			if err := refuseRemote(mem, next, label, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func isRemote(ref string) bool {
	return strings.Contains(ref, "://") || strings.HasPrefix(ref, "github.com/") || strings.HasPrefix(ref, "git@") ||
		strings.Contains(ref, "?ref=") || strings.Contains(ref, ".git//") || strings.HasPrefix(ref, "gitlab.com/") || strings.HasPrefix(ref, "bitbucket.org/")
}
