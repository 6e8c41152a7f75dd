package platform

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/plinth-platform/plinth/lib/apicheck"
)

// CUE paths of the embedded schema that Go reads.
var (
	platformDef = cue.ParsePath("#Platform")
	envPath     = cue.ParsePath("env")
	rulesPath   = cue.ParsePath("rules")
)

// Platform is an evaluated environment: the unified CUE value and every
// finding about it. Findings hold schema errors and violated rules; when
// there is a schema error the rules are not evaluated.
type Platform struct {
	Environment Environment
	// Value is #Platform unified with the environment; valid only when Valid.
	Value    cue.Value
	Findings []Finding
	// Settings are decoded from Value; set only when Valid.
	Settings Settings
	// user is the environment's own value, before the schema: where its
	// files set something (Value's positions may be the schema's).
	user cue.Value
	// files are the CUE files of the environment and its layers, absolute.
	files []string
}

// Valid reports whether the environment has no error findings.
func (p *Platform) Valid() bool {
	return !slices.ContainsFunc(p.Findings, func(f Finding) bool { return f.Severity == SeverityError })
}

// KubernetesVersion is the Kubernetes version the cluster runs, derived
// from the OKD release on OKD.
func (p *Platform) KubernetesVersion() (string, error) {
	if !p.Valid() || p.Settings.Kubernetes == "" {
		return "", fmt.Errorf("environment %s: not valid, no Kubernetes version", p.Environment.Name)
	}
	return p.Settings.Kubernetes, nil
}

// Evaluate loads env, checks it against the schema and, when it conforms,
// evaluates every compatibility rule. The error is for failures to load
// at all (a missing directory, a CUE syntax error is a finding).
func Evaluate(ctx context.Context, env Environment) (*Platform, error) {
	cctx, schema, err := start(ctx)
	if err != nil {
		return nil, err
	}
	p := &Platform{Environment: env}
	if p.Findings = checkFiles(env); len(p.Findings) > 0 {
		sortFindings(p.Findings)
		return p, nil
	}
	user, files, err := loadEnvironment(cctx, env)
	p.files = files
	if err != nil {
		p.Findings = tidy(cueFindings(env, err, schema))
		return p, nil
	}
	return evaluateUser(ctx, schema, p, user)
}

// EvaluateState evaluates state, an environment's own value as plain data
// (see State), as Evaluate evaluates the environment's files: the
// upgrade planner's way to try a changed environment without writing it.
// Findings carry no file positions; they name env's directory.
func EvaluateState(ctx context.Context, env Environment, state map[string]any) (*Platform, error) {
	cctx, schema, err := start(ctx)
	if err != nil {
		return nil, err
	}
	user := cctx.Encode(state)
	if err := user.Err(); err != nil {
		return nil, fmt.Errorf("environment %s: encoding a state: %w", env.Name, err)
	}
	return evaluateUser(ctx, schema, &Platform{Environment: env}, user)
}

// start begins an evaluation: a fresh CUE context (contexts only grow)
// holding the schema.
func start(ctx context.Context) (*cue.Context, cue.Value, error) {
	if err := ctx.Err(); err != nil {
		return nil, cue.Value{}, err
	}
	cctx := cuecontext.New()
	schema, err := loadSchema(cctx)
	return cctx, schema, err
}

// State is the environment's own value as plain data: what its files and
// layers set, evaluated, without the schema's defaults. Changing a field
// of it and evaluating it with EvaluateState is evaluating the
// environment with that field changed.
func (p *Platform) State() (map[string]any, error) {
	if !p.user.Exists() {
		return nil, fmt.Errorf("environment %s: not evaluated", p.Environment.Name)
	}
	var state map[string]any
	if err := p.user.Decode(&state); err != nil {
		return nil, fmt.Errorf("environment %s: its value is not concrete: %w", p.Environment.Name, err)
	}
	return state, nil
}

