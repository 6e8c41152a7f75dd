package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sync"

	"cuelang.org/go/cue"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
	"github.com/plinth-platform/plinth/overlays"
)

// Key identifies a render by everything its output depends on: the
// component catalog as the environment configures it (values included),
// the Kubernetes version and API versions, the mirror, the policy facts,
// the locked digest of every source the components use, plinth's own
// overlays, and build (which identifies the plinth binary: a new plinth
// never trusts an old one's output). Equal keys mean byte-identical output,
// so a re-render with unchanged inputs can be served from a cache.
func Key(p *platform.Platform, lock *source.Lock, build string) (string, error) {
	comps, err := Catalog(p)
	if err != nil {
		return "", err
	}
	caps, err := capabilities(p)
	if err != nil {
		return "", err
	}
	facts, err := PolicyFacts(p)
	if err != nil {
		return "", err
	}
	mirror, _ := p.Value.LookupPath(cue.ParsePath("env.network.mirrors.images")).String()
	var digests []string
	for _, s := range Sources(comps) {
		l, ok := lock.Find(s)
		if !ok {
			return "", fmt.Errorf("%s is not in plinth.lock: run plinth vendor", s)
		}
		digests = append(digests, s.Key()+"="+l.Digest)
	}
	overlaysDigest, err := overlaysSum()
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(struct {
		Build, Environment, Mirror, Overlays string
		Components                           map[string]*Component
		Values                               map[string]map[string]any
		Capabilities                         Capabilities
		Policy                               any
		Sources                              []string
	}{build, p.Environment.Name, mirror, overlaysDigest, comps, userValues(comps), caps, facts, digests})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func userValues(comps map[string]*Component) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, c := range comps {
		out[name] = c.Values
	}
	return out
}

// overlaysSum digests the embedded overlays once.
var overlaysSum = sync.OnceValues(func() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(overlays.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(overlays.FS, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(data))
		h.Write(data)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
})
