package policy

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/plinth-platform/plinth/lib/platform"
)

// FactsOf are the facts of an evaluated, valid environment.
func FactsOf(p *platform.Platform) Facts {
	s := p.Settings
	net := s.Network
	// The proxy itself and what bypasses it (noProxy: the bank's own
	// domains) are reachable as surely as the allowed hosts.
	allowed := slices.Clone(net.AllowedEgress)
	if px := net.Proxy; px != nil {
		for _, u := range []string{px.HTTP, px.HTTPS} {
			if parsed, err := url.Parse(u); err == nil && parsed.Hostname() != "" {
				allowed = append(allowed, parsed.Hostname())
			}
		}
		for _, h := range px.NoProxy {
			if !strings.Contains(h, "/") { // CIDRs are for addresses; internal ones pass anyway
				allowed = append(allowed, h)
			}
		}
	}
	var mirrors, allow []string
	if m := net.Mirrors.Images; m != "" {
		mirrors = append(mirrors, m)
	}
	for _, host := range slices.Sorted(maps.Keys(net.Mirrors.Registries)) {
		mirrors = append(mirrors, net.Mirrors.Registries[host])
	}
	for _, a := range net.Mirrors.Allow {
		allow = append(allow, a.Value)
	}
	return Facts{
		Environment:       p.Environment.Name,
		KubernetesVersion: s.Kubernetes,
		AirGapped:         net.AirGapped,
		Mirrors:           mirrors,
		MirrorAllow:       allow,
		AllowedEgress:     allowed,
		RequireLimits:     s.Policy.RequireLimits,
	}
}
