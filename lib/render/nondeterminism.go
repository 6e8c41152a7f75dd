package render

import (
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"text/template/parse"

	"golang.org/x/sync/errgroup"
	"helm.sh/helm/v3/pkg/chart"
)

// changingFuncs are the template functions (Sprig's, as Helm provides
// them) whose result differs from one render to the next: random strings
// and numbers, fresh keys and certificates, salted hashes, a random IV,
// the clock. derivePassword and buildCustomCert are deterministic.
var changingFuncs = map[string]bool{
	"randAlphaNum": true, "randAlpha": true, "randNumeric": true, "randAscii": true,
	"randBytes": true, "randInt": true, "shuffle": true, "uuidv4": true,
	"genCA": true, "genCAWithKey": true, "genPrivateKey": true,
	"genSelfSignedCert": true, "genSelfSignedCertWithKey": true,
	"genSignedCert": true, "genSignedCertWithKey": true,
	"bcrypt": true, "htpasswd": true, "encryptAES": true,
	"now": true, "ago": true,
}

// timeFuncs are the changingFuncs that read the clock: two renders in a
// row usually agree on a date, so comparing renders cannot find them.
var timeFuncs = map[string]bool{"now": true, "ago": true}

// changingCall is a template whose output is in the render calling one of
// changingFuncs, directly or in the named template In.
type changingCall struct {
	File, Func, In string
}

func (c changingCall) String() string {
	if c.In != "" {
		return fmt.Sprintf("%s calls %s (in template %q)", c.File, c.Func, c.In)
	}
	return fmt.Sprintf("%s calls %s", c.File, c.Func)
}

// changingCalls finds the calls of changingFuncs in the templates of c
// that produced output (rendered: the "# Source:" paths of the output),
// following the named templates they include or call by a constant name,
// transitively.
//
// Helm's engine offers no hook to observe which functions run, so this is
// static, on the parsed templates (comments and text such as Grafana's
// "now-1h" do not count). Limiting it to templates that produced output
// drops a chart's files guarded off as a whole (Grafana's secret.yaml once
// the catalog names an existing Secret); a call in a branch not taken
// inside a template that did produce output is still found (Grafana's
// deployment.yaml checksums the password helper): renderChart confirms
// calls of random functions by rendering again and comparing (see there).
// A template included by a computed name is not followed.
func changingCalls(c *chart.Chart, rendered []string) []changingCall {
	files := map[string]*parse.Tree{}     // template file → tree
	defines := map[string][]*parse.Tree{} // named template → its definitions
	collectTrees(c, files, defines)

	var found []changingCall
	for _, file := range rendered {
		tree, ok := files[file]
		if !ok {
			continue
		}
		seen := map[string]bool{}
		var walk func(n parse.Node, in string)
		walk = func(n parse.Node, in string) {
			forCalls(n, func(fn string) {
				call := changingCall{File: file, Func: fn, In: in}
				if !slices.Contains(found, call) {
					found = append(found, call)
				}
			}, func(name string) {
				if seen[name] {
					return
				}
				seen[name] = true
				for _, t := range defines[name] {
					walk(t.Root, name)
				}
			})
		}
		walk(tree.Root, "")
	}
	slices.SortFunc(found, func(a, b changingCall) int { return strings.Compare(a.String(), b.String()) })
	return found
}

// collectTrees parses the templates of c and its subcharts, named as
// Helm's engine names them, on every core (a large chart has hundreds). A
// template that does not parse is skipped: Helm's own parse reports it.
func collectTrees(c *chart.Chart, files map[string]*parse.Tree, defines map[string][]*parse.Tree) {
	type template struct {
		name string
		data []byte
		set  map[string]*parse.Tree
	}
	var templates []*template
	var list func(c *chart.Chart)
	list = func(c *chart.Chart) {
		for _, t := range c.Templates {
			templates = append(templates, &template{name: path.Join(c.ChartFullPath(), t.Name), data: t.Data})
		}
		for _, dep := range c.Dependencies() {
			list(dep)
		}
	}
	list(c)
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, t := range templates {
		g.Go(func() error {
			tree := parse.New(t.name)
			tree.Mode = parse.SkipFuncCheck // Helm's functions are not known here
			set := map[string]*parse.Tree{}
			if _, err := tree.Parse(string(t.data), "", "", set); err == nil {
				t.set = set
			}
			return nil
		})
	}
	g.Wait()
	for _, t := range templates {
		for n, d := range t.set {
			if n == t.name {
				files[t.name] = d
				continue
			}
			defines[n] = append(defines[n], d)
		}
	}
}

