package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"sigs.k8s.io/yaml"
)

// fetchChart downloads a chart archive, through the charts mirror when
// there is one, and validates it.
func (v *vendorer) fetchChart(ctx context.Context, s Source) ([]byte, error) {
	up, _ := url.Parse(s.Repo)
	host, p := hostPath(up)
	var (
		data []byte
		err  error
	)
	switch m := v.chartsMirror; {
	case m != nil && m.url.Scheme == "oci":
		data, err = v.pullOCI(ctx, m.url.JoinPath(host, p, s.Chart).String()+":"+s.Version)
	case m != nil:
		data, err = v.fromIndex(ctx, s, m.local, m.join(host, filepath.FromSlash(p), "index.yaml"), m.join("index.yaml"))
	case up.Scheme == "oci":
		data, err = v.pullOCI(ctx, strings.TrimRight(s.Repo, "/")+"/"+s.Chart+":"+s.Version)
	default:
		data, err = v.fromIndex(ctx, s, "", location{url: up.JoinPath("index.yaml")})
	}
	if err != nil {
		return nil, err
	}
	if err := validateChart(data, s); err != nil {
		return nil, err
	}
	return data, nil
}

// indexFile is the part of a Helm repository's index.yaml plinth reads.
type indexFile struct {
	Entries map[string][]indexEntry `json:"entries"`
}

type indexEntry struct {
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// fromIndex reads the first index.yaml of candidates that exists, finds the
// chart version in it and downloads the archive it points to, resolving a
// relative URL against the index's. root is the local mirror directory that
// local files must lie in ("" when the index is remote).
func (v *vendorer) fromIndex(ctx context.Context, s Source, root string, candidates ...location) ([]byte, error) {
	client := newHTTPClient(v.opts, v.trust.pool, max(v.lim.index, v.lim.chartArchive)+1, nil)
	client.Transport.(*guard).auth = v.trust.setBasicAuth
	defer client.CloseIdleConnections()
	var (
		raw []byte
		at  location
		err error
	)
	for _, c := range candidates {
		at = c
		raw, err = get(ctx, client, c.url, root, v.lim.index)
		if !errors.Is(err, errNotFound) {
			break
		}
	}
	if errors.Is(err, errNotFound) {
		var names []string
		for _, c := range candidates {
			names = append(names, c.String())
		}
		return nil, fmt.Errorf("no index.yaml at %s", strings.Join(names, " or "))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the index: %w", v.trust.explainAuth(err, at.url))
	}
	var idx indexFile
	if err := yaml.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("index %s: %w", at, err)
	}

	versions := idx.Entries[s.Chart]
	if len(versions) == 0 {
		return nil, fmt.Errorf("index %s has no chart %s (it has %s)", at, s.Chart, listSome(slices.Sorted(maps.Keys(idx.Entries)), 20))
	}
	i := slices.IndexFunc(versions, func(e indexEntry) bool { return e.Version == s.Version })
	if i < 0 {
		var have []string
		for _, e := range versions {
			have = append(have, e.Version)
		}
		return nil, fmt.Errorf("version %s is not in index %s: chart %s has %s", s.Version, at, s.Chart, listSome(newestFirst(have), 20))
	}
	e := versions[i]
	if len(e.URLs) == 0 {
		return nil, fmt.Errorf("index %s lists no URL for it", at)
	}
	ref, err := url.Parse(e.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("index %s: chart URL %q: %w", at, e.URLs[0], err)
	}
	target := at.url.ResolveReference(ref)
	switch {
	case target.Scheme == "file" && at.isLocal():
	case target.Scheme == "http" || target.Scheme == "https":
	default:
		return nil, fmt.Errorf("index %s: chart URL %q: scheme %q is not allowed", at, e.URLs[0], target.Scheme)
	}
	if target.User != nil {
		return nil, fmt.Errorf("index %s: chart URL %s carries credentials", at, target.Redacted())
	}
	data, err := get(ctx, client, target, root, v.lim.chartArchive)
	if err != nil {
		return nil, fmt.Errorf("downloading the archive: %w", v.trust.explainAuth(err, target))
	}
	if e.Digest != "" {
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		want := strings.TrimPrefix(strings.ToLower(e.Digest), "sha256:")
		if got != want {
			return nil, fmt.Errorf("index %s says sha256:%s, downloaded %s has sha256:%s", at, want, target.Redacted(), got)
		}
	}
	return data, nil
}

