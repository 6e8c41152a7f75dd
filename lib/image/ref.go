package image

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrInvalid is wrapped by the errors of [Parse].
var ErrInvalid = errors.New("invalid image reference")

// Docker's defaults, as in github.com/distribution/reference.
const (
	// DefaultRegistry is the registry of references that name none.
	DefaultRegistry = "docker.io"
	// DefaultTag is the tag of references that have neither tag nor digest.
	DefaultTag = "latest"

	legacyDefaultRegistry = "index.docker.io"
	officialRepoPrefix    = "library/"
	maxNameLength         = 255
)

// The reference grammar of github.com/distribution/reference.
var (
	domainRe = regexp.MustCompile(`^(?:` +
		`(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*` +
		`|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
	pathComponentRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	tagRe           = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)
	digestRe        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$`)
	hexRe           = regexp.MustCompile(`^[a-f0-9]+$`)
)

// Ref is a parsed, normalised image reference.
type Ref struct {
	// Registry is the registry host, with its port if any: "docker.io",
	// "quay.io", "nexus.bank.local:8443".
	Registry string
	// Repository is the path inside the registry: "library/busybox",
	// "argoproj/argoexec".
	Repository string
	// Tag is the tag; "latest" when the reference has neither tag nor
	// digest, "" when it has a digest only.
	Tag string
	// Digest is the content digest, "sha256:<hex>", or "".
	Digest string
}

// Parse parses an image reference the way Docker and containerd do: a
// reference without registry is on docker.io, and a single-segment
// repository there is an official image under library/. The first path
// segment is the registry when it contains a '.' or a ':', is "localhost",
// or has upper-case letters. The tag defaults to "latest" only when there
// is neither a tag nor a digest. index.docker.io is normalised to
// docker.io, as Docker does.
func Parse(ref string) (Ref, error) {
	invalid := func(why string) (Ref, error) {
		return Ref{}, fmt.Errorf("image %q: %w: %s", ref, ErrInvalid, why)
	}
	if ref == "" {
		return invalid("empty")
	}
	if strings.ContainsAny(ref, " \t\r\n") {
		return invalid("contains white space")
	}
	name, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest {
		if err := checkDigest(digest); err != nil {
			return invalid(err.Error())
		}
	}
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
		if !tagRe.MatchString(tag) {
			return invalid(fmt.Sprintf("invalid tag %q", tag))
		}
	}
	if name == "" {
		return invalid("no repository")
	}
	if len(name) > maxNameLength {
		return invalid(fmt.Sprintf("name longer than %d characters", maxNameLength))
	}
	registry, repo := splitRegistry(name)
	if registry != "" && !domainRe.MatchString(registry) {
		return invalid(fmt.Sprintf("invalid registry %q", registry))
	}
	if repo == "" {
		return invalid("no repository")
	}
	for _, c := range strings.Split(repo, "/") {
		if pathComponentRe.MatchString(c) {
			continue
		}
		if pathComponentRe.MatchString(strings.ToLower(c)) {
			return invalid("repository name must be lowercase")
		}
		return invalid(fmt.Sprintf("invalid repository path component %q", c))
	}
	if registry == "" || registry == legacyDefaultRegistry {
		registry = DefaultRegistry
	}
	if registry == DefaultRegistry && !strings.Contains(repo, "/") {
		repo = officialRepoPrefix + repo
	}
	if tag == "" && !hasDigest {
		tag = DefaultTag
	}
	return Ref{Registry: registry, Repository: repo, Tag: tag, Digest: digest}, nil
}

// splitRegistry splits name into registry and repository; registry is ""
// when name has none.
func splitRegistry(name string) (registry, repo string) {
	first, rest, ok := strings.Cut(name, "/")
	if !ok || !isRegistry(first) {
		return "", name
	}
	return first, rest
}

// isRegistry reports whether the first segment of a name is a registry.
func isRegistry(segment string) bool {
	return strings.ContainsAny(segment, ".:") || segment == "localhost" || strings.ToLower(segment) != segment
}

func checkDigest(d string) error {
	if !digestRe.MatchString(d) {
		return fmt.Errorf("invalid digest %q", d)
	}
	alg, hex, _ := strings.Cut(d, ":")
	want := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	if want != 0 && (len(hex) != want || !hexRe.MatchString(hex)) {
		return fmt.Errorf("invalid digest %q: %s needs %d lower-case hex digits", d, alg, want)
	}
	return nil
}

// Name returns the fully qualified name without tag and digest:
// "docker.io/library/busybox".
func (r Ref) Name() string {
	return r.Registry + "/" + r.Repository
}

// String returns the fully qualified reference:
// "docker.io/library/busybox:1.36",
// "quay.io/argoproj/argoexec:v3.7.3@sha256:…".
func (r Ref) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}
