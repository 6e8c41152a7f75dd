package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Parse decodes a stream of Kubernetes objects: YAML documents separated by
// "---" lines, or a sequence of JSON objects.
//
// Empty and comment-only documents are skipped, and the items of a List
// (kind "List" or any kind ending in "List" with an items list) are
// flattened into the result; items of a typed list such as ConfigMapList
// that lack apiVersion or kind take them from the list. Every object must
// have an apiVersion, a kind and a metadata.name: a metadata.generateName
// alone is an error too, as plinth applies with server-side apply, which
// needs a name.
//
// A mapping with the same key twice is an error (YAML and JSON decoders
// would silently keep one value, so what is applied would not be what is
// read), and so is a document nested deeper than 10,000 levels or one whose
// aliases expand excessively (the YAML and JSON decoders' own limits). One
// bad document rejects the whole stream: Parse returns no objects.
//
// Errors name the document (counting from 1, empty documents not counted)
// and the line it starts on, e.g. "document 3 (line 42): missing kind".
func Parse(data []byte) ([]*unstructured.Unstructured, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	docs, err := split(data)
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	for i, d := range docs {
		found, err := decodeDocument(d.json)
		if err != nil {
			return nil, fmt.Errorf("document %d (line %d): %w", i+1, d.line, err)
		}
		objs = append(objs, found...)
	}
	return objs, nil
}

// document is one non-empty document of a stream, as JSON.
type document struct {
	line int // line of the stream the document starts on, from 1
	json []byte
}

// split cuts a stream into its non-empty documents, converted to JSON. A
// stream that starts with '{' is a sequence of JSON values, unless it has
// "---" separator lines: then it is YAML, whose documents may be JSON.
func split(data []byte) ([]document, error) {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		docs, err := splitJSON(data)
		if err == nil || !hasSeparator(data) {
			return docs, err
		}
	}
	return splitYAML(data)
}

func hasSeparator(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if isSeparator(line) {
			return true
		}
	}
	return false
}

// splitJSON reads a sequence of JSON values.
func splitJSON(data []byte) ([]document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []document
	line, counted := 1, 0 // line of data[counted]
	for n := 1; ; n++ {
		start := int(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		// The value starts after the whitespace the decoder skipped.
		start += len(data[start:]) - len(bytes.TrimLeft(data[start:], " \t\r\n"))
		line += bytes.Count(data[counted:start], []byte("\n"))
		counted = start
		if err != nil {
			return nil, fmt.Errorf("document %d (line %d): %w", n, line, err)
		}
		if string(raw) == "null" {
			n--
			continue
		}
		docs = append(docs, document{line: line, json: raw})
	}
}

// splitYAML cuts a YAML stream at its "---" separator lines. A line is a
// separator when it starts with "---" and the rest is blank or a comment,
// as in the Kubernetes YAML reader.
func splitYAML(data []byte) ([]document, error) {
	// Cut the stream into the text of its documents, then convert them to
	// JSON concurrently (the conversion is most of Parse's time on a large
	// chart), and number them in order, skipping empty ones.
	type raw struct {
		text         []byte
		first, begin int // first content line; line the text begins on
		json         []byte
		err          error
	}
	var raws []*raw
	var cur bytes.Buffer
	first := 0 // first content line of the current document; 0 while there is none
	begin := 1 // line of the stream the current document's text begins on
	flush := func() {
		if first != 0 { // else nothing but blank lines and comments
			raws = append(raws, &raw{text: bytes.Clone(cur.Bytes()), first: first, begin: begin})
		}
		cur.Reset()
	}
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			l, data = data, nil
		}
		if isSeparator(l) {
			flush()
			first, begin = 0, line+1
			continue
		}
		if first == 0 {
			if t := strings.TrimSpace(string(l)); t != "" && !strings.HasPrefix(t, "#") {
				first = line
			}
		}
		cur.Write(l)
	}
	flush()

	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, r := range raws {
		g.Go(func() error {
			if r.err = trailingJSON(r.text); r.err == nil {
				r.json, r.err = yamlToJSON(r.text)
				if r.err != nil {
					r.err = streamLine(r.err, r.begin)
				}
			}
			return nil
		})
	}
	g.Wait() // every goroutine returns nil: errors are kept per item

	var docs []document
	for _, r := range raws {
		if r.err != nil {
			return nil, fmt.Errorf("document %d (line %d): %w", len(docs)+1, r.first, r.err)
		}
		if string(bytes.TrimSpace(r.json)) == "null" {
			continue
		}
		docs = append(docs, document{line: r.first, json: r.json})
	}
	return docs, nil
}

// yamlToJSON converts one YAML document, refusing duplicate mapping keys.
//
// Not caught: two keys of different YAML types that become the same JSON
// key, such as 1 and "1" or true and "true" (sigs.k8s.io/yaml keeps one,
// and its strict mode compares the typed keys); finding them would take a
// second parse of every document.
func yamlToJSON(doc []byte) ([]byte, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err == nil || !dupKeyRe.MatchString(err.Error()) || !bytes.Contains(doc, []byte("<<")) {
		return j, err
	}
	// yaml.v2's strict mode also counts a key that overrides one merged in
	// with "<<" as a duplicate, which YAML allows: look at the document's
	// own mappings before refusing it.
	if dupErr := duplicateKey(doc); dupErr != nil {
		return nil, dupErr
	}
	return yaml.YAMLToJSON(doc)
}