// pullOCI pulls a chart archive from an OCI registry with Helm's registry
// client, through this package's HTTP client (proxy, allowed hosts, a cap
// on every response, the CA file): with the credentials of
// VendorOptions.DockerConfig when given (oras-go's auth client answers the
// registry's challenge, basic or token), else anonymously; Helm's own
// registry config is never read.
func (v *vendorer) pullOCI(ctx context.Context, ref string) ([]byte, error) {
	hc := newHTTPClient(v.opts, v.trust.pool, v.lim.chartArchive, ctx)
	defer hc.CloseIdleConnections()
	client, err := registry.NewClient(
		registry.ClientOptHTTPClient(hc),
		registry.ClientOptAuthorizer(auth.Client{Client: hc, Cache: auth.NewCache(), Credential: v.trust.docker}),
		registry.ClientOptCredentialsFile(os.DevNull),
		registry.ClientOptWriter(io.Discard),
	)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := client.Pull(ref)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, ctxErr)
		}
		return nil, fmt.Errorf("pulling %s: %w", ref, v.trust.explainOCI(err, registryHost(ref), v.opts.DockerConfig))
	}
	if int64(len(res.Chart.Data)) > v.lim.chartArchive {
		return nil, fmt.Errorf("%s: archive is larger than %s", ref, formatSize(v.lim.chartArchive))
	}
	return res.Chart.Data, nil
}

// registryHost is the host (and port) of an OCI reference "host/path:tag".
func registryHost(ref string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(ref, "oci://"), "/")
	return host
}

var drivePath = regexp.MustCompile(`^[A-Za-z]:`)

// errTooLarge marks a stream that went past its budget.
var errTooLarge = errors.New("too large")

type budgetReader struct {
	r    io.Reader
	left int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// validateChart checks a chart archive before it is written: every tar
// entry is a file or directory with a relative path and no ".." element, the
// whole tar stream decompresses to at most loader.MaxDecompressedChartSize,
// Helm's loader accepts the chart, and it is the chart and version asked
// for.
func validateChart(data []byte, s Source) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("archive is not gzip-compressed: %w", err)
	}
	limit := loader.MaxDecompressedChartSize
	tr := tar.NewReader(&budgetReader{r: zr, left: limit})
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTooLarge) {
			return fmt.Errorf("archive decompresses to more than %s", formatSize(limit))
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		name := strings.ReplaceAll(hd.Name, `\`, "/")
		if path.IsAbs(name) || drivePath.MatchString(name) {
			return fmt.Errorf("archive entry %q is an absolute path", hd.Name)
		}
		if slices.Contains(strings.Split(name, "/"), "..") {
			return fmt.Errorf("archive entry %q escapes the chart directory", hd.Name)
		}
		switch hd.Typeflag {
		case tar.TypeReg, 0, tar.TypeDir, tar.TypeXHeader, tar.TypeXGlobalHeader:
		default:
			return fmt.Errorf("archive entry %q is not a regular file or directory (type %q)", hd.Name, hd.Typeflag)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			if errors.Is(err, errTooLarge) {
				return fmt.Errorf("archive decompresses to more than %s", formatSize(limit))
			}
			return fmt.Errorf("reading the archive: %w", err)
		}
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("helm cannot load the archive: %w", err)
	}
	if ch.Metadata == nil || ch.Metadata.Name != s.Chart || ch.Metadata.Version != s.Version {
		var name, version string
		if ch.Metadata != nil {
			name, version = ch.Metadata.Name, ch.Metadata.Version
		}
		return fmt.Errorf("archive holds chart %q version %q", name, version)
	}
	return nil
}

// newestFirst sorts versions by semantic version, newest first; versions
// that do not parse go last, in string order.
func newestFirst(versions []string) []string {
	out := slices.Clone(versions)
	slices.SortStableFunc(out, func(a, b string) int {
		va, ea := semver.NewVersion(a)
		vb, eb := semver.NewVersion(b)
		switch {
		case ea == nil && eb == nil:
			return vb.Compare(va)
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// listSome joins up to n items, saying how many more there are.
func listSome(items []string, n int) string {
	if len(items) == 0 {
		return "nothing"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
