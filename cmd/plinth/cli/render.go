package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cuelang.org/go/cue"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/drift"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/policy"
	"github.com/plinth-platform/plinth/lib/render"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/source"
)

// Where an environments repository keeps its vendored sources, their lock
// and the rendered output, relative to its root.
const (
	defaultVendorDir = "vendor"
	defaultLockFile  = "plinth.lock"
	defaultDeployDir = "deploy"
)

// sourceFlags locate the vendored sources; render, images and vendor share them.
type sourceFlags struct {
	vendorDir string
	lockFile  string
}

func (f *sourceFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.vendorDir, "vendor-dir", "", "directory of vendored sources (default <root>/"+defaultVendorDir+")")
	cmd.Flags().StringVar(&f.lockFile, "lock", "", "lock file pinning the sources (default <root>/"+defaultLockFile+")")
}

func (f *sourceFlags) resolve(root string) (vendorDir, lockFile string) {
	vendorDir, lockFile = f.vendorDir, f.lockFile
	if vendorDir == "" {
		vendorDir = filepath.Join(root, defaultVendorDir)
	}
	if lockFile == "" {
		lockFile = filepath.Join(root, defaultLockFile)
	}
	a, _ := filepath.Abs(vendorDir)
	b, _ := filepath.Abs(lockFile)
	return a, b
}

type renderFlags struct {
	sources sourceFlags
	out     string
	check   bool
	noCache bool
	strict  bool
	timeout time.Duration
	memory  int64
}

func newRenderCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &renderFlags{}
	limits := renderLimits()
	cmd := &cobra.Command{
		Use:   "render [ENV...]",
		Short: "Render environments to Kubernetes manifests in deploy/<env>/",
		Long: `render turns each environment (all of them when none is named) into plain,
deterministic YAML: deploy/<env>/<component>.yaml per component, in apply
order, a kustomization.yaml listing them in dependency order, and images.txt.

Render is hermetic: sources come only from the vendor directory, verified
against plinth.lock (run plinth vendor first); no network, no programs.
Every image is rewritten to network.mirrors (docs/airgap.md). Policy checks
(APIs the target Kubernetes no longer serves, image references off the
mirror found by a scan of every string, hosts outside
network.allowedEgress) fail the render. The output of an
environment is replaced atomically: a failed render leaves it untouched.

Exit status: 0 rendered (or up to date with --check), 1 an environment
failed or, with --check, is stale, 2 render could not run.`,
		Example: `  # Render every environment into deploy/
  plinth render

  # In CI: fail when deploy/ is not what the environments render to
  plinth render --check

  # Render prod somewhere else
  plinth render prod --out /tmp/deploy`,
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth render: %v\n", err)
				return exitCodeError{exitError}
			}
			root, _ := g.repoRoot()
			vendorDir, lockFile := f.sources.resolve(root)
			out := f.out
			if out == "" {
				out = filepath.Join(root, defaultDeployDir)
			}
			if !f.check {
				if err := checkOutput(platform.Layout{Root: root, VendorDir: vendorDir, LockFile: lockFile}, out, envs); err != nil {
					fmt.Fprintf(s.Err, "plinth render: %v\n", err)
					return exitCodeError{exitError}
				}
			}
			failed := false
			for _, env := range envs {
				reply, err := renderInSandbox(cmd.Context(), renderRequest{Env: env, VendorDir: vendorDir, LockFile: lockFile, NoCache: f.noCache, Strict: f.strict}, sandbox.Limits{Timeout: f.timeout, Memory: f.memory})
				if interrupted(cmd.Context(), err) {
					return err // Run says so and exits 128+signo
				}
				if err != nil {
					failed = true
					fmt.Fprintf(s.Err, "plinth render: %v\n", err)
					continue
				}
				for _, w := range reply.Warnings {
					fmt.Fprintf(s.Err, "warning: %s: %s\n", env.Name, w)
				}
				dir := filepath.Join(out, env.Name)
				files, err := reply.files()
				if err != nil {
					return err
				}
				if f.check {
					stale, err := render.Stale(dir, files)
					if err != nil {
						return err
					}
					for _, name := range stale {
						failed = true
						fmt.Fprintf(s.Err, "stale: %s\n", filepath.Join(dir, name))
					}
					if len(stale) == 0 {
						fmt.Fprintf(s.Err, "up to date: %s\n", dir)
					}
					continue
				}
				if err := render.Write(dir, files); err != nil {
					failed = true
					fmt.Fprintf(s.Err, "plinth render: environment %s: writing %s: %v\n", env.Name, dir, err)
					continue
				}
				fmt.Fprintf(s.Err, "rendered %s: %d component(s), %d image(s) -> %s\n", env.Name, reply.Components, len(reply.Images), dir)
			}
			if failed {
				return exitCodeError{exitFindings}
			}
			return nil
		},
	}
	f.sources.add(cmd)
	cmd.Flags().StringVar(&f.out, "out", "", "output directory (default <root>/"+defaultDeployDir+")")
	cmd.Flags().BoolVar(&f.check, "check", false, "write nothing; fail naming every file that differs from a fresh render")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "render everything again instead of reusing the output of an identical earlier render")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "fail, instead of warning, on chart templates whose output changes on every render (randAlphaNum, now, genCA, ...)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", limits.Timeout, "time budget for rendering one environment")
	cmd.Flags().Int64Var(&f.memory, "max-memory", limits.Memory, "memory budget in bytes for rendering one environment")
	return cmd
}

