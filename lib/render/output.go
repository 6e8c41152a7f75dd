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
	files["kustomization.yaml"] = append([]byte("# Rendered by plinth from environments/"+r.Environment+"; do not edit.\n"), k...)
	var lines strings.Builder
	for _, img := range Images(r.Images) {
		lines.WriteString(img.Image + "\t" + img.Mirror + "\n")
	}
	files["images.txt"] = []byte(lines.String())
	return files, nil
}

// Write replaces dir with exactly files, atomically as far as the
// filesystem allows: the new tree is written beside dir and renamed into
// place, so a failed render leaves the previous output untouched.
func Write(dir string, files map[string][]byte) error {
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