// duplicateKey reports the first mapping of doc that has a key twice,
// merge keys aside, in the words of yaml.v2's strict mode (lines counted
// in doc), for streamLine to rewrite.
func duplicateKey(doc []byte) error {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc, &root); err != nil {
		return err
	}
	var walk func(n *yamlv3.Node) error
	walk = func(n *yamlv3.Node) error {
		if n.Kind == yamlv3.MappingNode {
			seen := make(map[string]bool, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yamlv3.ScalarNode || k.Tag == "!!merge" {
					continue
				}
				if seen[k.Value] {
					return fmt.Errorf("yaml: unmarshal errors:\n  line %d: key %q already set in map", k.Line, k.Value)
				}
				seen[k.Value] = true
			}
		}
		// Alias nodes are not followed: the anchored node is checked where
		// it is defined, and following them could expand exponentially.
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(&root)
}

// dupKeyRe matches yaml.v2's strict-mode report of a duplicate key.
// The key is printed with %#v: quoted if a string, bare if YAML 1.1 made
// it a boolean or a number ("yes", "on", "1").
var dupKeyRe = regexp.MustCompile(`line (\d+): key (.+) already set in map`)

// yamlLineRe matches the line number in the YAML decoder's errors.
var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): `)

// streamLine rewrites the YAML decoder's "yaml: line N: ..." error, whose N
// counts from the start of the document, to count from the start of the
// stream; begin is the stream line the document begins on.
func streamLine(err error, begin int) error {
	if m := dupKeyRe.FindStringSubmatch(err.Error()); m != nil {
		// "yaml: unmarshal errors:\n  line N: key "x" already set in map"
		n, convErr := strconv.Atoi(m[1])
		if convErr != nil {
			return err
		}
		return fmt.Errorf("line %d: duplicate key %s", begin+n-1, m[2])
	}
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	n, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return err
	}
	return fmt.Errorf("line %d: %s", begin+n-1, strings.TrimPrefix(err.Error(), m[0]))
}

// trailingJSON rejects a YAML document that is a JSON object followed by
// more content: the YAML decoder would silently drop what follows.
func trailingJSON(doc []byte) error {
	trimmed := bytes.TrimLeft(doc, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw json.RawMessage
	if dec.Decode(&raw) != nil {
		return nil // not JSON but YAML flow style: the YAML decoder judges it
	}
	for _, line := range bytes.Split(trimmed[dec.InputOffset():], []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return fmt.Errorf("unexpected content after the JSON object: %q", truncate(t, 40))
		}
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func isSeparator(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := bytes.TrimSpace(line[3:])
	return len(rest) == 0 || rest[0] == '#'
}

// decodeDocument turns one JSON document into objects.
func decodeDocument(data []byte) ([]*unstructured.Unstructured, error) {
	var v interface{}
	// The options of apimachinery's json.Unmarshal (case-sensitive, integers
	// kept as int64) plus duplicate fields, which only JSON documents can
	// still have: YAML documents were checked when converted.
	strict, err := kjson.UnmarshalStrict(data, &v, kjson.DisallowDuplicateFields)
	if err != nil {
		return nil, err
	}
	if len(strict) > 0 {
		return nil, strict[0]
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("not an object but %s", describe(v))
	}
	return objects(m, "", "")
}

// objects validates one decoded object, or flattens a List. listVersion and
// listKind are those of the enclosing typed list, if any.
func objects(m map[string]interface{}, listVersion, listKind string) ([]*unstructured.Unstructured, error) {
	if _, ok := m["apiVersion"]; !ok && listVersion != "" {
		m["apiVersion"] = listVersion
	}
	if _, ok := m["kind"]; !ok && listKind != "" {
		m["kind"] = listKind
	}
	apiVersion, err := requiredString(m, "apiVersion")
	if err != nil {
		return nil, err
	}
	kind, err := requiredString(m, "kind")
	if err != nil {
		return nil, err
	}
	if items, ok := m["items"].([]interface{}); ok && strings.HasSuffix(kind, "List") {
		itemKind := ""
		if kind != "List" {
			itemKind = strings.TrimSuffix(kind, "List")
		}
		var objs []*unstructured.Unstructured
		for i, it := range items {
			im, ok := it.(map[string]interface{})
			if !ok {
				return nil, fmt.Errorf("%s item %d: not an object but %s", kind, i+1, describe(it))
			}
			itemVersion := ""
			if itemKind != "" {
				itemVersion = apiVersion
			}
			found, err := objects(im, itemVersion, itemKind)
			if err != nil {
				return nil, fmt.Errorf("%s item %d: %w", kind, i+1, err)
			}
			objs = append(objs, found...)
		}
		return objs, nil
	}
	meta, ok := m["metadata"].(map[string]interface{})
	if !ok {
		if _, present := m["metadata"]; present {
			return nil, fmt.Errorf("%s: metadata is not an object", kind)
		}
		return nil, fmt.Errorf("%s: missing metadata.name", kind)
	}
	name, _ := meta["name"].(string)
	if name == "" {
		if g, _ := meta["generateName"].(string); g != "" {
			return nil, fmt.Errorf("%s %q: metadata.generateName without metadata.name: server-side apply needs a fixed name", kind, g)
		}
		if _, present := meta["name"]; present {
			return nil, fmt.Errorf("%s: metadata.name is not a non-empty string", kind)
		}
		return nil, fmt.Errorf("%s: missing metadata.name", kind)
	}
	if ns, present := meta["namespace"]; present {
		if _, ok := ns.(string); !ok && ns != nil {
			return nil, fmt.Errorf("%s %s: metadata.namespace is not a string", kind, name)
		}
	}
	return []*unstructured.Unstructured{{Object: m}}, nil
}

func requiredString(m map[string]interface{}, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", fmt.Errorf("missing %s", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is not a string but %s", key, describe(v))
	}
	if s == "" {
		return "", fmt.Errorf("missing %s", key)
	}
	return s, nil
}

func describe(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []interface{}:
		return "a list"
	case map[string]interface{}:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
