package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/source"
	"github.com/plinth-platform/plinth/overlays"
)

// Key identifies a render by everything its output depends on: the
// component catalog as the environment configures it (values included),
// the Kubernetes version and API versions, the environment's settings (mirrors, policy),
// the locked digest of every source the components use, plinth's own
// overlays, and build (which identifies the plinth binary: a new plinth
// never trusts an old one's output). Equal keys mean byte-identical output,
// so a re-render with unchanged inputs can be served from a cache.
func Key(p *platform.Platform, lock *source.Lock, build string) (string, error) {
	comps, err := p.Catalog()
	if err != nil {
		return "", err
	}
	caps, err := capabilities(p)
	if err != nil {
		return "", err
	}
	digests, err := lockedDigests(comps, lock)
	if err != nil {
		return "", err
	}
	overlaysDigest, err := overlaysSum()
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(struct {
		Build, Environment, Overlays string
		Components                   map[string]*platform.Component
		Values                       map[string]map[string]any
		Patches                      map[string][]platform.Patch
		Capabilities                 Capabilities
		Settings                     platform.Settings
		Sources                      []string
	}{build, p.Environment.Name, overlaysDigest, comps, userValues(comps), userPatches(comps), caps, p.Settings, digests})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// lockedDigests names every source of comps with the digest the lock pins.
func lockedDigests(comps map[string]*platform.Component, lock *source.Lock) ([]string, error) {
	var digests []string
	for _, s := range Sources(comps) {
		l, ok := lock.Find(s)
		if !ok {
			return nil, fmt.Errorf("%s is not in plinth.lock: run plinth vendor", s)
		}
		digests = append(digests, s.Key()+"="+l.Digest)
	}
	return digests, nil
}

// userPatches are the components' patches, which Component's JSON leaves
// out (the component cache holds renders before patches).
func userPatches(comps map[string]*platform.Component) map[string][]platform.Patch {
	out := map[string][]platform.Patch{}
	for name, c := range comps {
		if len(c.Patches) > 0 {
			out[name] = c.Patches
		}
	}
	return out
}

func userValues(comps map[string]*platform.Component) map[string]map[string]any {
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

// componentKey identifies one component's raw render: the component as
// configured, the Kubernetes and API versions, the locked digests of its
// sources, plinth's overlays when it uses one, and the build.
func componentKey(c *platform.Component, opts Options, caps Capabilities) (string, error) {
	digests, err := lockedDigests(map[string]*platform.Component{c.Name: c}, opts.Lock)
	if err != nil {
		return "", err
	}
	var overlays string
	for _, k := range c.Kustomize {
		if k.Overlay != "" {
			sum, err := overlaysSum()
			if err != nil {
				return "", err
			}
			overlays = sum
		}
	}
	data, err := json.Marshal(struct {
		Version, Build, Overlays string
		Strict                   bool // what a plain render warns about, a strict one fails on
		Component                *platform.Component
		Values                   map[string]any
		Capabilities             Capabilities
		Sources                  []string
	}{componentCacheVersion, opts.Build, overlays, opts.Strict, c, c.Values, caps, digests})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "component-" + hex.EncodeToString(sum[:]), nil
}

// componentCacheVersion changes when the cached form changes.
const componentCacheVersion = "2"

// EncodeObjects writes objects and warnings in the form the component
// cache keeps: the warnings as JSON on the first line, then one object per
// line as JSON (decoding JSON is far cheaper than YAML). plinth diff hands
// rendered components between processes this way.
func EncodeObjects(objs []*unstructured.Unstructured, warnings []string) ([]byte, error) {
	return encodeCached(objs, warnings)
}

// DecodeObjects reads what EncodeObjects wrote.
func DecodeObjects(data []byte) ([]*unstructured.Unstructured, []string, error) {
	return decodeCached(data)
}

func encodeCached(objs []*unstructured.Unstructured, warnings []string) ([]byte, error) {
	head, err := json.Marshal(warnings)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(head)
	for _, o := range objs {
		line, err := o.MarshalJSON()
		if err != nil {
			return nil, err
		}
		b.WriteByte('\n')
		b.Write(bytes.TrimSpace(line)) // MarshalJSON ends with a newline
	}
	return b.Bytes(), nil
}

func decodeCached(data []byte) ([]*unstructured.Unstructured, []string, error) {
	lines := bytes.Split(data, []byte("\n"))
	var warnings []string
	if err := json.Unmarshal(lines[0], &warnings); err != nil {
		return nil, nil, fmt.Errorf("cached component: %w", err)
	}
	objs := make([]*unstructured.Unstructured, len(lines)-1)
	errs := make([]error, len(objs))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, line := range lines[1:] {
		g.Go(func() error {
			o := &unstructured.Unstructured{}
			errs[i] = o.UnmarshalJSON(line)
			objs[i] = o
			return nil
		})
	}
	g.Wait() // every goroutine returns nil: errors are kept per item
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("cached component: %w", err)
	}
	return objs, warnings, nil
}
