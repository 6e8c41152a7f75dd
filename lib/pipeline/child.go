package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/policy"
	"github.com/plinth-platform/plinth/lib/render"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/source"
)

// The sandbox handlers: the stages that run in the child.
const (
	handlerRender  = "render"
	handlerVet     = "vet"
	handlerPlan    = "plan"
	handlerUpgrade = "upgrade"
)

// Serve makes this process the pipeline's sandbox child when its parent
// started it as one (it then exits); otherwise it returns at once. Call
// it first thing in main, and in TestMain of tests that run the pipeline.
func Serve() {
	sandbox.Serve(map[string]sandbox.Handler{
		handlerRender:  handleRender,
		handlerVet:     handleVet,
		handlerPlan:    handlePlan,
		handlerUpgrade: handleUpgrade,
	})
}

func handleVet(ctx context.Context, input json.RawMessage) (any, error) {
	var req vetRequest
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	p, err := platform.Evaluate(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	out := Evaluated{Findings: p.Findings}
	if req.State && p.Valid() {
		if out.State, err = p.State(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// evaluateValid evaluates env; an environment with error findings is an
// error listing them.
func evaluateValid(ctx context.Context, env platform.Environment) (*platform.Platform, error) {
	p, err := platform.Evaluate(ctx, env)
	if err != nil {
		return nil, err
	}
	if !p.Valid() {
		var errs []error
		for _, f := range p.Findings {
			if f.Severity == platform.SeverityError {
				errs = append(errs, errors.New(f.String()))
			}
		}
		return nil, fmt.Errorf("environment %s is not valid (plinth vet):\n%w", env.Name, errors.Join(errs...))
	}
	return p, nil
}

func handlePlan(ctx context.Context, input json.RawMessage) (any, error) {
	var env platform.Environment
	if err := json.Unmarshal(input, &env); err != nil {
		return nil, err
	}
	p, err := platform.Evaluate(ctx, env)
	if err != nil {
		return nil, err
	}
	if !p.Valid() {
		return Plan{Invalid: true}, nil
	}
	comps, err := p.Catalog()
	if err != nil {
		return nil, err
	}
	return Plan{Sources: render.Sources(comps), Network: p.Settings.Network}, nil
}

// handleRender runs in the sandbox child: evaluate, read the lock,
// render, check policy, lay out the result. The child has no network and
// no programs to run: render is hermetic by construction, not only by care.
func handleRender(ctx context.Context, input json.RawMessage) (any, error) {
	var req renderRequest
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	denyNetworkAndExec()
	p, lock, err := evaluate(ctx, req.Env, req.LockFile)
	if err != nil {
		return nil, err
	}
	cache, build := cacheDir(req.NoCache), buildID()
	key, keyErr := render.Key(p, lock, build)
	// A strict render reads no whole-render entry: one written by a plain
	// render may hold output a strict one refuses (components' entries
	// are keyed by strictness).
	if cache != "" && keyErr == nil && !req.Objects && !req.Strict {
		if reply, ok := readCached(cache, key); ok {
			return reply, nil
		}
	}
	var components render.Cache
	if cache != "" {
		components = dirCache{filepath.Join(filepath.Dir(cache), "components")}
	}
	result, err := renderChecked(ctx, p, render.Options{VendorDir: req.VendorDir, Lock: lock, Cache: components, Build: build, Strict: req.Strict})
	if err != nil {
		return nil, err
	}
	if req.Objects {
		return objectsReply(p, result)
	}
	files, err := render.Files(result)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", req.Env.Name, err)
	}
	reply := renderReply{Files: files, Images: render.Images(result.Images), Components: len(result.Components)}
	for _, c := range result.Components {
		for _, w := range c.Warnings {
			reply.Warnings = append(reply.Warnings, c.Name+": "+w)
		}
	}
	// The files reach the parent through a directory, not the JSON reply:
	// the cache entry, or a temporary one the parent removes.
	if cache != "" && keyErr == nil && writeCached(cache, key, &reply) == nil {
		return reply, nil
	}
	tmp, err := os.MkdirTemp("", "plinth-render-")
	if err != nil {
		return reply, nil // the files travel in the reply then
	}
	if err := writeCached(tmp, "out", &reply); err != nil {
		os.RemoveAll(tmp)
		return reply, nil
	}
	reply.Temporary = tmp
	return reply, nil
}

// objectsReply writes each component's objects into a temporary
// directory that the parent reads and removes, and adds the settings and
// warnings apply, drift and diff take from the environment.
func objectsReply(p *platform.Platform, result *render.Result) (*renderReply, error) {
	dir, err := os.MkdirTemp("", "plinth-objects-")
	if err != nil {
		return nil, err
	}
	reply := &renderReply{ObjectsDir: dir, Temporary: dir, Images: render.Images(result.Images), Components: len(result.Components),
		DependsOn: map[string][]string{}, Settings: &p.Settings}
	for _, f := range p.Findings {
		if f.Severity == platform.SeverityWarning {
			reply.Findings = append(reply.Findings, f)
		}
	}
	for _, c := range result.Components {
		reply.Order = append(reply.Order, c.Name)
		reply.DependsOn[c.Name] = c.DependsOn
		data, err := render.EncodeObjects(c.Objects, c.Warnings)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, c.Name+".objects"), data, 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("environment %s: %w", result.Environment, err)
		}
	}
	return reply, nil
}

// evaluate evaluates env, which must be valid, and reads the lock.
func evaluate(ctx context.Context, env platform.Environment, lockFile string) (*platform.Platform, *source.Lock, error) {
	p, err := evaluateValid(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	// Without a lock, only environments that need no sources render (dev);
	// the others fail naming the first source missing from it.
	lock, err := source.ReadLock(lockFile)
	if errors.Is(err, os.ErrNotExist) {
		lock, err = &source.Lock{Version: 1}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("environment %s: %w", env.Name, err)
	}
	return p, lock, nil
}

// renderChecked renders p and applies the policy; any violation is an
// error listing all of them.
func renderChecked(ctx context.Context, p *platform.Platform, opts render.Options) (*render.Result, error) {
	result, err := render.Render(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	if vs := policy.Check(policy.FactsOf(p), result.Components); len(vs) > 0 {
		var errs []error
		for _, v := range vs {
			errs = append(errs, errors.New(v.String()))
		}
		return nil, fmt.Errorf("environment %s violates policy:\n%w", p.Environment.Name, errors.Join(errs...))
	}
	return result, nil
}

// denyNetworkAndExec makes the sandbox child unable to reach the network
// through Go's default HTTP client or to find a program to run (kustomize
// runs git for remote bases).
func denyNetworkAndExec() {
	http.DefaultTransport = offline{}
	os.Setenv("PATH", "")
}

type offline struct{}

func (offline) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("render is offline: refused to fetch %s", r.URL.Redacted())
}
