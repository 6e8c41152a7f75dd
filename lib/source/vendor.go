package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sync"
)

// Limits on what Vendor accepts.
const (
	// MaxChartArchiveSize caps a chart archive, compressed.
	MaxChartArchiveSize = 64 << 20
	// MaxIndexSize caps a Helm repository's index.yaml (large public
	// repositories' indexes are tens of MB).
	MaxIndexSize = 128 << 20
	// MaxGitTreeSize caps the bytes of a vendored git tree.
	MaxGitTreeSize = 512 << 20
	// MaxGitTreeFiles caps the files of a vendored git tree.
	MaxGitTreeFiles = 100_000
	// MaxGitFetchSize caps the data a git server may send for one fetch.
	MaxGitFetchSize = 2 << 30
)

// limits are the caps one Vendor call applies; tests lower them.
type limits struct {
	chartArchive int64
	index        int64
	treeBytes    int64
	treeFiles    int
	gitFetch     int64
}

var defaultLimits = limits{
	chartArchive: MaxChartArchiveSize,
	index:        MaxIndexSize,
	treeBytes:    MaxGitTreeSize,
	treeFiles:    MaxGitTreeFiles,
	gitFetch:     MaxGitFetchSize,
}

// VendorOptions configure [Vendor].
type VendorOptions struct {
	// Dir is the vendor directory, an absolute path. It is created if
	// missing.
	Dir string

	// ChartsMirror replaces every chart repository: a URL (http, https or
	// oci) or a local directory (a path or a file:// URL). An upstream
	// repository https://host/path or oci://host/path is looked up in an
	// http(s) or local mirror as <mirror>/<host>/<path>/index.yaml and, if
	// there is none, as <mirror>/index.yaml (a flat Helm repository); in an
	// oci mirror as <mirror>/<host>/<path>/<chart>:<version>.
	ChartsMirror string
	// GitMirror replaces every git URL https://host/path with
	// <mirror>/<host>/<path>: a URL (http, https or ssh) or a local
	// directory (a path or a file:// URL). In a local directory the repository may be
	// bare or not, with or without a ".git" suffix.
	GitMirror string

	// Proxy is the HTTP(S) proxy for every request; nil means none. The
	// process environment (HTTPS_PROXY and the like) is never read.
	Proxy *url.URL
	// NoProxy lists hosts reached without the proxy: "*", IP addresses,
	// CIDR ranges, domain names (with their subdomains, optionally with a
	// port) and ".domain" (its subdomains only).
	NoProxy []string
	// AllowedHosts, when not empty, lists every host a request may go to:
	// "host" or "host:port", or ".domain" for any subdomain of domain. A
	// request elsewhere, a redirect included, fails before it is sent. A
	// local-directory mirror needs no host. The proxy itself is not checked.
	AllowedHosts []string

	// CAFile, when set, is a PEM bundle of CA certificates trusted for
	// every HTTPS request (chart repositories, OCI registries, git) on top
	// of the system's roots, which Go reads from SSL_CERT_FILE and
	// SSL_CERT_DIR when they are set (lib/capool).
	CAFile string
	// Netrc, when set, is a netrc file (lib/netrc; missing is empty): the
	// entry of a request's host is sent as basic auth to HTTP chart
	// repositories (each request, a redirect's too, gets its own host's
	// entry and no other) and to git over HTTP(S) (by go-git, to the
	// repository's origin only). Over http:// it travels in clear text, as
	// with curl and git.
	Netrc string
	// DockerConfig, when set, is a Docker config.json whose credentials
	// (auths, or credsStore/credHelpers through their docker-credential-*
	// programs) oras-go's auth client gives the OCI registries that ask.
	DockerConfig string
	// SSHKey and SSHKnownHosts are the private key (without a passphrase:
	// plinth asks for none) and the known_hosts file for git over ssh://,
	// read when a source needs them; SSHAgent, an ssh-agent's socket, gives
	// the keys when SSHKey is empty. A host key not in SSHKnownHosts is
	// refused. ssh connects directly: Proxy is for HTTP only; AllowedHosts
	// is checked before connecting.
	SSHKey, SSHKnownHosts, SSHAgent string

	// HTTPClient, when set, provides the transport for every request (tests
	// use it to trust a test server's certificate). Its proxy setting is
	// replaced by Proxy when the transport is an *http.Transport, and its
	// redirect policy by this package's.
	HTTPClient *http.Client

	// Update re-resolves every source, ignoring what the lock pins, and
	// returns a lock with what was fetched.
	Update bool
	// Prune drops lock entries of sources not passed to Vendor. Without it,
	// they are kept unchanged, so vendoring some environments does not
	// forget the others' pins.
	Prune bool
}

