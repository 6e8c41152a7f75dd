package policy

import (
	"github.com/plinth-platform/plinth/lib/apicheck"
)

// size reports an object the API server would refuse for its size
// ([apicheck.Size]): over etcd's request limit as JSON, or a ConfigMap or
// Secret holding over 1 MiB of data. Only lengths are read.
func (c *checker) size(o object, report reportFunc) {
	for _, p := range apicheck.Size(o.u) {
		msg := p.Message
		if p.Hint != "" {
			msg += ": " + p.Hint
		}
		report(RuleSize, p.Path, msg)
	}
}