// forCalls calls fn for every function identifier under n and named for
// every template n includes or calls by a constant name.
func forCalls(n parse.Node, fn func(string), named func(string)) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			forCalls(c, fn, named)
		}
	case *parse.ActionNode:
		forCalls(n.Pipe, fn, named)
	case *parse.IfNode:
		forBranch(&n.BranchNode, fn, named)
	case *parse.RangeNode:
		forBranch(&n.BranchNode, fn, named)
	case *parse.WithNode:
		forBranch(&n.BranchNode, fn, named)
	case *parse.TemplateNode:
		named(n.Name)
		forCalls(n.Pipe, fn, named)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			forCalls(c, fn, named)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "include" {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					named(s.Text)
				}
			}
		}
		for _, a := range n.Args {
			forCalls(a, fn, named)
		}
	case *parse.IdentifierNode:
		if changingFuncs[n.Ident] {
			fn(n.Ident)
		}
	case *parse.ChainNode:
		forCalls(n.Node, fn, named)
	}
}

func forBranch(b *parse.BranchNode, fn func(string), named func(string)) {
	forCalls(b.Pipe, fn, named)
	forCalls(b.List, fn, named)
	forCalls(b.ElseList, fn, named)
}

// changingTemplates returns the calls of changingCalls that make the
// output out change: calls of clock functions as found, calls of random
// ones only when rendering again (run) changes their template's output.
// The second render is paid only by charts with such a call in a template
// that produced output (of the fixture charts, kube-prometheus-stack, whose
// Grafana password helper is reachable but not taken once the catalog
// names an existing Secret).
func changingTemplates(chrt *chart.Chart, out string, run func(files []string) (string, error)) ([]changingCall, error) {
	first := outputs(out)
	var changing, random []changingCall
	for _, call := range changingCalls(chrt, slices.Sorted(maps.Keys(first))) {
		if timeFuncs[call.Func] {
			changing = append(changing, call)
		} else {
			random = append(random, call)
		}
	}
	if len(random) == 0 {
		return changing, nil
	}
	var files []string
	for _, call := range random {
		files = append(files, call.File)
	}
	again, err := run(files)
	if err != nil {
		return nil, err
	}
	second := outputs(again)
	for _, call := range random {
		if first[call.File] != second[call.File] {
			changing = append(changing, call)
		}
	}
	return changing, nil
}

// outputs splits a Helm manifest stream by its "# Source:" comments: the
// output of each template that produced any.
func outputs(manifest string) map[string]string {
	// Builders, not +=: a chart's output runs to megabytes (CRDs), and
	// appending line by line to a string copies it quadratically.
	parts := map[string]*strings.Builder{}
	var cur *strings.Builder
	for line := range strings.Lines(manifest) {
		if p, ok := strings.CutPrefix(line, "# Source: "); ok {
			name := strings.TrimSpace(p)
			if cur = parts[name]; cur == nil {
				cur = &strings.Builder{}
				parts[name] = cur
			}
		}
		if cur != nil {
			cur.WriteString(line)
		}
	}
	out := make(map[string]string, len(parts))
	for name, b := range parts {
		// The separator before the next template's output is not this
		// template's (a render of fewer templates ends elsewhere).
		text := strings.TrimRight(b.String(), " \n")
		out[name] = strings.TrimRight(strings.TrimSuffix(text, "\n---"), " \n")
	}
	delete(out, "")
	return out
}

// onlyTemplates copies c (and its subcharts) keeping the templates named
// in files (as the engine names them, e.g. kube-prometheus-stack/charts/
// grafana/templates/deployment.yaml) and every partial (_*.tpl and the
// like), where charts define their named templates.
func onlyTemplates(c *chart.Chart, files []string) *chart.Chart {
	cp := *c
	cp.Templates = nil
	for _, t := range c.Templates {
		if strings.HasPrefix(path.Base(t.Name), "_") || slices.Contains(files, path.Join(c.ChartFullPath(), t.Name)) {
			cp.Templates = append(cp.Templates, t)
		}
	}
	var deps []*chart.Chart
	for _, d := range c.Dependencies() {
		deps = append(deps, onlyTemplates(d, files))
	}
	cp.SetDependencies(deps...)
	return &cp
}
