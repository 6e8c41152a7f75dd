package upgrade

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/plinth-platform/plinth/lib/platform"
)

// ParseTargets reads --to's name=value pairs ("kubernetes=1.34.4",
// "kubeflow=26.03", "runtime=containerd", or a field's path) into field
// path → value.
func ParseTargets(pairs []string, fields []platform.UpgradeField) (map[string]any, error) {
	byName := map[string]platform.UpgradeField{}
	var names []string
	for _, f := range fields {
		byName[f.Name] = f
		byName[f.Path] = f
		names = append(names, f.Name)
	}
	targets := map[string]any{}
	for _, pair := range pairs {
		name, value, ok := strings.Cut(pair, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("--to %q: want NAME=VALUE, e.g. kubernetes=1.34.4", pair)
		}
		f, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("--to %q: plinth upgrade does not change %s; it changes %s (or their paths, e.g. %s)", pair, name, strings.Join(names, ", "), KubernetesField)
		}
		if _, dup := targets[f.Path]; dup {
			return nil, fmt.Errorf("--to names %s twice", f.Name)
		}
		var v any = value
		if len(f.Values) > 0 {
			if _, isBool := f.Values[0].(bool); isBool {
				b, err := strconv.ParseBool(value)
				if err != nil {
					return nil, fmt.Errorf("--to %q: %s is true or false", pair, f.Name)
				}
				v = b
			}
		}
		targets[f.Path] = v
	}
	return targets, nil
}
