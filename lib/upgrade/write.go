package upgrade

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/plinth-platform/plinth/lib/platform"
)

// Origin is what writing a plan's steps needs to know of the environment
// it starts from: its state, its files and where they set each field.
type Origin struct {
	Start State `json:"start"`
	// Files are the CUE files of the environment and its layers,
	// relative to the root.
	Files   []string                        `json:"files"`
	Sources map[string]platform.FieldSource `json:"sources"`
}

// StepName is the directory name of step n: step-01, step-02, ...
func StepName(n int) string { return fmt.Sprintf("step-%02d", n) }

// Written is where Write put each step's environment.
type Written struct {
	// Steps are the step directories, in order, relative to the output.
	Steps []string
}

// Write writes each step of plan as an environment directory under out,
// at the environment's place relative to root (environments/step-NN for
// environments/prod): a copy of the environment's directory in which the
// values of the fields the step changes are replaced, and an upgrade.cue
// setting those its files leave to the schema's defaults or to a layer.
// The layers above the environment are copied once, to their places
// under out, with the value of every field a step changes opened to its
// kind (each step sets it). out must not exist or be empty: nothing is
// overwritten.
func Write(out, root string, env platform.Environment, plan *Plan, origin Origin, fields []platform.UpgradeField) (*Written, error) {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("--write %s: the directory is not empty; plinth upgrade writes only into a new or empty directory", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	envRel, err := filepath.Rel(root, env.Dir)
	if err != nil || strings.HasPrefix(envRel, "..") {
		return nil, fmt.Errorf("environment %s is not under %s", env.Name, root)
	}
	changed := changedFields(plan, origin.Start, fields)
	// Edits of each file, by path relative to root.
	edits := map[string][]edit{}
	inLayer := map[string]bool{}
	for _, path := range changed {
		src, ok := origin.Sources[path]
		if !ok {
			continue
		}
		if !src.Editable {
			return nil, fmt.Errorf("environment %s: %s is set at %s:%d by an expression plinth upgrade cannot rewrite; set it with a plain value there, or write the steps by hand", env.Name, path, src.File, src.Line)
		}
		if !within(src.File, filepath.ToSlash(envRel)) {
			inLayer[path] = true
			edits[src.File] = append(edits[src.File], edit{start: src.Start, end: src.End, path: path})
		}
	}
	// Layers: copied once, their changed fields opened.
	for _, file := range origin.Files {
		if within(file, filepath.ToSlash(envRel)) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			return nil, err
		}
		data, err = apply(data, edits[file], func(e edit) string {
			v, _ := origin.Start.Get(e.path)
			return kind(v)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if err := writeFile(filepath.Join(out, file), data); err != nil {
			return nil, err
		}
	}
	if data, err := os.ReadFile(filepath.Join(root, "cue.mod", "module.cue")); err == nil {
		if err := writeFile(filepath.Join(out, "cue.mod", "module.cue"), data); err != nil {
			return nil, err
		}
	}
	written := &Written{}
	for _, step := range plan.Steps {
		dir := filepath.Join(filepath.Dir(envRel), StepName(step.Number))
		if err := writeStep(filepath.Join(out, dir), root, env, envRel, step, origin, changed, inLayer); err != nil {
			return nil, fmt.Errorf("step %d: %w", step.Number, err)
		}
		written.Steps = append(written.Steps, dir)
	}
	return written, nil
}

// writeStep writes one step's environment directory.
func writeStep(dir, root string, env platform.Environment, envRel string, step Step, origin Origin, changed []string, inLayer map[string]bool) error {
	// The environment's own files with their changed values replaced.
	editsOf := map[string][]edit{}
	var extra []string
	for _, path := range changed {
		src, set := origin.Sources[path]
		if !set || inLayer[path] {
			if _, ok := step.State.Get(path); ok {
				extra = append(extra, path)
			}
			continue
		}
		rel, _ := filepath.Rel(filepath.ToSlash(envRel), src.File)
		editsOf[filepath.ToSlash(rel)] = append(editsOf[filepath.ToSlash(rel)], edit{start: src.Start, end: src.End, path: path})
	}
	err := filepath.WalkDir(env.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(env.Dir, p)
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file; environments hold none", filepath.Join(envRel, rel))
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data, err = apply(data, editsOf[filepath.ToSlash(rel)], func(e edit) string {
			v, _ := step.State.Get(e.path)
			return literal(v)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(envRel, rel), err)
		}
		return writeFile(filepath.Join(dir, rel), data)
	})
	if err != nil {
		return err
	}
	if len(extra) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "upgrade.cue")); err == nil {
		return fmt.Errorf("the environment has a file upgrade.cue, the name plinth upgrade writes the step's fields to")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Step %d of plinth upgrade %s: the fields this step sets that the\n// environment's own files do not (schema defaults, or fields of a layer).\npackage %s\n\n", step.Number, env.Name, platform.Package)
	for _, path := range extra {
		v, _ := step.State.Get(path)
		fmt.Fprintf(&b, "%s: %s\n", strings.ReplaceAll(path, ".", ": "), literal(v))
	}
	return writeFile(filepath.Join(dir, "upgrade.cue"), []byte(b.String()))
}

// changedFields are the fields some step sets to another value than the start.
func changedFields(plan *Plan, start State, fields []platform.UpgradeField) []string {
	var out []string
	for _, f := range fields {
		a, setA := start.Get(f.Path)
		for _, s := range plan.Steps {
			b, setB := s.State.Get(f.Path)
			if setA != setB || !equal(a, b) {
				out = append(out, f.Path)
				break
			}
		}
	}
	return out
}

// edit replaces bytes start..end of a file with a field's new value.
type edit struct {
	start, end int
	path       string
}

// apply makes edits to data, the replacement of each from text.
func apply(data []byte, edits []edit, text func(edit) string) ([]byte, error) {
	slices.SortFunc(edits, func(a, b edit) int { return b.start - a.start })
	out := slices.Clone(data)
	for _, e := range edits {
		if e.start < 0 || e.end > len(out) || e.start > e.end {
			return nil, fmt.Errorf("the value of %s is not where the evaluation found it (was the file changed?)", e.path)
		}
		out = slices.Concat(out[:e.start], []byte(text(e)), out[e.end:])
	}
	return out, nil
}

// literal writes a value as CUE: JSON is CUE.
func literal(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// kind is the CUE type of a value: what a layer's field opens to.
func kind(v any) string {
	switch v.(type) {
	case bool:
		return "bool"
	case string:
		return "string"
	default:
		return "_"
	}
}

func within(file, dir string) bool {
	return file == dir || strings.HasPrefix(file, dir+"/")
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}
