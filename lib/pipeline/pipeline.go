package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/render"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/source"
	"github.com/plinth-platform/plinth/lib/upgrade"
)

// Where an environments repository keeps its vendored sources and their
// lock, relative to its root.
const (
	VendorDir = "vendor"
	LockFile  = "plinth.lock"
)

// DefaultLimits bound one environment's render: rendering Kubeflow takes
// seconds and some hundred MiB.
func DefaultLimits() sandbox.Limits {
	return sandbox.Limits{Timeout: 5 * time.Minute, Memory: 4 << 30}
}

// Request names an environment and the sources it renders from.
type Request struct {
	Env platform.Environment
	// VendorDir holds the vendored sources that LockFile pins.
	VendorDir string
	LockFile  string
	// NoCache renders everything again instead of reusing the output of
	// an identical earlier render.
	NoCache bool
	// Strict fails on chart output that changes on every render.
	Strict bool
}

// InRepository is the request for environment name of the repository (a
// checkout) at root, with its own vendor/ and plinth.lock.
func InRepository(root, name string) (Request, error) {
	env, err := platform.Resolve(root, name)
	if err != nil {
		return Request{}, err
	}
	return Request{Env: env, VendorDir: filepath.Join(root, VendorDir), LockFile: filepath.Join(root, LockFile)}, nil
}

// Output is an environment rendered to the files of deploy/<env>/.
type Output struct {
	Files    map[string][]byte
	Images   []render.Image
	Warnings []string
	// Components is how many components rendered.
	Components int
}

// Set is an environment's manifest set: its components in dependency
// order, each with its objects in apply order and its warnings, with the
// environment's settings (apply.adopt, drift.policy and drift.ignore for
// apply and drift) and vet's warnings about it.
type Set struct {
	Environment string
	Components  []manifest.Component
	Images      []render.Image
	Settings    platform.Settings
	// Warnings are the environment's warning findings (plinth vet's).
	Warnings []platform.Finding
}

// Files renders req's environment into the files of deploy/<env>/, in the
// sandbox within limits. An environment that is not valid, does not
// render or violates policy is an error listing why.
func Files(ctx context.Context, req Request, limits sandbox.Limits) (*Output, error) {
	reply, err := run[renderReply](ctx, handlerRender, req.Env.Name, limits, renderRequest{Request: req})
	if err != nil {
		return nil, err
	}
	files, err := reply.files()
	if err != nil {
		return nil, fmt.Errorf("environment %s: reading the rendered files: %w", req.Env.Name, err)
	}
	return &Output{Files: files, Images: reply.Images, Warnings: reply.Warnings, Components: reply.Components}, nil
}

// Objects renders req's environment into its manifest set, in the
// sandbox within limits, as Files does; it reads no whole-render cache
// entry (those hold files), only the component cache.
func Objects(ctx context.Context, req Request, limits sandbox.Limits) (*Set, error) {
	reply, err := run[renderReply](ctx, handlerRender, req.Env.Name, limits, renderRequest{Request: req, Objects: true})
	if err != nil {
		return nil, err
	}
	defer reply.discard()
	set := &Set{Environment: req.Env.Name, Images: reply.Images, Warnings: reply.Findings}
	if reply.Settings != nil {
		set.Settings = *reply.Settings
	}
	for _, name := range reply.Order {
		data, err := os.ReadFile(filepath.Join(reply.ObjectsDir, name+".objects"))
		if err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", req.Env.Name, name, err)
		}
		objs, warnings, err := render.DecodeObjects(data)
		if err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", req.Env.Name, name, err)
		}
		set.Components = append(set.Components, manifest.Component{Name: name, DependsOn: reply.DependsOn[name], Objects: objs, Warnings: warnings})
	}
	return set, nil
}

// Objects returns the set's objects of every component, keyed by component.
func (s *Set) Objects() map[string][]*unstructured.Unstructured {
	objs := map[string][]*unstructured.Unstructured{}
	for _, c := range s.Components {
		objs[c.Name] = c.Objects
	}
	return objs
}