// evaluateUser checks user, an environment's own value, against the schema
// and, when it conforms, evaluates every rule (Evaluate's second half).
func evaluateUser(ctx context.Context, schema cue.Value, p *Platform, user cue.Value) (*Platform, error) {
	env := p.Environment
	p.user = user
	// The schema's objects take the form the environment wrote, the keyed
	// map or the deprecated list, chosen here before the objects are
	// unified: a disjunction of the two forms made CUE evaluate every
	// object under both (vet of 1,000 objects: 500 MB and 1.5 s of CPU,
	// 250 MB and 1.0 s without).
	platform := schema.LookupPath(platformDef)
	if user.LookupPath(objectsPath).IncompleteKind() == cue.ListKind {
		platform = platform.FillPath(cue.MakePath(cue.Str("env"), cue.Def("#objectsListed")), true)
	}
	p.Value = platform.FillPath(envPath, user)
	if err := p.Value.LookupPath(envPath).Validate(cue.Concrete(true), cue.Final(), cue.All()); err != nil {
		// CUE stops checking a struct at its first failed disjunction, so
		// unknown fields next to another error would go unreported.
		p.Findings = tidy(append(cueFindings(env, err, schema), unknownFields(env, schema, user)...))
		return p, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A rule that cannot be evaluated is plinth's bug, never a silent pass.
	rulesValue := p.Value.LookupPath(rulesPath)
	if err := rulesValue.Validate(cue.Concrete(true)); err != nil {
		return nil, fmt.Errorf("environment %s: evaluating rules: %w", env.Name, err)
	}
	rules, err := decodeRules(rulesValue)
	if err != nil {
		return nil, fmt.Errorf("environment %s: evaluating rules: %w", env.Name, err)
	}
	for _, r := range rules {
		if r.Violated {
			p.Findings = append(p.Findings, ruleFinding(env, user, r))
		}
	}
	p.Findings = append(p.Findings, objectFindings(env, user, p.Value.LookupPath(envPath).LookupPath(objectsPath))...)
	sortFindings(p.Findings)
	if p.Valid() {
		// A valid environment whose settings do not decode is plinth's bug.
		if p.Settings, err = decodeSettings(p.Value); err != nil {
			return nil, fmt.Errorf("environment %s: reading its settings: %w", env.Name, err)
		}
	}
	return p, nil
}

// Rules returns the compatibility rules as the embedded schema defines
// them, in id order, without evaluating any environment.
func Rules() ([]Rule, error) {
	schema, err := loadSchema(cuecontext.New())
	if err != nil {
		return nil, err
	}
	return decodeRules(schema.LookupPath(platformDef).LookupPath(rulesPath))
}

func decodeRules(v cue.Value) ([]Rule, error) {
	iter, err := v.Fields()
	if err != nil {
		return nil, err
	}
	var rules []Rule
	for iter.Next() {
		rv := iter.Value()
		var r Rule
		r.ID = iter.Selector().Unquoted()
		for field, dst := range map[string]*string{
			"severity": (*string)(&r.Severity), "condition": &r.Condition, "message": &r.Message, "source": &r.Source,
		} {
			if *dst, err = rv.LookupPath(cue.ParsePath(field)).String(); err != nil {
				return nil, fmt.Errorf("rule %s: %s: %w", r.ID, field, err)
			}
		}
		if err := rv.LookupPath(cue.ParsePath("paths")).Decode(&r.Paths); err != nil {
			return nil, fmt.Errorf("rule %s: paths: %w", r.ID, err)
		}
		// Without an environment, violated is a default only; that is fine for Rules().
		if violated := rv.LookupPath(cue.ParsePath("violated")); violated.IsConcrete() {
			if r.Violated, err = violated.Bool(); err != nil {
				return nil, fmt.Errorf("rule %s: violated: %w", r.ID, err)
			}
		}
		if a := rv.LookupPath(cue.ParsePath("action")); a.Exists() {
			if r.Action, err = a.String(); err != nil {
				return nil, fmt.Errorf("rule %s: action: %w", r.ID, err)
			}
		}
		if d := rv.LookupPath(cue.ParsePath("detail")); d.Exists() {
			if r.Detail, err = d.String(); err != nil {
				return nil, fmt.Errorf("rule %s: detail: %w", r.ID, err)
			}
		}
		rules = append(rules, r)
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return rules, nil
}

// ruleFinding places a violated rule at the first of its paths that the
// environment's own files set, or at the environment directory. A path
// may quote a label (tenants."kube-system"); the finding writes it as
// schema findings do (tenants.kube-system).
func ruleFinding(env Environment, user cue.Value, r Rule) Finding {
	f := Finding{
		Environment: env.Name,
		Rule:        r.ID,
		Severity:    r.Severity,
		Message:     r.Message,
		Detail:      r.Detail,
		Source:      r.Source,
		Position:    Position{File: relPath(env.Root, env.Dir)},
	}
	if len(r.Paths) > 0 {
		f.Path = displayPath(cue.ParsePath(r.Paths[0]).Selectors())
	}
	for _, p := range r.Paths {
		path := cue.ParsePath(p)
		v := user.LookupPath(path)
		if !v.Exists() {
			continue
		}
		if pos := v.Pos(); pos.IsValid() {
			f.Path = displayPath(path.Selectors())
			f.Position = position(env.Root, pos)
			break
		}
	}
	return f
}

// displayPath writes selectors as schema findings write paths:
// "objects.0.data.password", "tenants.kube-system".
func displayPath(sels []cue.Selector) string {
	parts := make([]string, len(sels))
	for i, s := range sels {
		if s.Type() == cue.IndexLabel {
			parts[i] = strconv.Itoa(s.Index())
		} else {
			parts[i] = s.Unquoted()
		}
	}
	return strings.Join(parts, ".")
}

// cueFindings turns a CUE error list into findings, preferring for each
// error a position in the environment's files over one in the schema.
func cueFindings(env Environment, err error, schema cue.Value) []Finding {
	friendly := patternNames(schema)
	var all []Finding
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		msg := friendly.Replace(fmt.Sprintf(format, args...))
		if disjunctionHeader.MatchString(msg) {
			continue // its branches follow as errors of their own
		}
		// CUE quotes a label that is no identifier ("Data-Science");
		// unknownFields and the rules name it unquoted: one finding
		// then, not two that differ only in quotes.
		path := slices.Clone(e.Path())
		for i, p := range path {
			if u, err := strconv.Unquote(p); err == nil && strings.HasPrefix(p, `"`) {
				path[i] = u
			}
		}
		if msg == "field not allowed" {
			msg += notAllowedHint(schema, path)
		}
		f := Finding{
			Environment: env.Name,
			Rule:        RuleSchema,
			Severity:    SeverityError,
			Path:        strings.TrimPrefix(strings.Join(path, "."), "#Platform.env."),
			Message:     msg,
			Position:    Position{File: relPath(env.Root, env.Dir)},
		}
		positions := append([]token.Pos{e.Position()}, e.InputPositions()...)
		var schemaPos []string
		for _, pos := range positions {
			if !pos.IsValid() {
				continue
			}
			if isSchemaFile(pos.Filename()) {
				schemaPos = append(schemaPos, fmt.Sprintf("%s:%d:%d", pos.Filename(), pos.Line(), pos.Column()))
				continue
			}
			if f.Position.Line == 0 {
				f.Position = position(env.Root, pos)
			}
		}
		if len(schemaPos) > 0 {
			slices.Sort(schemaPos)
			f.Source = "schema " + strings.Join(slices.Compact(schemaPos), ", ")
		}
		all = append(all, f)
	}
	return all
}

// tidy turns raw schema findings into what a person should read: one
// finding per failed disjunction, nothing inside an unknown field, sorted.
func tidy(fs []Finding) []Finding {
	return quoteNumbers(dropBelowUnknown(dropDefaultConflicts(dropObjectsForm(fs))))
}

// objectsListBranch and objectsMapBranch match the errors of the
// disjunction objects is (a map of objects, or the older list): each says
// the user's value is not the other form.
var (
	objectsListBranch = regexp.MustCompile(`^conflicting values .* and \[\.\.\.#Object\] \(mismatched types \w+ and list\)$`)
	objectsMapBranch  = regexp.MustCompile(`^conflicting values \[.* and \{\[#ObjectKey\]:#Object\} \(mismatched types list and struct\)$`)
)

// dropObjectsForm drops the error of the form of objects the user did not
// write: a map of objects is not a list, a list is not a map. What is
// wrong inside the form written is reported on its own. A value that is
// neither keeps the map's error: the map is the form to write.
func dropObjectsForm(fs []Finding) []Finding {
	fs = slices.DeleteFunc(fs, func(f Finding) bool {
		return f.Path == "objects" && (objectsListBranch.MatchString(f.Message) || objectsMapBranch.MatchString(f.Message))
	})
	for i, f := range fs {
		if m := objectsNeither.FindStringSubmatch(f.Message); m != nil && f.Path == "objects" {
			fs[i].Detail = fmt.Sprintf("objects is %s (%s)", m[1], m[2])
			fs[i].Message = `write objects as a map from a key to each object: objects: "platform-info": {apiVersion: "v1", kind: "ConfigMap", metadata: {...}, ...}`
		}
	}
	return fs
}

// objectsNeither matches the error that remains when objects is neither
// a map nor a list.
var objectsNeither = regexp.MustCompile(`^conflicting values (.*) and \{\[#ObjectKey\]:#Object\} \(mismatched types (\w+) and struct\)$`)

// numberForString matches CUE's error for a number written where the
// schema wants a string (cpu: 8 for cpu: "8"), in either order.
var (
	numberForString = regexp.MustCompile(`^conflicting values (-?[0-9][-+0-9.eE]*) and ([^"].*) \(mismatched types (?:int|float) and string\)$`)
	stringForNumber = regexp.MustCompile(`^conflicting values ([^"].*) and (-?[0-9][-+0-9.eE]*) \(mismatched types string and (?:int|float)\)$`)
	identifier      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// quoteNumbers rewrites a number given where the schema wants a string
// into what to write instead, with the field's own value quoted:
// "write the quantity as a string: cpu: \"8\"".
func quoteNumbers(fs []Finding) []Finding {
	for i, f := range fs {
		if f.Rule != RuleSchema {
			continue
		}
		var number, want string
		if m := numberForString.FindStringSubmatch(f.Message); m != nil {
			number, want = m[1], m[2]
		} else if m := stringForNumber.FindStringSubmatch(f.Message); m != nil {
			number, want = m[2], m[1]
		} else {
			continue
		}
		quoted := strconv.Quote(number)
		if label := f.Path[strings.LastIndex(f.Path, ".")+1:]; label != "" {
			if _, err := strconv.Atoi(label); err != nil { // a list index has no label to repeat
				if !identifier.MatchString(label) {
					label = strconv.Quote(label)
				}
				quoted = label + ": " + quoted
			}
		}
		switch name, ok := patternDescriptions[want]; {
		case want == "#Quantity":
			fs[i].Detail = fmt.Sprintf("%s is a number; a quantity is a string, such as \"500m\", \"64\" or \"256Gi\"", number)
			fs[i].Message = "write the quantity as a string: " + quoted
		case ok:
			fs[i].Detail = fmt.Sprintf("%s is a number; the field takes a string (%s)", number, name)
			fs[i].Message = "write it as a string: " + quoted
		default:
			fs[i].Detail = fmt.Sprintf("%s is a number; the field takes a string", number)
			fs[i].Message = "write it as a string: " + quoted
		}
	}
	return fs
}

// disjunctionHeader matches CUE's summary of a failed disjunction; the
// branch errors it summarises are reported on their own.
var disjunctionHeader = regexp.MustCompile(`^\d+ errors in empty disjunction:?$`)

// literalConflict matches a conflict between two literals: the user's
// value against one branch of a schema disjunction, e.g. "rkt" against
// "containerd", or "three" against the default of *3 | int.
var literalConflict = regexp.MustCompile(`^conflicting values ("[^"]*"|[-0-9.eE+]+|true|false|null) and ("[^"]*"|[-0-9.eE+]+|true|false|null)( \(mismatched types \w+ and \w+\))?$`)

// dropDefaultConflicts folds the branch errors of one failed disjunction:
// next to a type or constraint error, conflicts with literals are noise;
// when only literals conflict, they are the allowed values.
func dropDefaultConflicts(all []Finding) []Finding {
	type place struct{ pos, path string }
	groups := map[place][]int{}
	for i, f := range all {
		k := place{f.Position.String(), f.Path}
		groups[k] = append(groups[k], i)
	}
	var out []Finding
	seen := map[string]bool{}
	for i, f := range all {
		group := groups[place{f.Position.String(), f.Path}]
		if len(group) > 1 && literalConflict.MatchString(f.Message) {
			var left, right []string
			for _, j := range group {
				if m := literalConflict.FindStringSubmatch(all[j].Message); m != nil {
					left, right = append(left, m[1]), append(right, m[2])
				}
			}
			if len(left) < len(group) || i != group[0] {
				continue // a type or constraint error at this place says it better
			}
			// The user's value is the side common to every branch.
			value, allowed := left[0], right
			if len(slices.Compact(slices.Clone(left))) > 1 {
				value, allowed = right[0], left
			}
			slices.Sort(allowed)
			f.Message = fmt.Sprintf("invalid value %s (want one of %s)", value, strings.Join(slices.Compact(allowed), ", "))
		}
		if key := f.Position.String() + " " + f.Path + " " + f.Message; !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	sortFindings(out)
	return out
}

// unknownFields reports every field of the user's environment that the
// schema does not allow, walking structs the schema defines.
func unknownFields(env Environment, schema, user cue.Value) []Finding {
	var out []Finding
	var walk func(def, val cue.Value, path []string)
	walk = func(def, val cue.Value, path []string) {
		iter, err := val.Fields()
		if err != nil {
			return
		}
		for iter.Next() {
			sel := iter.Selector()
			if sel.IsDefinition() || sel.PkgPath() != "" || sel.Type()&cue.HiddenLabel != 0 {
				continue // the user's own definitions and hidden helpers
			}
			name := sel.Unquoted()
			full := append(slices.Clone(path), name)
			if !def.Allows(sel) {
				out = append(out, Finding{
					Environment: env.Name,
					Rule:        RuleSchema,
					Severity:    SeverityError,
					Path:        strings.Join(full, "."),
					Message:     "field not allowed" + notAllowedHint(schema, append([]string{"#Platform", "env"}, full...)),
					Position:    position(env.Root, iter.Value().Pos()),
				})
				continue
			}
			if child := def.LookupPath(cue.MakePath(sel)); child.Exists() && child.IncompleteKind() == cue.StructKind {
				walk(child, iter.Value(), full)
			}
		}
	}
	walk(schema.LookupPath(cue.ParsePath("#Environment")), user, nil)
	return out
}

// dropBelowUnknown drops findings inside a field that is itself not
// allowed: the unknown field is the one thing to fix.
func dropBelowUnknown(fs []Finding) []Finding {
	var unknown []string
	for _, f := range fs {
		if strings.HasPrefix(f.Message, "field not allowed") {
			unknown = append(unknown, f.Path+".")
		}
	}
	return slices.DeleteFunc(fs, func(f Finding) bool {
		return slices.ContainsFunc(unknown, func(u string) bool { return strings.HasPrefix(f.Path, u) })
	})
}

// notAllowedHint suggests the field the user probably meant, or lists
// the fields allowed where an unknown one was written.
func notAllowedHint(schema cue.Value, path []string) string {
	if len(path) < 3 || path[0] != "#Platform" || path[1] != "env" {
		return ""
	}
	parent := schema.LookupPath(cue.ParsePath("#Environment"))
	for _, p := range path[2 : len(path)-1] {
		next := parent.LookupPath(cue.MakePath(cue.Str(p)))
		if !next.Exists() {
			if parent.Allows(cue.Str("a")) { // a map whose names follow a pattern, like tenants
				return keyHint(parent, p)
			}
			return ""
		}
		parent = next
	}
	var names []string
	iter, err := parent.Fields(cue.Optional(true))
	if err != nil {
		return ""
	}
	for iter.Next() {
		names = append(names, iter.Selector().Unquoted())
	}
	name := path[len(path)-1]
	if len(names) == 0 {
		if parent.Allows(cue.Str("a")) {
			return keyHint(parent, name)
		}
		return ""
	}
	if best := apicheck.Closest(name, names); best != "" {
		return fmt.Sprintf(" (did you mean %s?)", best)
	}
	return " (allowed: " + strings.Join(names, ", ") + ")"
}

// keyHints say what is wrong with a key that a map's key pattern refuses.
var keyHints = map[string]string{
	"#Name":         "is not a DNS-1123 label: use lowercase letters, digits and '-'",
	"#ObjectKey":    "is not an object key: use lowercase letters, digits, '-' and '.' (the object's name, say)",
	"#RegistryHost": "is not a registry host: a host name with an optional port, such as docker.io or nexus.bank.local:8443",
}

// keyHint explains why the map m refuses the key name, after the
// definition its pattern constraint ([Name=#Name]: T) names.
func keyHint(m cue.Value, name string) string {
	var def string
	var find func(n ast.Node)
	find = func(n ast.Node) {
		switch n := n.(type) {
		case *ast.Field:
			find(n.Value)
		case *ast.ParenExpr:
			find(n.X)
		case *ast.UnaryExpr:
			find(n.X)
		case *ast.BinaryExpr:
			find(n.X)
			find(n.Y)
		case *ast.IndexExpr: // [if #objectsListed {[...]}, {[Key=#ObjectKey]: T}][0]
			find(n.X)
		case *ast.ListLit:
			for _, e := range n.Elts {
				find(e)
			}
		case *ast.StructLit:
			for _, e := range n.Elts {
				f, ok := e.(*ast.Field)
				if !ok {
					continue
				}
				l, ok := f.Label.(*ast.ListLit)
				if !ok || len(l.Elts) != 1 {
					continue
				}
				k := l.Elts[0]
				if a, ok := k.(*ast.Alias); ok {
					k = a.Expr
				}
				if id, ok := k.(*ast.Ident); ok && def == "" {
					def = id.Name
				}
			}
		}
	}
	find(m.Source())
	if hint, ok := keyHints[def]; ok {
		return fmt.Sprintf(" (%q %s)", name, hint)
	}
	if want, ok := patternDescriptions[def]; ok {
		return fmt.Sprintf(" (%q is not %s)", name, want)
	}
	return ""
}

// patternDescriptions say what the schema's pattern definitions stand for.
var patternDescriptions = map[string]string{
	"#Version":      "a version such as 1.34.2, v26.7.0 or 26.03",
	"#Name":         "a DNS-1123 label: lowercase letters, digits and '-', at most 63",
	"#ObjectKey":    "a key of lowercase letters, digits, '-' and '.', at most 253",
	"#Quantity":     "a Kubernetes quantity such as 500m, 64 or 256Gi",
	"#Duration":     "a duration such as 90s, 10m or 1h30m",
	"#URL":          "a URL: https://, oci://, file:// or ssh://",
	"#Subject":      "a subject such as group:risk-ds or user:jdoe",
	"#HTTPURL":      "an http:// or https:// URL",
	"#Registry":     "a registry host[:port][/path] such as nexus.bank.local:8443",
	"#RegistryHost": "a registry host[:port] such as docker.io or nexus.bank.local:8443",
	"#Retention":    "a retention such as 15d, 12h or 1y",
}

// patternNames rewrites the schema's regular expressions, as CUE prints
// them in errors, to what they stand for.
func patternNames(schema cue.Value) *strings.Replacer {
	var pairs []string
	for def, name := range patternDescriptions {
		if re := schemaRegexp.FindString(fmt.Sprint(schema.LookupPath(cue.ParsePath(def)))); re != "" {
			pairs = append(pairs, "(out of bound "+re+")", "(want "+name+")", re, def)
		}
	}
	return strings.NewReplacer(pairs...)
}

var schemaRegexp = regexp.MustCompile(`=~"(\\.|[^"\\])*"`)

func isSchemaFile(name string) bool {
	return strings.HasPrefix(name, schemaDir+"/") && !filepath.IsAbs(name)
}

func position(root string, pos token.Pos) Position {
	return Position{File: relPath(root, pos.Filename()), Line: pos.Line(), Column: pos.Column()}
}

// relPath names files relative to the repository root, slash-separated,
// so that messages are the same on every machine.
func relPath(root, name string) string {
	if rel, err := filepath.Rel(root, name); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(name)
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(string(a.Severity), string(b.Severity)); c != 0 {
			return c // errors before warnings
		}
		if c := strings.Compare(a.Position.File, b.Position.File); c != 0 {
			return c
		}
		if a.Position.Line != b.Position.Line {
			return a.Position.Line - b.Position.Line
		}
		if a.Position.Column != b.Position.Column {
			return a.Position.Column - b.Position.Column
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}
