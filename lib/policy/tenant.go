package policy

import (
	"fmt"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// tenantScope reports a cluster-scoped object of a tenant's component:
// tenants get namespaces, and a cluster-scoped object would reach beyond
// them.
func (c *checker) tenantScope(o object, report reportFunc) {
	if !manifest.ClusterScoped(o.id, c.crdScopes) {
		return
	}
	report(RuleTenantScope, "",
		fmt.Sprintf("tenant component emits cluster-scoped %s %s: tenants may only create namespaced objects; move it to a platform component or use a namespaced kind", o.id.Kind, o.id.Name))
}