// Vendor makes the vendor directory hold every source and returns the lock
// that pins them, sorted; the caller writes it (see [Lock.Write]). lock may
// be nil or empty for a first run.
//
// A source that lock pins and whose vendored file or tree exists with the
// pinned digest is kept without any network access. Any other source is
// fetched, verified and written atomically. When lock pins a source and
// what is fetched has another digest, that is an error naming the source
// ("lock says sha256:…, fetched sha256:…") and the vendored copy is left
// as it was, unless opts.Update is set. When the digests agree the lock's
// entry is kept as it is.
//
// Vendor checks every source's first host against opts.AllowedHosts before
// any request is made, then fetches up to four sources at a time. Failures
// are reported together; on any failure Vendor returns no lock.
func Vendor(ctx context.Context, sources []Source, lock *Lock, opts VendorOptions) (*Lock, error) {
	return vendor(ctx, sources, lock, opts, defaultLimits)
}

func vendor(ctx context.Context, sources []Source, lock *Lock, opts VendorOptions, lim limits) (*Lock, error) {
	if !filepath.IsAbs(opts.Dir) {
		return nil, fmt.Errorf("vendor directory %q is not an absolute path", opts.Dir)
	}
	if lock != nil {
		checked := *lock
		if checked.Version == 0 {
			checked.Version = LockVersion // a zero Lock is an empty one
		}
		if err := checked.validate(); err != nil {
			return nil, fmt.Errorf("plinth.lock: %w", err)
		}
	}

	// Validate and de-duplicate; two sources must not share a path.
	var (
		errs    []error
		uniq    []Source
		byKey   = map[string]bool{}
		byPath  = map[string]string{}
		wantKey = map[string]bool{}
	)
	for _, s := range sources {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		key := s.Key()
		wantKey[key] = true
		if byKey[key] {
			continue
		}
		byKey[key] = true
		if other, ok := byPath[s.vendorPath()]; ok {
			errs = append(errs, fmt.Errorf("%s and %s would both be vendored at %s", other, key, s.vendorPath()))
			continue
		}
		byPath[s.vendorPath()] = key
		uniq = append(uniq, s)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	tr, err := loadTrust(opts)
	if err != nil {
		return nil, err
	}
	v := &vendorer{opts: opts, lim: lim, trust: tr}
	if opts.ChartsMirror != "" {
		m, err := parseMirror(opts.ChartsMirror, "http", "https", "oci")
		if err != nil {
			return nil, fmt.Errorf("charts %w", err)
		}
		v.chartsMirror = &m
	}
	if opts.GitMirror != "" {
		m, err := parseMirror(opts.GitMirror, "http", "https", "ssh")
		if err != nil {
			return nil, fmt.Errorf("git %w", err)
		}
		v.gitMirror = &m
	}

	// Keep what is vendored with the pinned digest; check the first host of
	// everything else before any request is made.
	results := make([]Locked, len(uniq))
	var fetch []int
	for i, s := range uniq {
		if old, ok := lock.Find(s); ok && !opts.Update {
			if d, err := vendoredDigest(opts.Dir, old); err == nil && d == old.Digest {
				results[i] = old
				continue
			}
		}
		if err := v.checkFirstHost(s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
		fetch = append(fetch, i)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if len(fetch) > 0 {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("vendor directory: %w", err)
		}
	}
	fetchErrs := make([]error, len(uniq))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, i := range fetch {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			old, pinned := lock.Find(uniq[i])
			if opts.Update {
				pinned = false
			}
			results[i], fetchErrs[i] = v.vendorOne(ctx, uniq[i], old, pinned)
		})
	}
	wg.Wait()
	if err := errors.Join(fetchErrs...); err != nil {
		return nil, tr.secrets.scrub(err)
	}

	out := &Lock{Version: LockVersion, Sources: results}
	if lock != nil && !opts.Prune {
		for _, e := range lock.Sources {
			if !wantKey[e.Key] {
				out.Sources = append(out.Sources, e)
			}
		}
	}
	sortLocked(out.Sources)
	return out, nil
}

// vendorer holds one Vendor call's settings.
type vendorer struct {
	opts         VendorOptions
	lim          limits
	trust        trust
	chartsMirror *location
	gitMirror    *location
}

