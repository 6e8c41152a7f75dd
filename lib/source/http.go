package source

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plinth-platform/plinth/lib/capool"
)

// HostNotAllowedError reports a request to a host that
// [VendorOptions.AllowedHosts] does not list. The request was not sent.
type HostNotAllowedError struct {
	// Host is the host the request was for.
	Host string
	// Allowed is VendorOptions.AllowedHosts.
	Allowed []string
}

func (e *HostNotAllowedError) Error() string {
	return fmt.Sprintf("host %s is not in the allowed hosts (%s)", e.Host, strings.Join(e.Allowed, ", "))
}

// errNotFound marks a 404 or a missing local file.
var errNotFound = errors.New("not found")

// checkHost returns a *HostNotAllowedError when allowed is not empty and
// lists neither u's host nor a domain it belongs to. An entry "host" or
// "host:port" allows that host (on any port, or on that port); an entry
// ".domain" allows every subdomain of domain.
func checkHost(allowed []string, u *url.URL) error {
	if len(allowed) == 0 {
		return nil
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := portOf(u)
	for _, a := range allowed {
		ah, ap := splitHostPort(a)
		if ap != "" && ap != port {
			continue
		}
		if strings.HasPrefix(ah, ".") {
			if strings.HasSuffix(host, ah) && len(host) > len(ah) {
				return nil
			}
		} else if host == ah {
			return nil
		}
	}
	return &HostNotAllowedError{Host: host, Allowed: allowed}
}

// useProxy reports whether a request to u goes through the proxy, given the
// no-proxy list: "*" bypasses the proxy for every host; an IP address or
// CIDR range for the addresses it covers; a domain name, optionally with a
// port, for that name and its subdomains; a name with a leading "." for its
// subdomains only. These are the rules of golang.org/x/net/http/httpproxy,
// except that loopback addresses are proxied like any other.
func useProxy(noProxy []string, u *url.URL) bool {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := portOf(u)
	ip := net.ParseIP(host)
	for _, e := range noProxy {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
			continue
		case e == "*":
			return false
		}
		if _, n, err := net.ParseCIDR(e); err == nil {
			if ip != nil && n.Contains(ip) {
				return false
			}
			continue
		}
		eh, ep := splitHostPort(e)
		if ep != "" && ep != port {
			continue
		}
		if eip := net.ParseIP(eh); eip != nil {
			if ip != nil && eip.Equal(ip) {
				return false
			}
			continue
		}
		if strings.HasPrefix(eh, ".") {
			if strings.HasSuffix(host, eh) {
				return false
			}
		} else if host == eh || strings.HasSuffix(host, "."+eh) {
			return false
		}
	}
	return true
}

func splitHostPort(s string) (host, port string) {
	s = strings.ToLower(strings.TrimSpace(s))
	if h, p, err := net.SplitHostPort(s); err == nil {
		return strings.TrimSuffix(h, "."), p
	}
	return strings.TrimSuffix(strings.Trim(s, "[]"), "."), ""
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "http":
		return "80"
	case "ssh":
		return "22"
	}
	return "443"
}

