package secrets

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/manifest"
)

const (
	// Dir is the directory of an environment that holds its encrypted Secrets.
	Dir = "secrets"
	// ComponentName is the component the decrypted Secrets are applied as.
	ComponentName = "secrets"
	// maxFile bounds a file: a Secret's data is at most 1 MiB.
	maxFile = 2 << 20
)

// File is one encrypted Secret as it is in git: the Secret's identity
// and key names readable, its values encrypted.
type File struct {
	// Path names the file in messages: relative to the repository root,
	// slash-separated (environments/prod/secrets/grafana.yaml).
	Path      string
	Namespace string
	Name      string
	// Keys are the names under data and stringData, sorted.
	Keys []string
	raw  []byte
}

// Problem is a file under secrets/ that is not one encrypted Secret.
type Problem struct {
	Path string
	// Key is the field concerned (data.password), if any.
	Key     string
	Message string
}

func (p Problem) Error() string {
	if p.Key != "" {
		return p.Path + ": " + p.Key + ": " + p.Message
	}
	return p.Path + ": " + p.Message
}

// lineOf finds the line a parse error names.
var lineOf = regexp.MustCompile(`line \d+`)

// encrypted is how sops writes an encrypted value.
var encrypted = regexp.MustCompile(`^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]$`)

// Load reads the encrypted Secrets of the environment in envDir (a
// directory under root), without decrypting them: the files that are
// encrypted Secrets, and a problem for every one that is not (a
// plaintext value, no sops metadata, not one Secret). The error is a
// failure to read the directory at all.
func Load(root, envDir string) ([]File, []Problem, error) {
	dir := filepath.Join(envDir, Dir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", rel(root, dir), err)
	}
	var files []File
	var problems []Problem
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		name := rel(root, path)
		switch {
		case e.IsDir() || strings.HasPrefix(e.Name(), "."):
			continue
		case !strings.HasSuffix(e.Name(), ".yaml"):
			problems = append(problems, Problem{Path: name, Message: "only *.yaml files, each one encrypted Secret, belong in " + Dir + "/"})
			continue
		case !e.Type().IsRegular():
			problems = append(problems, Problem{Path: name, Message: "is not a regular file (a symlink?): write the encrypted Secret itself here"})
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		f, found := check(name, data)
		if len(found) > 0 {
			problems = append(problems, found...)
			continue
		}
		files = append(files, f)
	}
	return files, problems, nil
}

// check reads one file as an encrypted Secret.
func check(name string, data []byte) (File, []Problem) {
	f := File{Path: name, raw: data}
	fail := func(key, msg string) (File, []Problem) {
		return f, []Problem{{Path: name, Key: key, Message: msg}}
	}
	if len(data) > maxFile {
		return fail("", fmt.Sprintf("is %d bytes, more than a Secret can hold", len(data)))
	}
	// manifest.Parse's errors can quote the input, which may be a
	// plaintext value: only the line is kept.
	objs, err := manifest.Parse(data)
	if err != nil {
		where := ""
		if m := lineOf.FindString(err.Error()); m != "" {
			where = " (" + m + ")"
		}
		return fail("", "is not one Kubernetes object in YAML"+where)
	}
	if len(objs) != 1 {
		return fail("", fmt.Sprintf("holds %d objects: write one Secret per file", len(objs)))
	}
	o := objs[0]
	if strings.HasPrefix(o.GetKind(), "ENC[") {
		return fail("", "is encrypted whole: encrypt only the values, with --encrypted-regex '^(data|stringData)$'")
	}
	if o.GetAPIVersion() != "v1" || o.GetKind() != "Secret" {
		return fail("", fmt.Sprintf("is a %s %s, not a v1 Secret", o.GetAPIVersion(), o.GetKind()))
	}
	f.Name, f.Namespace = o.GetName(), o.GetNamespace()
	var problems []Problem
	add := func(key, msg string) { problems = append(problems, Problem{Path: name, Key: key, Message: msg}) }
	meta, _ := o.Object["sops"].(map[string]any)
	if meta == nil {
		// The values are not quoted: this file holds them in plaintext.
		return fail("", "has no sops metadata: it is not encrypted; encrypt it with sops --encrypt --age RECIPIENT --encrypted-regex '^(data|stringData)$' --in-place "+name+", and rewrite the credentials it held (they are in the git history)")
	}
	if ages, _ := meta["age"].([]any); len(ages) == 0 {
		add("sops", "names no age recipient: encrypt it for age (sops --age RECIPIENT)")
	}
	for _, field := range []string{"metadata.name", "metadata.namespace"} {
		v, _, _ := unstructured.NestedString(o.Object, strings.Split(field, ".")...)
		switch {
		case v == "":
			add(field, "is missing: name the Secret and its namespace")
		case strings.HasPrefix(v, "ENC["):
			add(field, "is encrypted: encrypt only the values, with --encrypted-regex '^(data|stringData)$'")
		}
	}
	for _, section := range []string{"data", "stringData"} {
		values, ok := o.Object[section].(map[string]any)
		if !ok && o.Object[section] != nil {
			add(section, "is not a map of keys to values")
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(values)) {
			f.Keys = append(f.Keys, k)
			if s, ok := values[k].(string); !ok || !encrypted.MatchString(s) {
				add(section+"."+k, "is not encrypted (no ENC[...] value): encrypt the file with sops, and rewrite the credential (it is in the git history)")
			}
		}
	}
	if len(problems) > 0 {
		return f, problems
	}
	sort.Strings(f.Keys)
	f.Keys = slices.Compact(f.Keys)
	return f, nil
}

// rel names path relative to root, slash-separated.
func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}
