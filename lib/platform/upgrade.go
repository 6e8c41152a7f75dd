package platform

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
)

// UpgradeField is a field of an environment that plinth upgrade may
// change, as cue/upgrade.cue declares it.
type UpgradeField struct {
	// Path is the field's CUE path, e.g. "components.kubeflow.version".
	Path string `json:"path"`
	// Name is the key plinth upgrade --to accepts for it, e.g. "kubeflow".
	Name string `json:"name"`
	// Values are what the field may become, oldest first: strings, or
	// booleans for a switch.
	Values []any `json:"values"`
	// Version says the values are versions: an upgrade moves them forward only.
	Version bool `json:"version"`
	// Migration says a change is work on the nodes or the data: a step of its own.
	Migration bool `json:"migration"`
	// MinorsPerStep, when not 0, is how many minor versions one step may
	// move the field; Source says who says so.
	MinorsPerStep int    `json:"minorsPerStep,omitempty"`
	Source        string `json:"source,omitempty"`
}

// UpgradeFields returns the fields plinth upgrade may change, by path.
func UpgradeFields() ([]UpgradeField, error) {
	schema, err := loadSchema(cuecontext.New())
	if err != nil {
		return nil, err
	}
	var byPath map[string]UpgradeField
	if err := schema.LookupPath(cue.ParsePath("upgrade.fields")).Decode(&byPath); err != nil {
		return nil, fmt.Errorf("embedded schema: upgrade.fields: %w", err)
	}
	fields := make([]UpgradeField, 0, len(byPath))
	for _, f := range byPath {
		fields = append(fields, f)
	}
	slices.SortFunc(fields, func(a, b UpgradeField) int { return strings.Compare(a.Path, b.Path) })
	return fields, nil
}

// Field is the value of an environment field as evaluated, the schema's
// default included (a switch the environment leaves unset reads its
// default), for a valid or schema-conforming environment.
func (p *Platform) Field(path string) (any, bool) {
	if !p.Value.Exists() {
		return nil, false
	}
	v, _ := p.Value.LookupPath(envPath).LookupPath(cue.ParsePath(path)).Default()
	if !v.Exists() || !v.IsConcrete() {
		return nil, false
	}
	var out any
	if err := v.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// FieldSource is where an environment's files set a field.
type FieldSource struct {
	// File is the file, relative to the repository root.
	File string `json:"file"`
	// Start and End are the byte offsets of the value's expression in
	// File, when one expression of the field sets it; otherwise Editable
	// is false and Line says where the field is.
	Start    int  `json:"start"`
	End      int  `json:"end"`
	Line     int  `json:"line"`
	Editable bool `json:"editable"`
}

// Files are the CUE files of the environment and of the layers above it
// (same-package files of parent directories), relative to the root.
func (p *Platform) Files() []string {
	out := make([]string, len(p.files))
	for i, f := range p.files {
		out[i] = relPath(p.Environment.Root, f)
	}
	return out
}

// Sources says where the environment's files set each of paths; a path
// they do not set (the schema's default applies) is absent.
func (p *Platform) Sources(paths []string) map[string]FieldSource {
	out := map[string]FieldSource{}
	for _, path := range paths {
		v := p.user.LookupPath(cue.ParsePath(path))
		if !v.Exists() || !v.Pos().IsValid() {
			continue
		}
		src := FieldSource{File: relPath(p.Environment.Root, v.Pos().Filename()), Line: v.Pos().Line()}
		// One field of one file sets it: its value's bytes can be replaced.
		if f, ok := v.Source().(*ast.Field); ok && f.Value != nil && f.Value.Pos().Filename() == v.Pos().Filename() {
			src.Start, src.End, src.Editable = f.Value.Pos().Offset(), f.Value.End().Offset(), true
		}
		out[path] = src
	}
	return out
}