// checkOutput refuses, before anything is rendered, an output directory
// that is a file or overlaps the repository's sources, itself or through
// an environment's directory under it (a symlink, say), and environment
// directories under it that render did not write.
func checkOutput(layout platform.Layout, out string, envs []platform.Environment) error {
	if fi, err := os.Stat(out); err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s is a file, not a directory", out)
	}
	if err := layout.CheckOutput(out, ""); err != nil {
		return err
	}
	for _, env := range envs {
		dir := filepath.Join(out, env.Name)
		if err := errors.Join(layout.CheckOutput(dir, ""), render.Replaceable(dir)); err != nil {
			return fmt.Errorf("environment %s: %w", env.Name, err)
		}
	}
	return nil
}

// renderLimits: rendering Kubeflow takes seconds and some hundred MiB.
func renderLimits() sandbox.Limits {
	return sandbox.Limits{Timeout: 5 * time.Minute, Memory: 4 << 30}
}

// renderRequest and renderReply cross the sandbox boundary as JSON.
type renderRequest struct {
	Env       platform.Environment
	VendorDir string
	LockFile  string
	NoCache   bool
	// Strict fails on chart output that changes on every render.
	Strict bool
	// Objects asks for each component's objects (render.EncodeObjects) in
	// ObjectsDir instead of the YAML files: what diff compares.
	Objects bool
}

type renderReply struct {
	// Files are the rendered files, or FilesDir the render cache entry holding them.
	Files    map[string][]byte `json:",omitempty"`
	FilesDir string            `json:",omitempty"`
	// ObjectsDir holds <component>.objects files when the request asked for Objects.
	ObjectsDir string `json:",omitempty"`
	// Temporary is a directory holding FilesDir that the parent removes after reading.
	Temporary  string `json:",omitempty"`
	Images     []render.Image
	Warnings   []string
	Components int
	// Order and DependsOn give the components in dependency order and
	// their dependencies, and Adopt the environment's apply.adopt, with
	// Objects (what apply needs besides the objects).
	Order     []string            `json:",omitempty"`
	DependsOn map[string][]string `json:",omitempty"`
	Adopt     bool                `json:",omitempty"`
	// DriftPolicy and DriftIgnore are the environment's drift settings.
	DriftPolicy string             `json:",omitempty"`
	DriftIgnore []drift.IgnoreRule `json:",omitempty"`
}

