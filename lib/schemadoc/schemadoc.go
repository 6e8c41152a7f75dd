package schemadoc

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	schemas "github.com/plinth-platform/plinth/cue"
	"github.com/plinth-platform/plinth/lib/platform"
)

// noValue fills the Default column when a field has none.
const noValue = "—"

// Environment writes docs/environment.md: one section per top-level field
// of #Environment with a table of every field below it, then the pattern
// definitions the tables refer to.
func Environment(w io.Writer) error {
	schema, err := platform.Schema()
	if err != nil {
		return fmt.Errorf("environment doc: %w", err)
	}
	md, err := newProse(schema)
	if err != nil {
		return fmt.Errorf("environment doc: %w", err)
	}
	g := &envDoc{schema: schema, md: md, patterns: map[string]bool{}, expanding: map[string]bool{}}
	if err := g.write(); err != nil {
		return fmt.Errorf("environment doc: %w", err)
	}
	if _, err := w.Write(g.buf.Bytes()); err != nil {
		return fmt.Errorf("environment doc: %w", err)
	}
	return nil
}

// Rules writes docs/rules.md: what the severities mean, which rules are
// checked at render time instead, and a table of every rule of
// #Platform.rules.
func Rules(w io.Writer) error {
	rules, err := platform.Rules()
	if err != nil {
		return fmt.Errorf("rules doc: %w", err)
	}
	schema, err := platform.Schema()
	if err != nil {
		return fmt.Errorf("rules doc: %w", err)
	}
	md, err := newProse(schema)
	if err != nil {
		return fmt.Errorf("rules doc: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(`# Compatibility rules

This file is generated from ` + "`cue/rules.cue`" + ` by ` + "`make docs`" + `; do not edit it by hand.

` + "`plinth vet`" + ` evaluates every rule below against each environment and the
compatibility matrix (` + "`cue/matrix.cue`" + `). Severity **error** means the
combination is known to be broken: vet reports the finding and fails (exit
status 1). Severity **warning** means the combination is unproven or risky:
vet prints the finding and still passes. Each finding points at the first
of the rule's fields that the environment sets, or at the environment
directory when it sets none of them.

Some checks cannot be made from the environment description alone; they
need the rendered manifests and belong to ` + "`plinth render`" + `, so they are
not in the table:

- **KF-K8S-3**: API groupVersions in the rendered manifests that the
  cluster's Kubernetes version has removed.
- **MIRROR-2**: image references the registry mirror must also rewrite
  inside ConfigMaps, container args and environment variables: the
  ` + "`katib-config`" + ` and ` + "`spawner_ui_config`" + ` ConfigMaps, the Argo executor image
  and the KFP launcher and driver images set through environment variables.
- **OCP-KF-1**: the OKD SecurityContextConstraints bindings that Istio and
  Kubeflow need; render generates them from ` + "`overlays/`" + `.
- **OCP-4** (mirror objects): whether an OKD cluster maps images to the
  mirror with an ImageContentSourcePolicy or an ImageDigestMirrorSet, which
  depends on the OKD release; render takes it from
  ` + "`matrix.okd.<release>.mirrorKind`" + `. The OCP-4 row below covers only
  the proxy and air-gap check.

`)
	writeRow(&b, "Id", "Severity", "Condition", "Message", "Source", "Fields")
	writeRow(&b, "---", "---", "---", "---", "---", "---")
	for _, r := range rules {
		fields := make([]string, len(r.Paths))
		for i, p := range r.Paths {
			fields[i] = "`" + p + "`"
		}
		writeRow(&b, r.ID, string(r.Severity), md.text(r.Condition), md.text(r.Message), md.text(r.Source), strings.Join(fields, ", "))
	}
	// The rules whose fix is work on the cluster (a rule's action).
	var actions []platform.Rule
	for _, r := range rules {
		if r.Action != "" {
			actions = append(actions, r)
		}
	}
	if len(actions) > 0 {
		b.WriteString(`
## Work on the cluster

The rules below are fixed by work on the cluster, not only by a changed
field: a runtime or in-tree storage migration. Each names that work in its
` + "`action`" + `. ` + "`plinth upgrade`" + ` plans the change of the field as a
migration step of its own, at the Kubernetes version the cluster runs,
just before the Kubernetes step that would violate the rule, and puts the
action in the runbook of that step (under "Work on the cluster" in the
Markdown runbook, "action" in the text output, ` + "`actions`" + ` in the JSON;
see [upgrade.md](upgrade.md)).

`)
		for _, r := range actions {
			fmt.Fprintf(&b, "- **%s** (%s): %s\n", r.ID, string(r.Severity), md.text(r.Action))
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("rules doc: %w", err)
	}
	return nil
}

// envDoc is the state of one Environment call.
type envDoc struct {
	schema cue.Value
	md     prose
	buf    bytes.Buffer
	// patterns holds the pattern definitions (#Version, ...) the tables name.
	patterns map[string]bool
	// expanding guards against a definition that refers to itself.
	expanding map[string]bool
}

// field is one field of a struct, or one pattern constraint ([Name=#Name]: T).
type field struct {
	label    string
	v        cue.Value
	src      *ast.Field // nil when the value has no single source field
	optional bool
	required bool // marked !
	pattern  bool
}

// row is one line of a field table.
type row struct {
	path, typ, def, required, desc string
}

func (g *envDoc) write() error {
	env := g.schema.LookupPath(cue.ParsePath("#Environment"))
	if err := env.Err(); err != nil {
		return fmt.Errorf("#Environment: %w", err)
	}
	top, err := g.fields(env)
	if err != nil {
		return fmt.Errorf("#Environment: %w", err)
	}
	b := &g.buf
	b.WriteString(`# Environment format

This file is generated from ` + "`cue/schema.cue`" + ` (its hand-written sections from ` + "`cue/guide/`" + `) by ` + "`make docs`" + `; do not edit it by hand.

`)
	fmt.Fprintf(b, "%s An environment is a directory `environments/<env>/` of CUE files in package `plinth`, layered with the same-package files of its parent directories; their top-level fields are the fields of `#Environment`. The sections below list every field by its full path.\n\n", g.md.text(docText(env.Doc())))
	b.WriteString(`- **Type**: names starting with ` + "`#`" + ` are patterns, listed under [Patterns](#patterns) at the end; quoted values separated by ` + "`|`" + ` mean one of these values.
- **Default**: the value plinth uses when the field is not set.
- **Required**: *yes* means ` + "`plinth vet`" + ` fails when the field is missing, because the schema marks it with ` + "`!`" + ` or gives it neither a default nor a fixed value. Inside an optional block (` + "`storage.nfs.server`" + `) or a map or list entry (` + "`tenants.<name>.quota.cpu`" + `) it applies only when the block or entry is present.

`)
	for _, f := range top {
		fmt.Fprintf(b, "## %s\n\n", f.label)
		if d := docText(f.v.Doc()); d != "" {
			fmt.Fprintf(b, "%s\n\n", g.md.text(d))
		}
		if t := g.fieldType(f); t != "struct" {
			fmt.Fprintf(b, "Type: %s.\n\n", t)
		}
		if def, members, ok := g.sharedEmbedding(f.v); ok {
			if err := g.writeMembers(f, def, members); err != nil {
				return err
			}
		} else {
			rows, err := g.children(f.v, f.label, nil)
			if err != nil {
				return err
			}
			writeTable(b, rows)
		}
		// What a table cannot show (worked examples, how layers combine)
		// is written by hand beside the schema: cue/guide/<field>.md.
		if guide, err := fs.ReadFile(schemas.Guide, "guide/"+f.label+".md"); err == nil {
			b.Write(guide)
			b.WriteString("\n")
		}
	}
	return g.writePatterns()
}

// writeMembers documents a struct whose fields all embed the same
// definition (components: every component embeds #Component): the shared
// fields once, then a subsection per member with its own fields.
func (g *envDoc) writeMembers(parent field, def string, members []field) error {
	b := &g.buf
	dv := g.schema.LookupPath(cue.ParsePath(def))
	shared, err := g.fields(dv)
	if err != nil {
		return fmt.Errorf("%s: %w", def, err)
	}
	skip := map[*ast.Field]bool{}
	for _, f := range shared {
		if f.src != nil {
			skip[f.src] = true
		}
	}
	placeholder := "<" + lowerFirst(strings.TrimPrefix(def, "#")) + ">"
	fmt.Fprintf(b, "### Fields of every %s\n\n", lowerFirst(strings.TrimPrefix(def, "#")))
	if d := docText(dv.Doc()); d != "" {
		fmt.Fprintf(b, "%s ", g.md.text(d))
	}
	fmt.Fprintf(b, "These fields are listed once here; `%s` stands for any of the %s below.\n\n", placeholder, parent.label)
	rows, err := g.children(dv, parent.label+"."+placeholder, nil)
	if err != nil {
		return err
	}
	writeTable(b, rows)
	for _, m := range members {
		path := parent.label + "." + m.label
		fmt.Fprintf(b, "### %s\n\n", m.label)
		if d := docText(m.v.Doc()); d != "" {
			fmt.Fprintf(b, "%s\n\n", g.md.text(d))
		}
		rows, err := g.children(m.v, path, skip)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			fmt.Fprintf(b, "No fields besides those of every %s.\n\n", lowerFirst(strings.TrimPrefix(def, "#")))
			continue
		}
		writeTable(b, rows)
	}
	return nil
}

// writePatterns documents the pattern definitions the tables named, in
// schema order.
func (g *envDoc) writePatterns() error {
	if len(g.patterns) == 0 {
		return nil
	}
	b := &g.buf
	b.WriteString("## Patterns\n\nA field typed with a pattern takes a string that matches the pattern's regular expression (and its further constraints, if any).\n\n")
	writeRow(b, "Pattern", "Regular expression", "Description")
	writeRow(b, "---", "---", "---")
	iter, err := g.schema.Fields(cue.Definitions(true))
	if err != nil {
		return fmt.Errorf("listing definitions: %w", err)
	}
	for iter.Next() {
		name := iter.Selector().String()
		if !g.patterns[name] {
			continue
		}
		src, ok := iter.Value().Source().(*ast.Field)
		if !ok {
			return fmt.Errorf("%s: no source", name)
		}
		var parts []string
		for _, x := range conjuncts(src.Value) {
			if re, ok := regex(x); ok {
				parts = append(parts, "`"+re+"`")
			} else {
				parts = append(parts, "`"+formatExpr(x)+"`")
			}
		}
		writeRow(b, "`"+name+"`", strings.Join(parts, " and "), g.md.text(docText(iter.Value().Doc())))
	}
	b.WriteString("\n")
	return nil
}

// children returns the rows of every field below v, whose path is path:
// struct fields, the fields of map entries (path.<key>) and of list
// elements (path[]). Fields whose source is in skip are left out.
func (g *envDoc) children(v cue.Value, path string, skip map[*ast.Field]bool) ([]row, error) {
	var rows []row
	// A field that is a map or a list (objects) is documented in its
	// default form.
	if k := v.IncompleteKind(); k == cue.StructKind|cue.ListKind {
		if d, ok := v.Default(); ok {
			v = d
		}
	}
	switch v.IncompleteKind() {
	case cue.StructKind:
		fields, err := g.fields(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, f := range fields {
			if f.src != nil && skip[f.src] {
				continue
			}
			p := path + "." + f.label
			if !f.pattern {
				rows = append(rows, g.row(f, p))
			}
			sub, err := g.children(f.v, p, nil)
			if err != nil {
				return nil, err
			}
			rows = append(rows, sub...)
		}
	case cue.ListKind:
		if elem := v.LookupPath(cue.MakePath(cue.AnyIndex)); elem.Exists() {
			return g.children(elem, path+"[]", nil)
		}
	}
	return rows, nil
}

func (g *envDoc) row(f field, path string) row {
	r := row{
		path:     "`" + path + "`",
		typ:      g.fieldType(f),
		def:      noValue,
		required: "no",
		desc:     g.md.text(docText(f.v.Doc())),
	}
	if d, ok := f.v.Default(); ok {
		r.def = "`" + fmt.Sprint(d) + "`"
	} else if k := f.v.IncompleteKind(); f.v.IsConcrete() && k != cue.StructKind && k != cue.ListKind {
		r.def = "`" + fmt.Sprint(f.v) + "`"
	}
	if g.isRequired(f) {
		r.required = "yes"
	}
	return r
}

// isRequired reports whether vet fails when f is missing: f is marked !,
// or it is a regular field with neither a default nor a fixed value, or a
// regular struct with such a field.
func (g *envDoc) isRequired(f field) bool {
	switch {
	case f.required:
		return true
	case f.optional || f.pattern:
		return false
	}
	if _, ok := f.v.Default(); ok {
		return false
	}
	switch f.v.IncompleteKind() {
	case cue.StructKind:
		fields, err := g.fields(f.v)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(fields, g.isRequired)
	case cue.ListKind:
		return false
	}
	return !f.v.IsConcrete()
}

// fields lists v's regular, optional and required fields and its pattern
// constraints, patterns first, then in source order.
func (g *envDoc) fields(v cue.Value) ([]field, error) {
	iter, err := v.Fields(cue.Optional(true), cue.Definitions(false), cue.Patterns(true))
	if err != nil {
		return nil, err
	}
	var fields []field
	for iter.Next() {
		ft := iter.FieldType()
		f := field{
			v:        iter.Value(),
			optional: ft&cue.OptionalConstraint != 0,
			required: ft&cue.RequiredConstraint != 0,
			pattern:  ft&cue.PatternConstraint != 0,
		}
		f.src, _ = f.v.Source().(*ast.Field)
		if f.pattern {
			f.label = patternLabel(f.src)
		} else {
			f.label = iter.Selector().Unquoted()
		}
		fields = append(fields, f)
	}
	// The iterator lists fields in evaluation order; a struct that embeds a
	// definition can interleave its own fields with the embedded ones.
	// Source order is the order of the schema.
	slices.SortStableFunc(fields, func(a, b field) int {
		if a.pattern || b.pattern || a.src == nil || b.src == nil {
			return 0
		}
		pa, pb := a.src.Pos(), b.src.Pos()
		return cmp.Or(strings.Compare(pa.Filename(), pb.Filename()), cmp.Compare(pa.Offset(), pb.Offset()))
	})
	return fields, nil
}

// sharedEmbedding reports whether every field of v is a struct that embeds
// the same definition, and returns that definition and the fields.
func (g *envDoc) sharedEmbedding(v cue.Value) (string, []field, bool) {
	if v.IncompleteKind() != cue.StructKind {
		return "", nil, false
	}
	fields, err := g.fields(v)
	if err != nil || len(fields) < 2 {
		return "", nil, false
	}
	def := ""
	for _, f := range fields {
		if f.pattern || f.src == nil {
			return "", nil, false
		}
		e := embeddedDefinition(f.src.Value)
		if e == "" || (def != "" && e != def) {
			return "", nil, false
		}
		def = e
	}
	return def, fields, true
}

// embeddedDefinition returns the definition a struct literal embeds, if it
// embeds exactly one.
func embeddedDefinition(x ast.Expr) string {
	s, ok := x.(*ast.StructLit)
	if !ok {
		return ""
	}
	name := ""
	for _, d := range s.Elts {
		e, ok := d.(*ast.EmbedDecl)
		if !ok {
			continue
		}
		id, ok := e.Expr.(*ast.Ident)
		if !ok || !strings.HasPrefix(id.Name, "#") || name != "" {
			return ""
		}
		name = id.Name
	}
	return name
}

// patternLabel names a pattern constraint's key in a path: <name> for
// [Name=#Name], else after the key's definition, else <key>.
func patternLabel(src *ast.Field) string {
	if src != nil {
		if l, ok := src.Label.(*ast.ListLit); ok && len(l.Elts) == 1 {
			switch k := l.Elts[0].(type) {
			case *ast.Alias:
				return "<" + lowerFirst(k.Ident.Name) + ">"
			case *ast.Ident:
				if strings.HasPrefix(k.Name, "#") {
					return "<" + lowerFirst(strings.TrimPrefix(k.Name, "#")) + ">"
				}
			}
		}
	}
	return "<key>"
}

// fieldType describes f's type in Markdown.
func (g *envDoc) fieldType(f field) string {
	if f.src == nil {
		return "`" + f.v.IncompleteKind().String() + "`"
	}
	return g.typeOf(f.src.Value).md()
}

// typ is a rendered type: CUE syntax to show as code, or prose.
type typ struct {
	s    string
	code bool
}

func (t typ) md() string {
	if t.code {
		return "`" + t.s + "`"
	}
	return t.s
}

func codeType(s string) typ  { return typ{s: s, code: true} }
func proseType(s string) typ { return typ{s: s} }

// typeOf renders a field's value expression as a type a reader can use:
// defaults dropped where a wider type follows, pattern definitions by
// name, lists and maps in words.
func (g *envDoc) typeOf(x ast.Expr) typ {
	switch x := x.(type) {
	case *ast.ParenExpr:
		return g.typeOf(x.X)
	case *ast.BinaryExpr:
		if x.Op == token.OR {
			return g.disjunction(disjuncts(x))
		}
	case *ast.UnaryExpr:
		switch x.Op {
		case token.MUL:
			return g.typeOf(x.X)
		case token.MAT:
			if re, ok := regex(x); ok {
				return proseType("string matching `" + re + "`")
			}
		}
	case *ast.Ident:
		if strings.HasPrefix(x.Name, "#") {
			return g.definition(x.Name)
		}
	case *ast.ListLit:
		if len(x.Elts) == 1 {
			if e, ok := x.Elts[0].(*ast.Ellipsis); ok {
				if e.Type == nil {
					return proseType("list")
				}
				return proseType("list of " + g.typeOf(e.Type).md())
			}
		}
	case *ast.StructLit:
		return g.structType(x)
	case *ast.IndexExpr:
		if forms, ok := chosenForms(x); ok {
			return g.disjunction(forms)
		}
	}
	return codeType(formatExpr(x))
}

// chosenForms reads the forms of a field whose form plinth chooses, not
// a disjunction (objects: [if #objectsListed {[...#Object]}, {map}][0]):
// the unconditional form (the default) first, then the conditional ones.
func chosenForms(x *ast.IndexExpr) ([]ast.Expr, bool) {
	l, ok := x.X.(*ast.ListLit)
	if !ok {
		return nil, false
	}
	var always, conditional []ast.Expr
	for _, e := range l.Elts {
		c, ok := e.(*ast.Comprehension)
		if !ok {
			always = append(always, e)
			continue
		}
		s, ok := c.Value.(*ast.StructLit)
		if !ok || len(s.Elts) != 1 {
			return nil, false
		}
		embed, ok := s.Elts[0].(*ast.EmbedDecl)
		if !ok {
			return nil, false
		}
		conditional = append(conditional, embed.Expr)
	}
	return append(always, conditional...), len(always)+len(conditional) > 1
}

// disjunction renders a | b | c: all values when they are literals, else
// the types, leaving out a default that one of them already allows.
func (g *envDoc) disjunction(alts []ast.Expr) typ {
	wide := slices.ContainsFunc(alts, func(x ast.Expr) bool { return !isLiteral(stripDefault(x)) })
	var parts []typ
	allCode := true
	for _, x := range alts {
		inner := stripDefault(x)
		// A default has its own column; here it only adds noise, or the
		// name of a hidden helper, unless it is one value of an enumeration
		// or a form of its own (a map of objects next to a list).
		if _, form := inner.(*ast.StructLit); inner != x && (wide || !isLiteral(inner)) && !form {
			continue
		}
		t := g.typeOf(inner)
		allCode = allCode && t.code
		parts = append(parts, t)
	}
	strs := make([]string, len(parts))
	for i, t := range parts {
		if allCode {
			strs[i] = t.s
		} else {
			strs[i] = t.md()
		}
	}
	if allCode {
		return codeType(strings.Join(strs, " | "))
	}
	return proseType(strings.Join(strs, " or "))
}

// structType renders a struct literal: a free-form map, a map with typed
// keys, or a struct whose fields have rows of their own.
func (g *envDoc) structType(s *ast.StructLit) typ {
	var fields, patterns []*ast.Field
	open, embeds := false, false
	for _, d := range s.Elts {
		switch d := d.(type) {
		case *ast.Field:
			if _, ok := d.Label.(*ast.ListLit); ok {
				patterns = append(patterns, d)
			} else {
				fields = append(fields, d)
			}
		case *ast.Ellipsis:
			open = true
		case *ast.EmbedDecl:
			embeds = true
		}
	}
	switch {
	case len(fields) == 0 && len(patterns) == 0 && !embeds && open:
		return proseType("map (free-form)")
	case len(fields) == 0 && len(patterns) == 1 && !embeds && !open:
		p := patterns[0]
		key := proseType("string")
		if l := p.Label.(*ast.ListLit); len(l.Elts) == 1 {
			k := l.Elts[0]
			if a, ok := k.(*ast.Alias); ok {
				k = a.Expr
			}
			key = g.typeOf(k)
		}
		return proseType("map of " + key.md() + " to " + g.typeOf(p.Value).md())
	case open:
		return proseType("struct (open: other fields allowed)")
	}
	return proseType("struct")
}

// definition renders a reference to a definition: patterns by name (and
// remembered for the Patterns section), structs as structs, anything else
// (an enumeration such as #ComponentName) expanded.
func (g *envDoc) definition(name string) typ {
	src, ok := g.schema.LookupPath(cue.ParsePath(name)).Source().(*ast.Field)
	if !ok || g.expanding[name] {
		return codeType(name)
	}
	if slices.ContainsFunc(conjuncts(src.Value), func(x ast.Expr) bool { _, ok := regex(x); return ok }) {
		g.patterns[name] = true
		return codeType(name)
	}
	g.expanding[name] = true
	defer delete(g.expanding, name)
	return g.typeOf(src.Value)
}

// disjuncts flattens a | b | c.
func disjuncts(x ast.Expr) []ast.Expr {
	if b, ok := x.(*ast.BinaryExpr); ok && b.Op == token.OR {
		return append(disjuncts(b.X), disjuncts(b.Y)...)
	}
	return []ast.Expr{x}
}

// conjuncts flattens a & b & c.
func conjuncts(x ast.Expr) []ast.Expr {
	if b, ok := x.(*ast.BinaryExpr); ok && b.Op == token.AND {
		return append(conjuncts(b.X), conjuncts(b.Y)...)
	}
	return []ast.Expr{x}
}

// stripDefault returns x without its default marker *.
func stripDefault(x ast.Expr) ast.Expr {
	if u, ok := x.(*ast.UnaryExpr); ok && u.Op == token.MUL {
		return u.X
	}
	return x
}

func isLiteral(x ast.Expr) bool {
	switch x := x.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "true" || x.Name == "false" || x.Name == "null"
	}
	return false
}

// regex returns the regular expression of =~"...".
func regex(x ast.Expr) (string, bool) {
	u, ok := x.(*ast.UnaryExpr)
	if !ok || u.Op != token.MAT {
		return "", false
	}
	lit, ok := u.X.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := literal.Unquote(lit.Value)
	if err != nil {
		return "", false
	}
	return s, true
}

func formatExpr(x ast.Expr) string {
	b, err := format.Node(x)
	if err != nil {
		return fmt.Sprintf("%T", x)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// docText joins doc comments into one line.
func docText(docs []*ast.CommentGroup) string {
	var parts []string
	for _, cg := range docs {
		parts = append(parts, strings.Fields(cg.Text())...)
	}
	return strings.Join(parts, " ")
}

// definitionRef is a CUE definition named in prose, such as #Version.
var definitionRef = regexp.MustCompile(`#[A-Z][A-Za-z0-9]*`)

// prose turns comment and rule text into Markdown.
type prose struct {
	// paths matches environment field paths (cluster.runtime,
	// storage.<backend>) after the character that precedes them.
	paths *regexp.Regexp
}

// newProse recognises the paths that start with a field of #Environment.
func newProse(schema cue.Value) (prose, error) {
	iter, err := schema.LookupPath(cue.ParsePath("#Environment")).Fields(cue.Optional(true))
	if err != nil {
		return prose{}, fmt.Errorf("#Environment: %w", err)
	}
	var names []string
	for iter.Next() {
		names = append(names, regexp.QuoteMeta(iter.Selector().Unquoted()))
	}
	return prose{paths: regexp.MustCompile(`(^|[^\w./@-])((?:` + strings.Join(names, "|") + `)(?:\.[A-Za-z0-9<>]+)+)`)}, nil
}

// text escapes s for Markdown and shows field paths and definition names
// as code; `code spans` already in s are left alone.
func (p prose) text(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		var b strings.Builder
		rest := parts[i]
		for _, m := range p.paths.FindAllStringSubmatchIndex(parts[i], -1) {
			// m[4]:m[5] is the path, after the preceding character.
			off := len(parts[i]) - len(rest)
			b.WriteString(escapeProse(rest[:m[4]-off]))
			b.WriteString("`" + parts[i][m[4]:m[5]] + "`")
			rest = parts[i][m[5]:]
		}
		b.WriteString(escapeProse(rest))
		parts[i] = b.String()
	}
	return strings.Join(parts, "`")
}

// escapeProse escapes what Markdown would take as markup: \, * and _ that
// could start emphasis, and < that could open an HTML tag (<name>). It
// shows definition names as code.
func escapeProse(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		var prev, next byte
		if i > 0 {
			prev = s[i-1]
		}
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case c == '\\' || c == '*':
			b.WriteByte('\\')
		case c == '_' && !(isAlnum(prev) && isAlnum(next)):
			b.WriteByte('\\')
		case c == '<' && (isAlnum(next) || next == '/' || next == '!' || next == '?'):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return definitionRef.ReplaceAllString(b.String(), "`$0`")
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func writeTable(b *bytes.Buffer, rows []row) {
	writeRow(b, "Field", "Type", "Default", "Required", "Description")
	writeRow(b, "---", "---", "---", "---", "---")
	for _, r := range rows {
		writeRow(b, r.path, r.typ, r.def, r.required, r.desc)
	}
	b.WriteString("\n")
}

// cellEscaper keeps a table cell on one line and its | from ending the cell.
var cellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

func writeRow(b *bytes.Buffer, cells ...string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + cellEscaper.Replace(c) + " |")
	}
	b.WriteString("\n")
}
