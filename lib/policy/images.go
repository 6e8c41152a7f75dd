package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The image scan is the independent check of render's image rewrite: it
// shares no code with lib/image (which locates and rewrites images by a
// table of fields), reads every string of every object instead of known
// fields, and parses with github.com/distribution/reference. What the
// rewrite misses (a kind or a field its table does not know, a script's
// default) is a hit here.

// publicRegistries are the registries a reference is surely public on.
var publicRegistries = []string{
	"docker.io", "index.docker.io", "registry-1.docker.io",
	"gcr.io", "ghcr.io", "quay.io", "nvcr.io", "registry.k8s.io", "k8s.gcr.io",
	"public.ecr.aws", "mcr.microsoft.com", "cgr.dev", "registry.redhat.io",
	"registry.access.redhat.com",
}

// publicRegistrySuffixes are domains whose hosts are public registries
// (eu.gcr.io, europe-docker.pkg.dev).
var publicRegistrySuffixes = []string{".gcr.io", ".pkg.dev"}

// dockerHubShorthand is "org/repo:tag" or "org/repo@digest" with no
// registry: Docker Hub's short form, as Kubeflow writes its images. The
// organisation has no '.' (that would be a registry host).
var dockerHubShorthand = regexp.MustCompile(`^[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$`)

// maxReferenceLength bounds what can be a reference (a 255-character
// name, a 128-character tag, a digest).
const maxReferenceLength = 512

// ImageRef is an image reference [ScanImages] found.
type ImageRef struct {
	// Path is the field that holds it.
	Path string
	// Value is the reference as found: the whole field for an "image"
	// key, else the run of reference characters around it.
	Value string
	// Mirrored is set when Value lies under one of the mirrors.
	Mirrored bool
}

// ScanImages returns the image references in every string value of o, in
// field order: a reference under one of mirrors (a registry prefix, "host[:port][/path]"),
// a reference on a public registry (publicRegistries, *.gcr.io, *.pkg.dev,
// written with or without a tag: a repository prefix such as Istio's hub
// is pulled from there too), Docker Hub shorthand with a tag or digest
// ("org/repo:tag"), and the whole value of any field named "image" that
// parses as a reference (unless a "repository" beside it makes it the last
// part of a name). Text is cut into runs of the characters of a
// reference ([A-Za-z0-9._/:@-]); a run that starts with a URL scheme
// ("https://quay.io/...") is a link, not an image. Map keys are not read.
func ScanImages(o *unstructured.Unstructured, mirrors []string) []ImageRef {
	var out []ImageRef
	scanValue(o.Object, "", "", mirrors, &out)
	return out
}

func scanValue(v any, path, key string, mirrors []string, out *[]ImageRef) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		// {repository, image, version} (the GPU operator's operands): the
		// image is the last part of a name whose repository is read as text.
		_, split := v["repository"].(string)
		for _, k := range keys {
			key := k
			if split && k == "image" {
				key = ""
			}
			scanValue(v[k], fieldPath(path, k), key, mirrors, out)
		}
	case []any:
		for i, el := range v {
			scanValue(el, fmt.Sprintf("%s[%d]", path, i), "", mirrors, out)
		}
	case string:
		if key == "image" && len(v) <= maxReferenceLength {
			if _, err := reference.ParseNormalizedNamed(v); err == nil {
				*out = append(*out, ImageRef{Path: path, Value: v, Mirrored: underMirror(v, mirrors)})
				return
			}
		}
		scanText(v, path, mirrors, out)
	}
}

func scanText(s, path string, mirrors []string, out *[]ImageRef) {
	for i := 0; i < len(s); {
		if !isReferenceByte(s[i]) {
			i++
			continue
		}
		start := i
		for i < len(s) && isReferenceByte(s[i]) {
			i++
		}
		tok := strings.TrimRight(s[start:i], ".:/@-")
		if tok == "" || len(tok) > maxReferenceLength || strings.Contains(tok, "://") {
			continue
		}
		switch {
		case underMirror(tok, mirrors):
			*out = append(*out, ImageRef{Path: path, Value: tok, Mirrored: true})
		case onPublicRegistry(tok) || shorthand(tok):
			if _, err := reference.ParseNormalizedNamed(tok); err == nil {
				*out = append(*out, ImageRef{Path: path, Value: tok})
			}
		}
	}
}

// shorthand reports whether tok is Docker Hub shorthand; most tokens
// have no '/' and a ':' or '@', and skip the expression.
func shorthand(tok string) bool {
	return strings.IndexByte(tok, '/') > 0 && strings.ContainsAny(tok, ":@") && dockerHubShorthand.MatchString(tok)
}

func isReferenceByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-/:@", c) >= 0
}

// onPublicRegistry reports whether tok is a path on a public registry.
func onPublicRegistry(tok string) bool {
	host, path, ok := strings.Cut(tok, "/")
	if !ok || path == "" {
		return false
	}
	host = strings.ToLower(host)
	if slices.Contains(publicRegistries, host) {
		return true
	}
	for _, suffix := range publicRegistrySuffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// underMirror reports whether ref starts with one of the mirror prefixes
// (host compared case-insensitively).
func underMirror(ref string, mirrors []string) bool {
	for _, m := range mirrors {
		m = strings.Trim(m, "/")
		if m != "" && len(ref) > len(m) && strings.EqualFold(ref[:len(m)], m) && ref[len(m)] == '/' {
			return true
		}
	}
	return false
}

// imageMirror reports, in an air-gapped environment, every image
// reference [ScanImages] finds off the mirrors, except those the
// environment allows (network.mirrors.allow).
//
// Secrets are not scanned: no rule reads a Secret's data (package doc).
func (c *checker) imageMirror(o object, report reportFunc) {
	if o.u.GetKind() == "Secret" && o.u.GetAPIVersion() == "v1" {
		return
	}
	for _, r := range ScanImages(o.u, c.facts.Mirrors) {
		if r.Mirrored || slices.Contains(c.facts.MirrorAllow, r.Value) {
			continue
		}
		value := fmt.Sprintf("%q", r.Value)
		if len(c.facts.Mirrors) == 0 {
			report(RuleImageMirror, r.Path, fmt.Sprintf("image %s at %s is pulled from the internet: the air-gapped environment has no image mirror (set network.mirrors.images)", value, r.Path))
			continue
		}
		report(RuleImageMirror, r.Path, fmt.Sprintf("image %s at %s is off the mirror: if a node pulls it, plinth's image locator misses this field (report it); if none does, add it to network.mirrors.allow with the reason", value, r.Path))
	}
}
