package render

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// Files lays out a rendered environment as deploy/<env>/ holds it: one
// <component>.yaml per component, a kustomization.yaml listing them in
// dependency order, and images.txt (upstream image, a tab, the image the
// cluster pulls; sorted).
func Files(r *Result) (map[string][]byte, error) {
	files := map[string][]byte{}
	var resources []string
	for _, c := range r.Components {
		var b bytes.Buffer
		if err := manifest.Encode(&b, c.Objects); err != nil {
			return nil, fmt.Errorf("component %s: %w", c.Name, err)
		}
		name := c.Name + ".yaml"
		files[name] = b.Bytes()
		resources = append(resources, name)
	}
	k, err := yaml.Marshal(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  resources,
	})
	if err != nil {
		return nil, err
	}
	files["kustomization.yaml"] = append([]byte(renderedMark+r.Environment+"; do not edit.\n"), k...)
	var lines strings.Builder
	for _, img := range Images(r.Images) {
		lines.WriteString(img.Image + "\t" + img.Mirror + "\n")
	}
	files["images.txt"] = []byte(lines.String())
	return files, nil
}

// renderedMark starts the kustomization.yaml of every rendered directory:
// Write replaces only directories that have it.
const renderedMark = "# Rendered by plinth from environments/"

// Write replaces dir with exactly files, atomically as far as the
// filesystem allows: the new tree is written beside dir and renamed into
// place, so a failed render leaves the previous output untouched. It
// refuses to replace a directory render did not write (see renderedMark)
// unless it is empty.
func Write(dir string, files map[string][]byte) error {
	if err := Replaceable(dir); err != nil {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.Join(tmp, name), files[name], 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := tmp + ".old"
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir) // put the previous output back
		return err
	}
	return os.RemoveAll(old)
}

// Replaceable says whether render may replace dir: it does not exist,
// is empty, or holds a rendered kustomization.yaml.
func Replaceable(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case len(entries) == 0:
		return nil
	}
	k, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err == nil && bytes.HasPrefix(k, []byte(renderedMark)) {
		return nil
	}
	return fmt.Errorf("refusing to replace %s: plinth render did not write it (no kustomization.yaml starting %q); move it away or choose another --out", dir, renderedMark)
}

// Stale lists the files of dir that differ from files: changed, missing
// or not rendered any more. An empty list means dir is up to date.
func Stale(dir string, files map[string][]byte) ([]string, error) {
	var stale []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		got, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case os.IsNotExist(err):
			stale = append(stale, name+" (missing)")
		case err != nil:
			return nil, err
		case !bytes.Equal(got, files[name]):
			stale = append(stale, name+" (changed)")
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok {
			stale = append(stale, e.Name()+" (not rendered any more)")
		}
	}
	return stale, nil
}
