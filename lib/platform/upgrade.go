package platform

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
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
	v := p.Value.LookupPath(envPath).LookupPath(cue.ParsePath(path))
	if !v.Exists() || !v.IsConcrete() {
		return nil, false
	}
	var out any
	if err := v.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}
