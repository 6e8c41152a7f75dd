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
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/openapi"
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
	err := walkTree(fsys, label, func(target, p string, _ int64) error {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(target, data)
	}, mem)
	if err != nil {
		return nil, err
	}
	return mem, nil
}

// diskTree is memTree for a vendored tree on disk, except that file
// contents stay on disk until krusty reads them (lazyTree): a build
// reads about half of kubeflow/manifests, and a copy of all of it was a
// tenth of a render's peak heap.
func diskTree(dir, label string) (filesys.FileSystem, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	t := &lazyTree{FileSystem: filesys.MakeFsInMemory(), root: root, sizes: map[string]int64{}}
	err = walkTree(root.FS(), label, func(target, _ string, size int64) error {
		t.sizes[target] = size
		return t.FileSystem.WriteFile(target, nil)
	}, t.FileSystem)
	if err != nil {
		root.Close()
		return nil, err
	}
	return t, nil
}

// walkTree walks fsys, refusing symlinks, other non-regular files and
// trees over the limits, making each directory under /src in mem and
// calling file for each file with its place under /src and its size.
func walkTree(fsys fs.FS, label string, file func(target, p string, size int64) error, mem filesys.FileSystem) error {
	var files int
	var size int64
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
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
		info, err := d.Info()
		if err != nil {
			return err
		}
		files++
		size += info.Size()
		if files > maxTreeFiles || size > maxTreeBytes {
			return fmt.Errorf("%s: tree exceeds %d files or %d MiB", label, maxTreeFiles, maxTreeBytes>>20)
		}
		return file(target, p, info.Size())
	})
}

// lazyTree is an in-memory filesystem holding a tree's directories and
// empty files (and the kustomizations plinth generates), whose files'
// contents are read from the tree's directory, through os.Root, when
// krusty reads them. A file that is not the regular file of the size the
// walk found is an error: the tree changed under the render.
type lazyTree struct {
	filesys.FileSystem
	root  *os.Root
	sizes map[string]int64 // file under /src → its size
}

func (t *lazyTree) ReadFile(name string) ([]byte, error) {
	clean := path.Clean(name)
	size, ok := t.sizes[clean]
	if !ok {
		return t.FileSystem.ReadFile(name)
	}
	rel := strings.TrimPrefix(clean, treeRoot+"/")
	fi, err := t.root.Lstat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return nil, fmt.Errorf("%s changed during the render", rel)
	}
	data, err := t.root.ReadFile(rel)
	if err == nil && int64(len(data)) != size {
		return nil, fmt.Errorf("%s changed during the render", rel)
	}
	return data, err
}

