package policy

import (
	"fmt"
	"strings"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// limits reports containers without resources.limits.cpu or
// resources.limits.memory.
func (c *checker) limits(o object, report reportFunc) {
	for _, ctr := range manifest.Containers(o.u) {
		resources, _ := ctr.Fields["resources"].(map[string]interface{})
		limits, _ := resources["limits"].(map[string]interface{})
		var missing []string
		for _, r := range []string{"cpu", "memory"} {
			if v, ok := limits[r]; !ok || v == nil || v == "" {
				missing = append(missing, "resources.limits."+r)
			}
		}
		if len(missing) == 0 {
			continue
		}
		report(RuleLimits, ctr.Path+".resources.limits",
			fmt.Sprintf("%s sets no %s: the environment requires CPU and memory limits on every container (policy.requireLimits)", containerName(ctr), strings.Join(missing, " and ")))
	}
}
