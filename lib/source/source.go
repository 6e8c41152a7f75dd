package source

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
)

// Kinds of source, as [Source.Kind] and [Locked.Kind] report them.
const (
	KindHelm = "helm"
	KindGit  = "git"
)

// Source is one thing to fetch: a Helm chart (Repo, Chart, Version) or a git
// repository (URL, Ref). Exactly one of the two groups is set.
type Source struct {
	// Repo is the chart repository: an HTTP(S) Helm repository serving
	// index.yaml, e.g. "https://prometheus-community.github.io/helm-charts",
	// or an OCI registry path, e.g. "oci://ghcr.io/prometheus-community/charts".
	Repo string
	// Chart is the chart's name, e.g. "kube-prometheus-stack".
	Chart string
	// Version is the exact chart version, e.g. "88.5.3". Ranges are refused:
	// plinth pins.
	Version string

	// URL is the git repository, e.g. "https://github.com/kubeflow/manifests".
	URL string
	// Ref is a tag ("26.03"), a branch or a 40-hex commit. A name that is
	// both a tag and a branch means the tag, as in git.
	Ref string
}

// Kind returns [KindHelm] when any of Repo, Chart or Version is set and
// [KindGit] otherwise.
func (s Source) Kind() string {
	if s.Repo != "" || s.Chart != "" || s.Version != "" {
		return KindHelm
	}
	return KindGit
}

// Key returns the source's stable identity, the key of its entry in the
// lock: "helm:<repo>#<chart>@<version>" or "git:<url>@<ref>", with any
// trailing slash of the repository or URL removed, e.g.
// "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3"
// or "git:https://github.com/kubeflow/manifests@26.03".
func (s Source) Key() string {
	if s.Kind() == KindHelm {
		return "helm:" + strings.TrimRight(s.Repo, "/") + "#" + s.Chart + "@" + s.Version
	}
	return "git:" + strings.TrimRight(s.URL, "/") + "@" + s.Ref
}

// String names the source the way errors do: "chart kube-prometheus-stack
// 88.5.3" or "git https://github.com/kubeflow/manifests@26.03".
func (s Source) String() string {
	if s.Kind() == KindHelm {
		return "chart " + s.Chart + " " + s.Version
	}
	return "git " + strings.TrimRight(s.URL, "/") + "@" + s.Ref
}

var (
	chartNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	commitPattern    = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// Validate reports what is wrong with the source: a missing or mixed field,
// a repository or URL that is not absolute http(s) (or oci for charts) or
// that carries credentials, a query or a ".." element, a chart name that is
// not a plain name, a version that is not one exact semantic version, or a
// git ref that git would not accept.
func (s Source) Validate() error {
	var errs []error
	if s.Kind() == KindHelm {
		if s.URL != "" || s.Ref != "" {
			errs = append(errs, errors.New("both chart fields (repo, chart, version) and git fields (url, ref) are set"))
		}
		if _, err := parseRemote(s.Repo, "http", "https", "oci"); err != nil {
			errs = append(errs, fmt.Errorf("repo: %w", err))
		}
		switch {
		case s.Chart == "":
			errs = append(errs, errors.New("chart name is empty"))
		case !chartNamePattern.MatchString(s.Chart) || strings.Contains(s.Chart, ".."):
			errs = append(errs, fmt.Errorf("chart name %q is not a plain name", s.Chart))
		}
		if err := validateVersion(s.Version); err != nil {
			errs = append(errs, err)
		}
	} else {
		if u, err := parseRemote(s.URL, "http", "https", "ssh"); err != nil {
			errs = append(errs, fmt.Errorf("url: %w", err))
		} else if _, p := hostPath(u); strings.TrimSuffix(p, ".git") == "" {
			errs = append(errs, fmt.Errorf("url: %q has no repository path", s.URL))
		} else if strings.Contains(p, "@") {
			errs = append(errs, fmt.Errorf("url: %q has an @ in its path", s.URL))
		}
		if err := validateRef(s.Ref); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	return nil
}

func validateVersion(v string) error {
	if v == "" {
		return errors.New("chart version is empty")
	}
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v")); err != nil {
		return fmt.Errorf("chart version %q is not one exact semantic version (plinth pins; ranges are not allowed)", v)
	}
	return nil
}

func validateRef(ref string) error {
	switch {
	case ref == "":
		return errors.New("git ref is empty")
	case commitPattern.MatchString(ref):
		return nil
	case strings.HasPrefix(ref, "-") || strings.HasPrefix(ref, "refs/"):
		return fmt.Errorf("git ref %q is not a tag, branch or 40-hex commit", ref)
	}
	if plumbing.NewTagReferenceName(ref).Validate() != nil {
		return fmt.Errorf("git ref %q is not a valid tag or branch name", ref)
	}
	return nil
}

// parseRemote parses an absolute URL with one of the schemes, a host, and a
// path without "..", credentials, query or fragment.
func parseRemote(raw string, schemes ...string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	ok := false
	for _, s := range schemes {
		ok = ok || u.Scheme == s
	}
	switch {
	case !ok:
		return nil, fmt.Errorf("%q: scheme must be %s", raw, strings.Join(schemes, ", "))
	case u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil && u.Scheme != "ssh":
		return nil, fmt.Errorf("%s://%s…: credentials in the URL are not allowed", u.Scheme, u.Host)
	case u.User != nil:
		// ssh://git@host/path: the user is how ssh URLs are written; a
		// password is not.
		if _, has := u.User.Password(); has {
			return nil, fmt.Errorf("%s://%s…: a password in the URL is not allowed", u.Scheme, u.Host)
		}
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q: a query or fragment is not allowed", raw)
	}
	for _, elem := range strings.Split(u.Path, "/") {
		if elem == ".." || elem == "." {
			return nil, fmt.Errorf("%q: %q path elements are not allowed", raw, elem)
		}
		if strings.ContainsAny(elem, "\\\x00") {
			return nil, fmt.Errorf("%q: the path has a backslash or NUL", raw)
		}
	}
	return u, nil
}

// hostPath returns the host and the slash path (without leading or trailing
// slash) of an upstream URL, the part a mirror appends to its own location.
func hostPath(u *url.URL) (host, p string) {
	return strings.ToLower(u.Host), strings.Trim(path.Clean("/"+u.Path), "/")
}

// vendorPath returns the source's path relative to the vendor directory,
// slash separated: "charts/<chart>-<version>.tgz" or
// "git/<host>/<path>@<ref>" (a ".git" suffix of the path dropped, and "%" and
// "/" in the ref escaped as "%25" and "%2F", so that a branch "release/1.9"
// gets a directory of its own, not one inside another ref's tree). The source
// must be valid.
func (s Source) vendorPath() string {
	if s.Kind() == KindHelm {
		return "charts/" + s.Chart + "-" + s.Version + ".tgz"
	}
	u, _ := url.Parse(s.URL)
	host, p := hostPath(u)
	p = strings.TrimSuffix(p, ".git")
	return path.Join("git", host, p) + "@" + refEscaper.Replace(s.Ref)
}

var refEscaper = strings.NewReplacer("%", "%25", "/", "%2F")