// objects reads the objects of each component from ObjectsDir.
func (r *renderReply) objects(env string) (map[string][]*unstructured.Unstructured, error) {
	entries, err := os.ReadDir(r.ObjectsDir)
	if err != nil {
		return nil, err
	}
	objs := map[string][]*unstructured.Unstructured{}
	for _, e := range entries {
		component, ok := strings.CutSuffix(e.Name(), ".objects")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(r.ObjectsDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if objs[component], _, err = render.DecodeObjects(data); err != nil {
			return nil, fmt.Errorf("environment %s: component %s: %w", env, component, err)
		}
	}
	return objs, nil
}

const sandboxRender = "render"

func renderInSandbox(ctx context.Context, req renderRequest, limits sandbox.Limits) (*renderReply, error) {
	var reply renderReply
	err := sandbox.Run(ctx, sandboxRender, limits, req, &reply)
	var budget *sandbox.BudgetError
	if errors.As(err, &budget) {
		return nil, fmt.Errorf("environment %s: %w", req.Env.Name, err)
	}
	if err != nil {
		return nil, err
	}
	return &reply, nil
}

// handleRender runs in the sandbox child: evaluate, render, check policy.
// The child has no network and no programs to run: render is hermetic by
// construction, not only by care.
func handleRender(ctx context.Context, input json.RawMessage) (any, error) {
	var req renderRequest
	if err := json.Unmarshal(input, &req); err != nil {
		return nil, err
	}
	denyNetworkAndExec()
	p, lock, err := evaluateForRender(ctx, req.Env, req.LockFile)
	if err != nil {
		return nil, err
	}
	cache := renderCache(req)
	key, keyErr := render.Key(p, lock, buildID())
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
	result, err := renderEnvironment(ctx, p, render.Options{VendorDir: req.VendorDir, Lock: lock, Cache: components, Build: buildID(), Strict: req.Strict})
	if err != nil {
		return nil, err
	}
	if req.Objects {
		reply, err := objectsReply(result)
		if err != nil {
			return nil, err
		}
		return reply, clusterSettings(p, reply)
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

// clusterSettings copies what apply and drift need from the environment
// into the reply.
func clusterSettings(p *platform.Platform, reply *renderReply) error {
	env := p.Value.LookupPath(cue.ParsePath("env"))
	reply.Adopt, _ = env.LookupPath(cue.ParsePath("apply.adopt")).Bool()
	reply.DriftPolicy, _ = env.LookupPath(cue.ParsePath("drift.policy")).String()
	if err := env.LookupPath(cue.ParsePath("drift.ignore")).Decode(&reply.DriftIgnore); err != nil {
		return fmt.Errorf("environment %s: drift.ignore: %w", p.Environment.Name, err)
	}
	return nil
}

// objectsReply writes each component's objects into a temporary
// directory that the parent reads and removes.
func objectsReply(result *render.Result) (*renderReply, error) {
	dir, err := os.MkdirTemp("", "plinth-objects-")
	if err != nil {
		return nil, err
	}
	reply := &renderReply{ObjectsDir: dir, Temporary: dir, Images: render.Images(result.Images), Components: len(result.Components), DependsOn: map[string][]string{}}
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

// evaluateForRender evaluates env, which must be valid, and reads the lock.
func evaluateForRender(ctx context.Context, env platform.Environment, lockFile string) (*platform.Platform, *source.Lock, error) {
	p, err := platform.Evaluate(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if !p.Valid() {
		var errs []error
		for _, f := range p.Findings {
			if f.Severity == platform.SeverityError {
				errs = append(errs, errors.New(f.String()))
			}
		}
		return nil, nil, fmt.Errorf("environment %s is not valid (plinth vet):\n%w", env.Name, errors.Join(errs...))
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

// renderEnvironment renders p and applies the policy; any violation is an
// error listing all of them.
func renderEnvironment(ctx context.Context, p *platform.Platform, opts render.Options) (*render.Result, error) {
	env := p.Environment
	result, err := render.Render(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	facts, err := render.PolicyFacts(p)
	if err != nil {
		return nil, err
	}
	var comps []policy.Component
	for _, c := range result.Components {
		comps = append(comps, policy.Component{Name: c.Name, Objects: c.Objects})
	}
	if vs := policy.Check(facts, comps); len(vs) > 0 {
		var errs []error
		for _, v := range vs {
			errs = append(errs, errors.New(v.String()))
		}
		return nil, fmt.Errorf("environment %s violates policy:\n%w", env.Name, errors.Join(errs...))
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
