package image

import (
	"slices"
	"strings"
)

// Match is an image reference found in text: text[Start:End] == Ref.
type Match struct {
	Start, End int
	// Ref is the reference as written in the text, not normalised.
	Ref string
}

// knownRegistries are the public registries whose references Find trusts
// anywhere in a text; hosts under knownRegistrySuffixes count too.
var (
	knownRegistries = map[string]bool{
		"docker.io":                  true,
		"registry-1.docker.io":       true,
		"index.docker.io":            true,
		"quay.io":                    true,
		"gcr.io":                     true,
		"ghcr.io":                    true,
		"registry.k8s.io":            true,
		"k8s.gcr.io":                 true,
		"nvcr.io":                    true,
		"public.ecr.aws":             true,
		"mcr.microsoft.com":          true,
		"us-docker.pkg.dev":          true,
		"registry.redhat.io":         true,
		"registry.access.redhat.com": true,
	}
	knownRegistrySuffixes = []string{".gcr.io", ".pkg.dev"}
)

func knownRegistry(host string) bool {
	host = strings.ToLower(host)
	if knownRegistries[host] {
		return true
	}
	for _, s := range knownRegistrySuffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// Find returns the image references embedded in free text: a ConfigMap's
// YAML or JSON, an environment variable's value, a container argument.
// It is conservative, to rewrite and report only what surely is an image.
// A candidate is a run of the characters of a reference
// ([A-Za-z0-9._/:@-]) that parses (see [Parse]) and is not part of a URL
// ("://"); it is a match when
//
//   - its registry is a well-known public one (with or without a tag: a
//     repository such as Istio's hub "gcr.io/istio-release" or a script's
//     default "ghcr.io/kubeflow/kfp-frontend" is pulled from there too): docker.io,
//     registry-1.docker.io, index.docker.io, quay.io, gcr.io and *.gcr.io,
//     ghcr.io, registry.k8s.io, k8s.gcr.io, nvcr.io, public.ecr.aws,
//     mcr.microsoft.com, *.pkg.dev, registry.redhat.io,
//     registry.access.redhat.com; or
//   - it names no registry, carries a tag or a digest, and is the value of an image key: a YAML or JSON
//     key, a NAME=value variable or a --flag (followed by "=" or a space)
//     whose name contains "image" (but not "pull", "policy" or "secret"):
//     image: x, "image": "x", V2_DRIVER_IMAGE=x, --executor-image x; or
//   - it names no registry, carries a tag or a digest, has an org/name form and is a YAML value or list
//     item whose parent or grandparent key is such an image key, as in
//     Kubeflow's spawner_ui_config: image: {value: x, options: [x, y]}.
//
// Matches are in text order and do not overlap.
func Find(text string) []Match {
	var out []Match
	blocks := &yamlBlocks{text: text}
	forEachToken(text, func(start, end int) {
		if isImage(text, start, end, blocks) {
			out = append(out, Match{Start: start, End: end, Ref: text[start:end]})
		}
	})
	return out
}

// find is [Find] plus the references m serves, in text order.
func (m Mirrors) find(text string) []Match {
	found := Find(text)
	if m.Empty() {
		return found
	}
	prefixes := m.prefixes()
	var out []Match
	next := 0 // index into found
	forEachToken(text, func(start, end int) {
		for next < len(found) && found[next].Start < start {
			out = append(out, found[next])
			next++
		}
		if next < len(found) && found[next].Start == start {
			return
		}
		tok := text[start:end]
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.EqualFold(p, tok) }) {
			return // a mirror itself (Rancher's systemDefaultRegistry), no image
		}
		if ref, err := Parse(tok); err == nil && strings.Contains(tok, "/") && m.Serves(ref) {
			out = append(out, Match{Start: start, End: end, Ref: tok})
		}
	})
	return append(out, found[next:]...)
}

// forEachToken calls fn for every run of reference characters in text,
// without trailing punctuation.
func forEachToken(text string, fn func(start, end int)) {
	for i := 0; i < len(text); {
		if !isRefByte(text[i]) {
			i++
			continue
		}
		start := i
		for i < len(text) && isRefByte(text[i]) {
			i++
		}
		end := i
		for end > start && strings.IndexByte(".:/@", text[end-1]) >= 0 {
			end-- // sentence or YAML key punctuation
		}
		if end > start {
			fn(start, end)
		}
	}
}

