package platform

import (
	"fmt"

	"cuelang.org/go/cue"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// Settings are an environment's settings the later stages read (network,
// policy, apply, drift, the Kubernetes version), decoded once when the
// environment evaluates valid: no stage after this package reads the CUE
// value by path for them. What the catalog computes for render
// (Platform.Catalog, Platform.RenderFacts) is decoded on demand instead:
// evaluating it costs vet, which needs none of it, about 20 MB.
type Settings struct {
	// Kubernetes is the version the cluster runs (derived from the OKD
	// release on OKD), e.g. "1.34.4".
	Kubernetes string  `json:"kubernetes"`
	Network    Network `json:"network"`
	Policy     Policy  `json:"policy"`
	Apply      Apply   `json:"apply"`
	Drift      Drift   `json:"drift"`
}

// Network is the environment's network (#Network).
type Network struct {
	AirGapped     bool     `json:"airGapped"`
	Proxy         *Proxy   `json:"proxy,omitempty"`
	Mirrors       Mirrors  `json:"mirrors"`
	AllowedEgress []string `json:"allowedEgress"`
}

// Proxy is the HTTP(S) proxy of the environment's network.
type Proxy struct {
	HTTP    string   `json:"http,omitempty"`
	HTTPS   string   `json:"https,omitempty"`
	NoProxy []string `json:"noProxy"`
}

// URL is the proxy plinth uses: https, else http.
func (p *Proxy) URL() string {
	if p == nil {
		return ""
	}
	if p.HTTPS != "" {
		return p.HTTPS
	}
	return p.HTTP
}

// Mirrors are the bank's copies of upstream registries and repositories.
type Mirrors struct {
	Images     string            `json:"images,omitempty"`
	Registries map[string]string `json:"registries"`
	Allow      []MirrorAllow     `json:"allow"`
	Charts     string            `json:"charts,omitempty"`
	Git        string            `json:"git,omitempty"`
}

// MirrorAllow is a string the image scan may find off the mirror, and why.
type MirrorAllow struct {
	Value  string `json:"value"`
	Reason string `json:"reason"`
}

// Policy tightens what render accepts (#Policy).
type Policy struct {
	RequireLimits bool `json:"requireLimits"`
}

// Apply is how plinth apply treats objects others manage too (#Apply).
type Apply struct {
	Adopt bool `json:"adopt"`
}

// Drift is what plinth does about drift (#Drift).
type Drift struct {
	// Policy is "report" or "correct".
	Policy   string                `json:"policy"`
	Interval string                `json:"interval"`
	Ignore   []manifest.IgnoreRule `json:"ignore"`
}

// Paths of the settings in #Platform.
var (
	kubernetesPath = cue.ParsePath("kubernetes.version")
)

// decodeSettings reads the settings of a valid environment.
func decodeSettings(v cue.Value) (Settings, error) {
	var s Settings
	env := v.LookupPath(envPath)
	for _, f := range []struct {
		path string
		into any
	}{
		{"network", &s.Network},
		{"policy", &s.Policy},
		{"apply", &s.Apply},
		{"drift", &s.Drift},
	} {
		if err := env.LookupPath(cue.ParsePath(f.path)).Decode(f.into); err != nil {
			return Settings{}, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	var err error
	if s.Kubernetes, err = v.LookupPath(kubernetesPath).String(); err != nil {
		return Settings{}, fmt.Errorf("kubernetes version: %w", err)
	}
	return s, nil
}
