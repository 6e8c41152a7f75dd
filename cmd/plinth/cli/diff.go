package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/diff"
	"github.com/plinth-platform/plinth/lib/gitrepo"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/secrets"
)

// markdownLimit keeps a PR comment under GitHub's 65,536 characters.
const markdownLimit = 65536

type diffFlags struct {
	base, head string
	output     outputFormat
	sources    sourceFlags
}

func newDiffCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &diffFlags{output: outputFormat{value: "text", allowed: []string{"text", "markdown", "json"}}}
	cmd := &cobra.Command{
		Use:   "diff [ENV...]",
		Short: "Show the rendered change between two git revisions, per environment and object",
		Long: `diff renders the environments (all of them when none is named) at two
revisions of the repository and compares them object by object: added,
removed and changed objects, with a unified diff of each change in
canonical YAML. Secrets show only which keys changed, never values.
Encrypted Secrets (ENV/secrets/) are compared decrypted with the age key
of $SOPS_AGE_KEY_FILE or $SOPS_AGE_KEY; without one, by their key names
(added, removed) only, and stderr says so.
Impact notes come first: deleted PersistentVolumeClaims, CRDs and
Namespaces, changes to immutable fields, pod template changes on GPU
workloads, compatibility warnings the change introduces.

--head defaults to the working tree, uncommitted changes included; --base
to the merge base of HEAD with the default branch (origin's HEAD, main or
master), or HEAD. Revisions are read with go-git: no git binary needed.
Each revision renders from its own vendor/ and plinth.lock unless
--vendor-dir and --lock name others.

An environment that fails to render in either revision is not compared:
the others' report is written, the failed ones are named in it (text,
Markdown and JSON: "failed") and their errors printed on stderr, and the
exit status is 2.

Exit status, as diff(1): 0 no change, 1 changes, 2 error (any environment
failed to render, named or not, even when the others changed).`,
		Example: `  # What does my branch change, compared with main?
  plinth diff

  # The PR comment: Markdown, under 65,536 characters
  plinth diff --base origin/main -o markdown > diff.md

  # prod between two tags, as JSON
  plinth diff prod --base v1.4.0 --head v1.5.0 -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, s := g.progress(s)
			defer p.Close()
			report, err := runDiff(cmd.Context(), g, f, args, s.Err, p)
			if err != nil {
				if !interrupted(cmd.Context(), err) {
					fmt.Fprintf(s.Err, "plinth diff: %v\n", err)
				}
				return exitCodeError{exitError}
			}
			switch f.output.value {
			case "markdown":
				err = report.WriteMarkdown(s.Out, markdownLimit)
			case "json":
				err = report.WriteJSON(s.Out)
			default:
				err = report.WriteText(s.Out)
			}
			if err != nil {
				return err
			}
			if len(report.Failed) > 0 {
				return exitCodeError{exitError}
			}
			if report.Changed() {
				return exitCodeError{exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.base, "base", "", "base revision (default: merge base of HEAD with the default branch)")
	cmd.Flags().StringVar(&f.head, "head", "", "head revision (default: the working tree)")
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text, markdown or json")
	f.sources.add(cmd)
	return cmd
}

// revision is one side of a diff: a tree on disk and how to name it.
type revision struct {
	label string
	root  string   // the environments repository's root in that tree
	envs  []string // its environments
}

func runDiff(ctx context.Context, g *globalFlags, f *diffFlags, args []string, stderr io.Writer, p *progress) (*diff.Report, error) {
	root, err := g.repoRoot()
	if err != nil {
		return nil, err
	}
	repo, err := gitrepo.Open(root)
	if err != nil {
		if rerr := g.checkRepo(root); rerr != nil {
			return nil, rerr // not in an environments repository at all
		}
		return nil, err
	}
	rel, err := filepath.Rel(repo.Dir, root)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "plinth-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	export := func(name, rev string) (revision, error) {
		var hash plumbing.Hash
		var err error
		label := rev
		if rev == "" {
			hash, label, err = repo.DefaultBase()
		} else {
			hash, err = repo.Resolve(rev)
		}
		if err != nil {
			return revision{}, err
		}
		dir := filepath.Join(tmp, name)
		done := p.Start("reading the " + name + " revision " + gitrepo.Short(hash))
		defer done()
		if err := repo.Export(ctx, hash, dir); err != nil {
			return revision{}, err
		}
		return revision{label: fmt.Sprintf("%s (%s)", label, gitrepo.Short(hash)), root: filepath.Join(dir, rel)}, nil
	}
	base, err := export("base", f.base)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	head := revision{label: "working tree", root: root}
	if f.head != "" {
		if head, err = export("head", f.head); err != nil {
			return nil, fmt.Errorf("head: %w", err)
		}
	}

	// A revision without environments/ simply has none.
	base.envs, _ = platform.List(base.root)
	head.envs, _ = platform.List(head.root)
	names := args
	if len(names) == 0 {
		names = slices.Compact(slices.Sorted(slices.Values(slices.Concat(base.envs, head.envs))))
	}
	in := diff.Input{
		Base: diff.Rendered{}, Head: diff.Rendered{},
		BaseWarnings: map[string][]diff.Warning{}, HeadWarnings: map[string][]diff.Warning{},
		BaseRef: base.label, HeadRef: head.label,
	}
	// Environments render concurrently; within one, the base first and the
	// head after it, so that the head reuses from the component cache every
	// component the change did not touch.
	type side struct {
		name     string // base or head
		rev      revision
		rendered diff.Rendered
		warnings map[string][]diff.Warning
	}
	sides := []side{{"base", base, in.Base, in.BaseWarnings}, {"head", head, in.Head, in.HeadWarnings}}
	found := false
	for _, name := range names {
		for _, sd := range sides {
			found = found || slices.Contains(sd.rev.envs, name)
		}
	}
	if !found {
		return nil, fmt.Errorf("no environment %s in either revision", strings.Join(names, ", "))
	}
	// Encrypted Secrets are compared decrypted with a key, by key names
	// without one (sops encrypts every value anew on each edit).
	ids, err := secrets.FromEnvironment(os.Getenv)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	failed := map[string][]error{}
	keysOnly := map[string]bool{}
	var group errgroup.Group
	group.SetLimit(runtime.GOMAXPROCS(0))
	for _, name := range names {
		group.Go(func() error {
			for _, sd := range sides {
				if !slices.Contains(sd.rev.envs, name) {
					continue // added or removed by the change
				}
				done := p.Start("rendering " + name + " (" + sd.name + ")")
				objs, warnings, encrypted, err := renderRevision(ctx, sd.rev, name, f, ids)
				done()
				mu.Lock()
				keysOnly[name] = keysOnly[name] || (encrypted && ids.Empty())
				if err != nil {
					failed[name] = append(failed[name], fmt.Errorf("%s: %w", sd.rev.label, err))
				} else {
					sd.rendered[name], sd.warnings[name] = objs, warnings
				}
				mu.Unlock()
			}
			return nil
		})
	}
	group.Wait() // every goroutine returns nil: errors are kept per item
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(keysOnly)) {
		if keysOnly[name] {
			fmt.Fprintf(stderr, "plinth diff: %s: no age key ($%s): encrypted Secrets are compared by key names only, their values not compared\n", name, secrets.KeyFileVariable)
		}
	}
	// An environment that failed in either revision is not compared; the
	// others are, and the failures are named on stderr (see runDiff's
	// caller for the exit status).
	if len(failed) > 0 {
		in.Failed = map[string]string{}
		for _, name := range slices.Sorted(maps.Keys(failed)) {
			err := errors.Join(failed[name]...)
			in.Failed[name] = err.Error()
			fmt.Fprintf(stderr, "plinth diff: %s: not compared: %v\n", name, err)
		}
	}
	return diff.Compare(in), nil
}

// renderRevision renders one environment of one revision, as plinth
// render would, with its vet warnings, and its encrypted Secrets
// (encrypted says it has some): decrypted with ids, or with their key
// names and no values when ids is empty.
func renderRevision(ctx context.Context, rev revision, name string, f *diffFlags, ids secrets.Identities) (objs map[string][]*unstructured.Unstructured, warnings []diff.Warning, encrypted bool, err error) {
	env, err := platform.Resolve(rev.root, name)
	if err != nil {
		return nil, nil, false, err
	}
	files, err := loadSecrets(env)
	if err != nil {
		return nil, nil, false, err
	}
	c := secrets.KeysOnly(env.Name, files)
	if !ids.Empty() && len(files) > 0 {
		if c, err = secrets.Component(env.Name, files, ids); err != nil {
			return nil, nil, true, err
		}
	}
	vendorDir, lockFile := f.sources.resolve(rev.root)
	set, err := pipeline.Objects(ctx, pipeline.Request{Env: env, VendorDir: vendorDir, LockFile: lockFile}, pipeline.DefaultLimits())
	if err != nil {
		return nil, nil, false, err
	}
	if set.Components, err = secrets.With(set.Components, c, files); err != nil {
		return nil, nil, true, err
	}
	for _, fd := range set.Warnings {
		warnings = append(warnings, diff.Warning{Rule: fd.Rule, Text: fd.Detail + ": " + fd.Message})
	}
	return set.Objects(), warnings, len(files) > 0, nil
}