// Rewrite replaces every reference [Find] finds in text with fn's result.
// A reference fn returns unchanged keeps its original spelling; a changed
// one gets its fully qualified name ([Ref.Name]) followed by its tag and
// digest as written, so a reference without a tag (a repository, a
// registry prefix) stays without one.
func Rewrite(text string, fn func(Ref) Ref) string {
	var b strings.Builder
	last := 0
	for _, m := range Find(text) {
		ref, err := Parse(m.Ref)
		if err != nil {
			continue // Find only returns references that parse
		}
		to := fn(ref)
		if to == ref {
			continue
		}
		b.WriteString(text[last:m.Start])
		b.WriteString(respell(m.Ref, ref, to))
		last = m.End
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// respell writes to as written was written: its name, then written's tag
// and digest as they stand, when only the name changed.
func respell(written string, from, to Ref) string {
	if from.Tag != to.Tag || from.Digest != to.Digest {
		return to.String()
	}
	return to.Name() + written[len(nameOf(written)):]
}

// nameOf returns the name part of a reference as written, without tag and
// digest.
func nameOf(ref string) string {
	name, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	return name
}

func isRefByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-/:@", c) >= 0
}

// isImage decides whether text[start:end] is an image reference.
func isImage(text string, start, end int, blocks *yamlBlocks) bool {
	tok := text[start:end]
	if strings.Contains(tok, "://") {
		return false
	}
	if _, err := Parse(tok); err != nil {
		return false
	}
	first, _, hasSlash := strings.Cut(tok, "/")
	if hasSlash && isRegistry(first) {
		return knownRegistry(first)
	}
	if last := tok[strings.LastIndexByte(tok, '/')+1:]; !strings.ContainsAny(last, ":@") {
		return false // neither tag nor digest
	}
	key := keyBefore(text, start)
	if isImageKey(key) {
		return true
	}
	if !hasSlash {
		return false
	}
	for _, k := range blocks.ancestors(start, key != "") {
		if isImageKey(k) {
			return true
		}
	}
	return false
}

var keySeparators = strings.NewReplacer("-", "", "_", "", ".", "")

// isImageKey reports whether a key, variable or flag name names an image.
func isImageKey(key string) bool {
	k := strings.ToLower(keySeparators.Replace(key))
	return strings.Contains(k, "image") &&
		!strings.Contains(k, "pull") && !strings.Contains(k, "policy") && !strings.Contains(k, "secret")
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// keyBefore returns the key whose value starts at start: the YAML or JSON
// key before ':' (image: x, "image": "x"), the name before '='
// (IMAGE=x, --image=x), or a --flag separated by blanks (--image x); ""
// when there is none.
func keyBefore(text string, start int) string {
	j := start
	if j > 0 && (text[j-1] == '"' || text[j-1] == '\'') {
		j--
	}
	k := j
	for k > 0 && isBlank(text[k-1]) {
		k--
	}
	if k > 0 && (text[k-1] == ':' || text[k-1] == '=') {
		k--
		for k > 0 && isBlank(text[k-1]) {
			k--
		}
		if k > 0 && (text[k-1] == '"' || text[k-1] == '\'') {
			k--
		}
		e := k
		for k > 0 && isKeyByte(text[k-1]) {
			k--
		}
		return text[k:e]
	}
	if k < j {
		e := k
		for k > 0 && !isBlank(text[k-1]) && text[k-1] != '\n' {
			k--
		}
		if flag := text[k:e]; len(flag) > 1 && flag[0] == '-' && strings.IndexFunc(flag, func(r rune) bool { return r > 127 || !isKeyByte(byte(r)) }) < 0 {
			return flag
		}
	}
	return ""
}

// yamlLine is one line of YAML as far as yamlBlocks needs it.
type yamlLine struct {
	indent  int    // column of the first non-blank character
	item    bool   // the line starts a sequence item ("- ")
	key     string // the mapping key on the line, after any "- "
	keyCol  int    // column of the key
	opener  bool   // the line is "key:" with no value: it opens a block
	content bool   // the line is neither blank nor a comment
}

func parseYAMLLine(l string) yamlLine {
	var y yamlLine
	for y.indent < len(l) && l[y.indent] == ' ' {
		y.indent++
	}
	rest := l[y.indent:]
	if rest == "" || rest[0] == '#' {
		return y
	}
	y.content = true
	y.keyCol = y.indent
	if rest == "-" || strings.HasPrefix(rest, "- ") {
		y.item = true
		n := len(rest)
		rest = strings.TrimLeft(rest[1:], " ")
		y.keyCol += n - len(rest)
	}
	key, value, ok := strings.Cut(rest, ":")
	if !ok || (value != "" && value[0] != ' ') {
		return y
	}
	key = strings.Trim(key, `"'`)
	if key == "" || strings.ContainsAny(key, " \t{}[],") {
		return y
	}
	y.key = key
	value = strings.TrimSpace(value)
	y.opener = value == "" || value[0] == '#'
	return y
}

// yamlBlocks follows the block structure of a text read as YAML, line by
// line and forward only, keeping the stack of open "key:" blocks. It is
// linear in the size of the text however many references Find checks.
type yamlBlocks struct {
	text  string
	next  int // offset of the first line not read yet
	stack []yamlBlock
}

type yamlBlock struct {
	key string
	col int // column of the key
}

// readTo reads the lines up to and including the one starting at
// lineStart, which must not be before the lines already read.
func (b *yamlBlocks) readTo(lineStart int) {
	for b.next <= lineStart && b.next < len(b.text) {
		end := strings.IndexByte(b.text[b.next:], '\n')
		if end < 0 {
			end = len(b.text)
		} else {
			end += b.next
		}
		y := parseYAMLLine(b.text[b.next:end])
		b.next = end + 1
		if !y.content {
			continue
		}
		// A line closes the blocks it is not inside: it is inside a block
		// when it is indented more than the block's key or, for a sequence
		// item, as much (a compact sequence: "key:" then "- item").
		for n := len(b.stack); n > 0; n-- {
			top := b.stack[n-1]
			if y.indent > top.col || y.item && y.indent == top.col {
				break
			}
			b.stack = b.stack[:n-1]
		}
		if y.opener {
			b.stack = append(b.stack, yamlBlock{key: y.key, col: y.keyCol})
		}
	}
}

// ancestors returns up to two keys of the YAML blocks enclosing the value
// at start, innermost first, when that value is a sequence item ("- x") or
// the value of a key ("key: x", hasKey); nil otherwise.
func (b *yamlBlocks) ancestors(start int, hasKey bool) []string {
	lineStart := strings.LastIndexByte(b.text[:start], '\n') + 1
	prefix := strings.TrimRight(b.text[lineStart:start], `"' `)
	cur := parseYAMLLine(prefix)
	if !(hasKey && cur.key != "" || !hasKey && strings.TrimSpace(prefix) == "-") {
		return nil
	}
	b.readTo(lineStart)
	var keys []string
	for i := len(b.stack) - 1; i >= 0 && len(keys) < 2; i-- {
		keys = append(keys, b.stack[i].key)
	}
	return keys
}
