package image

import (
	"maps"
	"slices"
	"strings"
)

// Mirrors say where an air-gapped cluster pulls each upstream registry
// from (network.mirrors in an environment). Nexus serves one proxy
// repository per upstream registry, so each registry may have a prefix of
// its own (Registries, by upstream host); the others share Default, under
// which the upstream host becomes the first path segment:
//
//	Registries["nvcr.io"] = "nexus.bank.local:8444/nvidia":
//	  nvcr.io/nvidia/gpu-operator:v26.7.0 → nexus.bank.local:8444/nvidia/nvidia/gpu-operator:v26.7.0
//	Default = "nexus.bank.local:8443":
//	  quay.io/prometheus/prometheus:v3.5.0 → nexus.bank.local:8443/quay.io/prometheus/prometheus:v3.5.0
//
// A prefix is a registry host, with a port and a path if any. The zero
// Mirrors mirror nothing.
type Mirrors struct {
	Default    string
	Registries map[string]string
}

// Empty reports whether m mirrors nothing.
func (m Mirrors) Empty() bool {
	return m.Default == "" && len(m.Registries) == 0
}

// prefix returns the prefix that serves the upstream registry host, "" when
// none does.
func (m Mirrors) prefix(registry string) string {
	registry = normalRegistry(registry)
	for host, prefix := range m.Registries {
		if normalRegistry(host) == registry {
			return strings.Trim(prefix, "/")
		}
	}
	if m.Default == "" {
		return ""
	}
	return strings.Trim(m.Default, "/") + "/" + registry
}

// Pull returns ref as the cluster pulls it: under the prefix of its
// registry, same repository path, tag and digest. A reference already
// served by a mirror (see [Mirrors.Serves]), or of a registry no prefix
// serves, is returned unchanged, so Pull is idempotent.
func (m Mirrors) Pull(ref Ref) Ref {
	if m.Serves(ref) {
		return ref
	}
	prefix := m.prefix(ref.Registry)
	if prefix == "" {
		return ref
	}
	host, path := splitPrefix(prefix)
	repo := ref.Repository
	if path != "" {
		repo = path + "/" + repo
	}
	return Ref{Registry: host, Repository: repo, Tag: ref.Tag, Digest: ref.Digest}
}

// Serves reports whether ref is already pulled from one of the mirrors:
// its registry is a prefix's host and, when that prefix has a path, its
// repository is below it. Host names compare case-insensitively.
func (m Mirrors) Serves(ref Ref) bool {
	return slices.ContainsFunc(m.prefixes(), func(p string) bool { return under(ref, p) })
}

// under reports whether ref lies under one mirror prefix.
func under(ref Ref, prefix string) bool {
	host, path := splitPrefix(prefix)
	return strings.EqualFold(ref.Registry, host) && (path == "" || strings.HasPrefix(ref.Repository, path+"/"))
}

// Upstream returns the upstream reference of a reference the mirrors
// serve (the inverse of [Mirrors.Pull]), and ref itself for any other. A
// reference under Default whose first path segment is no registry host
// (a chart that put the mirror's host before its own path) has no known
// upstream and is returned unchanged.
func (m Mirrors) Upstream(ref Ref) Ref {
	// The longest prefix that serves ref decides: a mapped prefix may lie
	// below Default ("nexus:8443/dockerhub" under "nexus:8443").
	best, bestHost := "", ""
	for host, prefix := range m.Registries {
		if p := strings.Trim(prefix, "/"); len(p) > len(best) && under(ref, p) {
			best, bestHost = p, normalRegistry(host)
		}
	}
	if best != "" {
		_, path := splitPrefix(best)
		repo := ref.Repository
		if path != "" {
			repo = strings.TrimPrefix(repo, path+"/")
		}
		return upstreamRef(bestHost, repo, ref)
	}
	if m.Default == "" || !under(ref, m.Default) {
		return ref
	}
	_, path := splitPrefix(strings.Trim(m.Default, "/"))
	repo := ref.Repository
	if path != "" {
		repo = strings.TrimPrefix(repo, path+"/")
	}
	registry, rest, ok := strings.Cut(repo, "/")
	if !ok || !isRegistry(registry) {
		return ref
	}
	return upstreamRef(normalRegistry(registry), rest, ref)
}

func upstreamRef(registry, repo string, ref Ref) Ref {
	if registry == DefaultRegistry && !strings.Contains(repo, "/") {
		repo = officialRepoPrefix + repo
	}
	return Ref{Registry: registry, Repository: repo, Tag: ref.Tag, Digest: ref.Digest}
}

// prefixes are every prefix of m, Default last, in a fixed order.
func (m Mirrors) prefixes() []string {
	var out []string
	for _, host := range slices.Sorted(maps.Keys(m.Registries)) {
		out = append(out, strings.Trim(m.Registries[host], "/"))
	}
	if m.Default != "" {
		out = append(out, strings.Trim(m.Default, "/"))
	}
	return out
}

// splitPrefix splits a mirror prefix into its host and path, dropping a
// URL scheme and slashes at either end.
func splitPrefix(prefix string) (host, path string) {
	if _, rest, ok := strings.Cut(prefix, "://"); ok {
		prefix = rest
	}
	host, path, _ = strings.Cut(strings.Trim(prefix, "/"), "/")
	return normalRegistry(host), strings.Trim(path, "/")
}

// normalRegistry spells Docker Hub's aliases as Docker does.
func normalRegistry(host string) string {
	switch h := strings.ToLower(host); h {
	case legacyDefaultRegistry, "registry-1.docker.io":
		return DefaultRegistry
	default:
		return h
	}
}
