package image

import "strings"

// Mirror returns ref as the mirror serves it: <mirror>/<original
// registry>/<repository>, with the same tag and digest. mirror is a
// registry host, with a port and a path prefix if any:
// "nexus.bank.local:8443", "nexus.bank.local:8443/docker". So with mirror
// "nexus.bank.local:8443", quay.io/prometheus/prometheus:v3.5.0 becomes
// nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0.
//
// An image already under the mirror (see [Ref.Under]) and any image when
// mirror is "" are returned unchanged, so Mirror is idempotent. The
// original registry becomes a path segment, so a registry with a port
// (localhost:5000) yields a reference registries do not accept; public
// registries have no port.
func Mirror(ref Ref, mirror string) Ref {
	host, prefix := splitMirror(mirror)
	if host == "" || ref.Under(mirror) {
		return ref
	}
	repo := ref.Registry + "/" + ref.Repository
	if prefix != "" {
		repo = prefix + "/" + repo
	}
	return Ref{Registry: host, Repository: repo, Tag: ref.Tag, Digest: ref.Digest}
}

// Under reports whether r is served from mirror: its registry is the
// mirror's host and, when the mirror has a path, its repository is below
// that path. Host names compare case-insensitively.
func (r Ref) Under(mirror string) bool {
	host, prefix := splitMirror(mirror)
	if host == "" || !strings.EqualFold(r.Registry, host) {
		return false
	}
	return prefix == "" || strings.HasPrefix(r.Repository, prefix+"/")
}

// splitMirror splits a mirror into its host and path prefix, dropping a
// URL scheme and slashes at either end.
func splitMirror(mirror string) (host, prefix string) {
	if _, rest, ok := strings.Cut(mirror, "://"); ok {
		mirror = rest
	}
	mirror = strings.Trim(mirror, "/")
	host, prefix, _ = strings.Cut(mirror, "/")
	if strings.EqualFold(host, legacyDefaultRegistry) {
		host = DefaultRegistry
	}
	return host, strings.Trim(prefix, "/")
}