func (t *lazyTree) Open(name string) (filesys.File, error) {
	if _, ok := t.sizes[path.Clean(name)]; !ok {
		return t.FileSystem.Open(name)
	}
	data, err := t.ReadFile(name)
	if err != nil {
		return nil, err
	}
	one := filesys.MakeFsInMemory()
	if err := one.WriteFile(name, data); err != nil {
		return nil, err
	}
	return one.Open(name)
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

	// Everything from here runs under the lock: the in-memory filesystem
	// is shared by the components built from one tree and is not safe for
	// concurrent writes, and krusty keeps process-global state.
	krustyMu.Lock()
	defer krustyMu.Unlock()
	if err := mem.MkdirAll(dir); err != nil {
		return nil, nil, err
	}
	if err := mem.WriteFile(path.Join(dir, "kustomization.yaml"), data); err != nil {
		return nil, nil, err
	}
	walk := &kustomizationWalk{seen: map[string]bool{}}
	if err := checkKustomizations(mem, dir, label, walk); err != nil {
		return nil, nil, err
	}

	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	var m resmap.ResMap
	printed, err := captureOutput(func() (err error) {
		// kustomize panics on some malformed objects (kustomize-controller
		// recovers the same way); a panic must fail this build only.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("kustomize panicked: %v", r)
			}
		}()
		// kyaml's OpenAPI schema is process-global: an openapi: field
		// replaces it, krusty does not restore it, and a replacement only
		// adds to what a build before parsed. Around such a build, start
		// from nothing and go back to the built-in schema after (as
		// fluxcd/pkg does); only then, as parsing the built-in schema
		// again costs about a second a build.
		if walk.openAPI {
			openapi.ResetOpenAPI()
			defer openapi.ResetOpenAPI()
		}
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
func captureOutput(fn func() error) (printed string, err error) {
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
	// Restored however fn ends, a panic included.
	defer func() {
		os.Stderr = stderr
		log.SetOutput(stderr)
		w.Close()
		<-done
		r.Close()
		printed = out.String()
	}()
	return "", fn()
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

// kustomizationWalk is the state of one checkKustomizations walk.
type kustomizationWalk struct {
	seen    map[string]bool // directories visited
	openAPI bool            // a kustomization sets openapi:
}

// checkKustomizations walks the kustomizations reachable from dir and
// fails, naming the file, on what would let a build reach outside the
// tree or run something: a remote base or resource (kustomize would fetch
// it with git or HTTP), an absolute path, helmCharts (kustomize would run
// helm), and a generator, transformer or validator that is not one of
// kustomize's builtins or declares a KRM function (an exec or container
// plugin). krusty, with plugins disabled, refuses the last ones too;
// checking first names the file and does not rest on krusty's options.
func checkKustomizations(mem filesys.FileSystem, dir, label string, walk *kustomizationWalk) error {
	if walk.seen[dir] {
		return nil // a cycle: krusty reports it
	}
	walk.seen[dir] = true
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
	shown := strings.TrimPrefix(file, treeRoot+"/")
	var k struct {
		Resources                   []string `json:"resources"`
		Bases                       []string `json:"bases"`
		Components                  []string `json:"components"`
		Generators                  []string `json:"generators"`
		Transformers                []string `json:"transformers"`
		Validators                  []string `json:"validators"`
		HelmCharts                  []any    `json:"helmCharts"`
		HelmChartInflationGenerator []any    `json:"helmChartInflationGenerator"`
		OpenAPI                     any      `json:"openapi"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("%s: %s: %w", label, shown, err)
	}
	if k.OpenAPI != nil {
		walk.openAPI = true
	}
	if len(k.HelmCharts) > 0 || len(k.HelmChartInflationGenerator) > 0 {
		return fmt.Errorf("%s: %s uses helmCharts, which would run helm: render runs nothing from a source; render the chart as a Helm part of the catalog instead", label, shown)
	}
	for _, ref := range slices.Concat(k.Resources, k.Bases, k.Components) {
		if isRemote(ref) {
			return fmt.Errorf("%s: %s refers to the remote %q: render is offline; vendor that base into the source instead", label, shown, ref)
		}
		if path.IsAbs(ref) {
			return fmt.Errorf("%s: %s refers to the absolute path %q: a source can use only its own files", label, shown, ref)
		}
		next := path.Join(dir, ref)
		if mem.IsDir(next) {
			if err := checkKustomizations(mem, next, label, walk); err != nil {
				return err
			}
		}
	}
	for _, entry := range slices.Concat(k.Generators, k.Transformers, k.Validators) {
		if err := checkPluginConfig(mem, dir, label, shown, entry, walk); err != nil {
			return err
		}
	}
	return nil
}

// checkPluginConfig checks one generators, transformers or validators
// entry of the kustomization shown: a file or directory beside it, or the
// configuration inline. Only kustomize's builtin plugins may run.
func checkPluginConfig(mem filesys.FileSystem, dir, label, shown, entry string, walk *kustomizationWalk) error {
	data := []byte(entry)
	where := shown
	if !strings.Contains(entry, "\n") {
		if path.IsAbs(entry) || isRemote(entry) {
			return fmt.Errorf("%s: %s refers to the plugin configuration %q outside the source", label, shown, entry)
		}
		p := path.Join(dir, entry)
		if mem.IsDir(p) {
			return checkKustomizations(mem, p, label, walk)
		}
		if !mem.Exists(p) {
			return nil // krusty reports it
		}
		var err error
		if data, err = mem.ReadFile(p); err != nil {
			return err
		}
		where = strings.TrimPrefix(p, treeRoot+"/")
	}
	nodes, err := kio.FromBytes(data)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", label, where, err)
	}
	for _, n := range nodes {
		meta, err := n.GetMeta()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", label, where, err)
		}
		for _, a := range []string{"config.kubernetes.io/function", "config.k8s.io/function"} {
			if _, ok := meta.Annotations[a]; ok {
				return fmt.Errorf("%s: %s: %s %s declares a KRM function (%s): render runs no plugins or functions from a source", label, where, meta.Kind, meta.Name, a)
			}
		}
		if meta.APIVersion != konfig.BuiltinPluginApiVersion {
			return fmt.Errorf("%s: %s: %s %s (%s) is not one of kustomize's builtin plugins: render runs no plugins from a source", label, where, meta.Kind, meta.Name, meta.APIVersion)
		}
	}
	return nil
}

func isRemote(ref string) bool {
	return strings.Contains(ref, "://") || strings.HasPrefix(ref, "github.com/") || strings.HasPrefix(ref, "git@") ||
		strings.Contains(ref, "?ref=") || strings.Contains(ref, ".git//") || strings.HasPrefix(ref, "gitlab.com/") || strings.HasPrefix(ref, "bitbucket.org/")
}