// guard is the transport of every client this package makes: it refuses
// hosts outside the allow-list before a request is sent (redirects included,
// since each hop is a round trip), caps response bodies, and optionally binds
// requests to a context for libraries that do not pass one.
type guard struct {
	next    http.RoundTripper
	allowed []string
	maxBody int64
	ctx     context.Context
	// auth, when set, adds credentials for the request's host (netrc).
	auth func(*http.Request) *http.Request
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport.
func (g *guard) CloseIdleConnections() {
	if c, ok := g.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkHost(g.allowed, req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if g.ctx != nil {
		req = req.WithContext(g.ctx)
	}
	if g.auth != nil {
		req = g.auth(req)
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if g.maxBody > 0 {
		resp.Body = &cappedBody{rc: resp.Body, left: g.maxBody, url: req.URL.Redacted()}
	}
	return resp, nil
}

// cappedBody fails a read once more than its budget has arrived: for Helm
// and OCI downloads. Git's responses are capped by lib/gitrepo's
// limitedTransport instead (the git client passes maxBody 0), the same
// idea kept on each side of the git/chart line rather than in a shared
// helper package.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	url  string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%s: response is larger than the limit", b.url)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// newHTTPClient returns the client for one kind of fetch: opts' transport
// (or a default one) with opts' proxy and never the environment's, trusting
// the system's roots and pool (when not nil), behind a guard with the
// allow-list and maxBody (0: no cap). bind, when not nil, is the context
// every request is bound to.
func newHTTPClient(opts VendorOptions, pool *x509.CertPool, maxBody int64, bind context.Context) *http.Client {
	var base http.RoundTripper
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		base = opts.HTTPClient.Transport
	} else {
		base = http.DefaultTransport
	}
	if t, ok := base.(*http.Transport); ok {
		t = t.Clone()
		t.Proxy = nil
		if opts.Proxy != nil {
			proxy, noProxy := opts.Proxy, opts.NoProxy
			t.Proxy = func(req *http.Request) (*url.URL, error) {
				if useProxy(noProxy, req.URL) {
					return proxy, nil
				}
				return nil, nil
			}
		}
		if t.ResponseHeaderTimeout == 0 {
			t.ResponseHeaderTimeout = 2 * time.Minute
		}
		if pool != nil {
			// Clone keeps any other TLS setting; RootCAs nil would be the
			// system's roots, and pool holds them too (lib/capool).
			t, _ = capool.Transport(t, pool)
		}
		base = t
	}
	return &http.Client{
		Transport: &guard{next: base, allowed: opts.AllowedHosts, maxBody: maxBody, ctx: bind},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("%s: more than 10 redirects", via[0].URL.Redacted())
			}
			if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme != "https" {
				return fmt.Errorf("%s: refusing a redirect from https to %s", via[0].URL.Redacted(), req.URL.Redacted())
			}
			return nil
		},
	}
}

// location is where a mirror or an index lives: a URL, or a local directory
// given as a path or a file:// URL.
type location struct {
	url   *url.URL // scheme http, https, oci or file
	local string   // for file: the absolute directory path
}

// parseMirror parses a mirror setting: an http(s) URL, an oci:// URL (charts
// only), a file:// URL or a local directory path.
func parseMirror(s string, schemes ...string) (location, error) {
	if !strings.Contains(s, "://") {
		abs, err := filepath.Abs(s)
		if err != nil {
			return location{}, err
		}
		return localLocation(abs), nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return location{}, fmt.Errorf("mirror %q is not a URL", s)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("mirror %q: a file URL must not name a host", s)
		}
		return localLocation(filepath.Clean(filepath.FromSlash(u.Path))), nil
	}
	if _, err := parseRemote(s, schemes...); err != nil {
		return location{}, fmt.Errorf("mirror %w", err)
	}
	return location{url: u}, nil
}

func localLocation(dir string) location {
	return location{url: &url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}, local: dir}
}

func (l location) isLocal() bool { return l.local != "" }

// join appends slash-separated elements to the location.
func (l location) join(elem ...string) location {
	if l.isLocal() {
		return localLocation(filepath.Join(append([]string{l.local}, elem...)...))
	}
	return location{url: l.url.JoinPath(elem...)}
}

func (l location) String() string {
	if l.isLocal() {
		return l.local
	}
	return l.url.Redacted()
}

// readAtMost reads all of r, failing once more than max bytes arrive.
func readAtMost(r io.Reader, max int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %s", what, formatSize(max))
	}
	return data, nil
}

// get fetches u with at most max bytes. A file URL is read from disk only
// when it lies inside root ("" refuses file URLs). A 404 or a missing file
// wraps errNotFound.
func get(ctx context.Context, client *http.Client, u *url.URL, root string, max int64) ([]byte, error) {
	switch u.Scheme {
	case "file":
		name := filepath.Clean(filepath.FromSlash(u.Path))
		if root == "" || !within(root, name) {
			return nil, fmt.Errorf("%s: a local file outside the local mirror", u.Redacted())
		}
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", name, errNotFound)
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readAtMost(f, max, name)
	case "http", "https":
	default:
		return nil, fmt.Errorf("%s: scheme %q is not supported here", u.Redacted(), u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: credentials in the URL are not allowed", u.Redacted())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w", u.Redacted(), errNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, &statusError{url: u.Redacted(), status: resp.Status, code: resp.StatusCode}
	}
	return readAtMost(resp.Body, max, u.Redacted())
}

// statusError is a response other than 200 and 404.
type statusError struct {
	url, status string
	code        int
}

func (e *statusError) Error() string { return e.url + ": " + e.status }

// within reports whether name is root or below it, lexically.
func within(root, name string) bool {
	rel, err := filepath.Rel(root, name)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