// checkFirstHost checks the host the fetch of s starts with.
func (v *vendorer) checkFirstHost(s Source) error {
	var u *url.URL
	switch {
	case s.Kind() == KindHelm && v.chartsMirror != nil:
		u = v.chartsMirror.url
	case s.Kind() == KindGit && v.gitMirror != nil:
		u = v.gitMirror.url
	case s.Kind() == KindHelm:
		u, _ = url.Parse(s.Repo)
	default:
		u, _ = url.Parse(s.URL)
	}
	if u.Scheme == "file" {
		return nil
	}
	return checkHost(v.opts.AllowedHosts, u)
}

// vendorOne fetches one source, checks it against the pinned entry (when
// pinned), and puts it in place: a chart is written to a temporary file and
// renamed, a tree is written to a temporary directory in the vendor
// directory and renamed.
func (v *vendorer) vendorOne(ctx context.Context, s Source, old Locked, pinned bool) (Locked, error) {
	var (
		entry Locked
		err   error
	)
	if s.Kind() == KindHelm {
		entry, err = v.vendorChart(ctx, s, old, pinned)
	} else {
		entry, err = v.vendorGit(ctx, s, old, pinned)
	}
	if err != nil {
		return Locked{}, fmt.Errorf("%s: %w", s, err)
	}
	if pinned {
		// Same content as pinned: keep the entry as it is (with its
		// commit), so the lock does not change.
		return old, nil
	}
	return entry, nil
}

func (v *vendorer) vendorChart(ctx context.Context, s Source, old Locked, pinned bool) (Locked, error) {
	entry := Locked{Key: s.Key(), Kind: KindHelm, Repo: s.Repo, Chart: s.Chart, Version: s.Version, Path: s.vendorPath()}
	data, err := v.fetchChart(ctx, s)
	if err != nil {
		return Locked{}, err
	}
	entry.Digest = digestBytes(data)
	if pinned && entry.Digest != old.Digest {
		return Locked{}, fmt.Errorf("lock says %s, fetched %s (vendor with update to accept it)", old.Digest, entry.Digest)
	}
	if err := realDirs(v.opts.Dir, path.Dir(entry.Path), true); err != nil {
		return Locked{}, err
	}
	if err := writeFileAtomic(filepath.Join(v.opts.Dir, filepath.FromSlash(entry.Path)), data, 0o644); err != nil {
		return Locked{}, fmt.Errorf("writing %s: %w", entry.Path, err)
	}
	return entry, nil
}

func (v *vendorer) vendorGit(ctx context.Context, s Source, old Locked, pinned bool) (Locked, error) {
	entry := Locked{Key: s.Key(), Kind: KindGit, URL: s.URL, Ref: s.Ref, Path: s.vendorPath()}
	tmp, err := os.MkdirTemp(v.opts.Dir, ".tmp-git-")
	if err != nil {
		return Locked{}, err
	}
	defer os.RemoveAll(tmp)
	tree := filepath.Join(tmp, "tree")
	if entry.Commit, err = v.fetchGit(ctx, s, tmp, tree); err != nil {
		return Locked{}, err
	}
	if entry.Digest, err = digestTree(tree); err != nil {
		return Locked{}, err
	}
	if pinned && entry.Digest != old.Digest {
		return Locked{}, fmt.Errorf("lock says %s, fetched %s (commit %s; vendor with update to accept it)", old.Digest, entry.Digest, entry.Commit)
	}
	if err := realDirs(v.opts.Dir, path.Dir(entry.Path), true); err != nil {
		return Locked{}, err
	}
	if err := replaceDir(tree, filepath.Join(v.opts.Dir, filepath.FromSlash(entry.Path))); err != nil {
		return Locked{}, fmt.Errorf("writing %s: %w", entry.Path, err)
	}
	return entry, nil
}

// replaceDir moves the directory src to dst, replacing any dst: dst is first
// moved aside, so dst never holds a partial tree. dst's parent must exist.
func replaceDir(src, dst string) error {
	if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
		return os.Rename(src, dst)
	}
	aside, err := os.MkdirTemp(filepath.Dir(dst), ".old-")
	if err != nil {
		return err
	}
	old := filepath.Join(aside, "tree")
	if err := os.Rename(dst, old); err != nil {
		os.Remove(aside)
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		os.Rename(old, dst)
		os.RemoveAll(aside)
		return err
	}
	return os.RemoveAll(aside)
}
