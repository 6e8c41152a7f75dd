package render

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/policy"
)

// PolicyFacts are what the policy checks need to know of an environment.
func PolicyFacts(p *platform.Platform) (policy.Facts, error) {
	k8s, err := p.KubernetesVersion()
	if err != nil {
		return policy.Facts{}, err
	}
	var env struct {
		Network struct {
			Proxy *struct {
				HTTP    string   `json:"http"`
				HTTPS   string   `json:"https"`
				NoProxy []string `json:"noProxy"`
			} `json:"proxy"`
			AirGapped     bool     `json:"airGapped"`
			AllowedEgress []string `json:"allowedEgress"`
			Mirrors       struct {
				Images     string            `json:"images"`
				Registries map[string]string `json:"registries"`
				Allow      []struct {
					Value string `json:"value"`
				} `json:"allow"`
			} `json:"mirrors"`
		} `json:"network"`
		Policy struct {
			RequireLimits bool `json:"requireLimits"`
		} `json:"policy"`
	}
	if err := p.Value.LookupPath(cue.ParsePath("env")).Decode(&env); err != nil {
		return policy.Facts{}, err
	}
	// The proxy itself and what bypasses it (noProxy: the bank's own
	// domains) are reachable as surely as the allowed hosts.
	allowed := slices.Clone(env.Network.AllowedEgress)
	if px := env.Network.Proxy; px != nil {
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
	if m := env.Network.Mirrors.Images; m != "" {
		mirrors = append(mirrors, m)
	}
	for _, host := range slices.Sorted(maps.Keys(env.Network.Mirrors.Registries)) {
		mirrors = append(mirrors, env.Network.Mirrors.Registries[host])
	}
	for _, a := range env.Network.Mirrors.Allow {
		allow = append(allow, a.Value)
	}
	return policy.Facts{
		Environment:       p.Environment.Name,
		KubernetesVersion: k8s,
		AirGapped:         env.Network.AirGapped,
		Mirrors:           mirrors,
		MirrorAllow:       allow,
		AllowedEgress:     allowed,
		RequireLimits:     env.Policy.RequireLimits,
	}, nil
}