// Vet evaluates env in the sandbox within limits and returns its findings.
// An evaluation stopped by its limits is a *sandbox.BudgetError.
func Vet(ctx context.Context, env platform.Environment, limits sandbox.Limits) ([]platform.Finding, error) {
	var out Evaluated
	err := sandbox.Run(ctx, handlerVet, limits, vetRequest{Env: env}, &out)
	return out.Findings, err
}

// Evaluated is an environment as vet sees it: its findings and, when it
// is valid, its state (platform.State).
type Evaluated struct {
	Findings []platform.Finding
	State    upgrade.State `json:",omitempty"`
}

// Evaluate evaluates env in the sandbox within limits, as Vet, and
// returns its state too: what plinth upgrade checks each step it wrote
// with.
func Evaluate(ctx context.Context, env platform.Environment, limits sandbox.Limits) (*Evaluated, error) {
	return run[Evaluated](ctx, handlerVet, env.Name, limits, vetRequest{Env: env, State: true})
}

// vetRequest crosses the sandbox boundary as JSON; State asks for the
// environment's state besides its findings.
type vetRequest struct {
	Env   platform.Environment
	State bool `json:",omitempty"`
}

// Plan is what vendoring an environment needs: the sources its components
// render from and its network settings (mirrors, proxy, egress).
type Plan struct {
	// Invalid: the environment has error findings (and no sources here).
	Invalid bool
	Sources []source.Source
	Network platform.Network
}

// Sources evaluates env in the sandbox within limits and returns what
// vendoring it needs.
func Sources(ctx context.Context, env platform.Environment, limits sandbox.Limits) (*Plan, error) {
	var plan Plan
	if err := sandbox.Run(ctx, handlerPlan, limits, env, &plan); err != nil {
		return nil, err
	}
	return &plan, nil
}

// run runs a handler in the sandbox; an evaluation over its budget names
// the environment.
func run[R any](ctx context.Context, handler, env string, limits sandbox.Limits, req any) (*R, error) {
	var reply R
	err := sandbox.Run(ctx, handler, limits, req, &reply)
	var budget *sandbox.BudgetError
	if errors.As(err, &budget) {
		return nil, fmt.Errorf("environment %s: %w", env, err)
	}
	if err != nil {
		return nil, err
	}
	return &reply, nil
}

// renderRequest and renderReply cross the sandbox boundary as JSON.
type renderRequest struct {
	Request
	// Objects asks for each component's objects (render.EncodeObjects) in
	// ObjectsDir instead of the files.
	Objects bool
}

type renderReply struct {
	// Files are the rendered files, or FilesDir the render cache entry holding them.
	Files    map[string][]byte `json:",omitempty"`
	FilesDir string            `json:",omitempty"`
	// ObjectsDir holds <component>.objects files when the request asked for Objects.
	ObjectsDir string `json:",omitempty"`
	// Temporary is a directory holding FilesDir or ObjectsDir that the
	// parent removes after reading.
	Temporary  string `json:",omitempty"`
	Images     []render.Image
	Warnings   []string
	Components int
	// Order and DependsOn give the components in dependency order and
	// their dependencies, Settings the environment's and Findings its
	// warnings, with Objects.
	Order     []string            `json:",omitempty"`
	DependsOn map[string][]string `json:",omitempty"`
	Settings  *platform.Settings  `json:",omitempty"`
	Findings  []platform.Finding  `json:",omitempty"`
}

// discard removes the reply's temporary files.
func (r *renderReply) discard() {
	if r.Temporary != "" {
		os.RemoveAll(r.Temporary)
	}
}

// files returns a reply's files, from the cache directory when it names one.
func (r *renderReply) files() (map[string][]byte, error) {
	defer r.discard()
	if r.FilesDir == "" {
		return r.Files, nil
	}
	entries, err := os.ReadDir(r.FilesDir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(r.FilesDir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = data
	}
	return files, nil
}
