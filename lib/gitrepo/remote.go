package gitrepo

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/plinth-platform/plinth/lib/capool"
)

// location is a parsed repository URL.
type location struct {
	u *url.URL
	// display names the repository in messages and in the checkout's
	// origin: the URL without a password (and for HTTP without userinfo).
	display string
	// urlPassword is the password of the URL's userinfo, scrubbed from
	// errors like the Auth's.
	urlPassword string
}

func parseLocation(raw string) (*location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		if !strings.Contains(raw, "://") {
			return nil, errors.New("repository URL: use an https://, http://, ssh:// or file:// URL (scp-like user@host:path is not supported)")
		}
		return nil, fmt.Errorf("repository URL does not parse: %w", err)
	}
	l := &location{u: u}
	if u.User != nil {
		l.urlPassword, _ = u.User.Password()
	}
	// No transport here runs a command, but a host or user that reads as
	// an option ("-oProxyCommand=...") is what an argument injection
	// looks like; git refuses them too.
	if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.User.Username(), "-") {
		return nil, fmt.Errorf("repository URL %s: a host or user may not start with -", u.Redacted())
	}
	switch u.Scheme {
	case "https", "http":
		if u.Host == "" {
			return nil, fmt.Errorf("repository URL %s: no host", u.Redacted())
		}
		d := *u
		d.User = nil
		l.display = d.String()
	case "ssh":
		if u.Host == "" {
			return nil, fmt.Errorf("repository URL %s: no host", u.Redacted())
		}
		if l.urlPassword != "" {
			return nil, fmt.Errorf("repository URL %s: ssh takes no password in the URL; give an identity", u.Redacted())
		}
		l.display = u.String()
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("repository URL %s: a file URL names no host", u.Redacted())
		}
		if !path.IsAbs(u.Path) {
			return nil, fmt.Errorf("repository URL %s: the path must be absolute", u.Redacted())
		}
		l.display = (&url.URL{Scheme: "file", Path: u.Path}).String()
	default:
		return nil, fmt.Errorf("repository URL %s: scheme %q is not supported (use https, http, ssh or file)", u.Redacted(), u.Scheme)
	}
	return l, nil
}

func (l *location) isFile() bool { return l.u.Scheme == "file" }

// remote is a network repository with its transport.
type remote struct {
	loc   *location
	ep    *transport.Endpoint
	tr    transport.Transport
	auth  transport.AuthMethod
	close func()
}

// dial prepares the transport for l (file URLs have none); no connection
// is made yet.
func (o Options) dial(ctx context.Context, l *location, a Auth) (*remote, error) {
	r := &remote{loc: l, close: func() {}}
	switch l.u.Scheme {
	case "https", "http":
		u := *l.u
		u.User = nil
		ep, err := transport.NewEndpoint(u.String())
		if err != nil {
			return nil, fmt.Errorf("repository URL: %w", err)
		}
		r.ep = ep
		user, pass := a.Username, a.Password
		if pass == "" && l.u.User != nil {
			user, pass = l.u.User.Username(), l.urlPassword
		}
		if user == "" {
			user = "git"
		}
		if pass != "" {
			r.auth = &githttp.BasicAuth{Username: user, Password: pass}
		}
		var hc http.Client
		if o.HTTPClient != nil {
			hc = *o.HTTPClient
		} else {
			// TLSClientConfig nil: the system's roots, as below with a CA.
			t := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
			hc.Transport, r.close = t, t.CloseIdleConnections
		}
		if hc.Transport == nil {
			hc.Transport = http.DefaultTransport
		}
		if len(a.CA) > 0 && l.u.Scheme == "https" {
			pool, err := capool.FromPEM(a.CA)
			if err != nil {
				return nil, fmt.Errorf("ca.crt: %w", err)
			}
			t, err := capool.Transport(hc.Transport, pool)
			if err != nil {
				return nil, err
			}
			hc.Transport, r.close = t, t.CloseIdleConnections
		}
		lim := o.Limits.withDefaults()
		hc.Transport = limitedTransport{base: hc.Transport, refs: lim.RefsBytes, pack: lim.PackBytes}
		r.tr = githttp.NewClientWithOptions(&hc, &githttp.ClientOptions{RedirectPolicy: githttp.FollowInitialRedirects})
	case "ssh":
		if len(a.KnownHosts) == 0 {
			return nil, errors.New("ssh needs known_hosts (the server's host keys); none given")
		}
		if len(a.Identity) == 0 && a.Agent == nil {
			return nil, errors.New("ssh needs an identity (SSH private key); none given")
		}
		if err := checkKnownHosts(a.KnownHosts); err != nil {
			return nil, err
		}
		signers := a.Agent
		if len(a.Identity) > 0 {
			signer, err := a.signer()
			if err != nil {
				return nil, err
			}
			signers = func() ([]ssh.Signer, error) { return []ssh.Signer{signer}, nil }
		}
		ep, err := transport.NewEndpoint(l.u.String())
		if err != nil {
			return nil, fmt.Errorf("repository URL: %w", err)
		}
		r.ep = ep
		user := l.u.User.Username()
		if user == "" {
			user = "git"
		}
		port := l.u.Port()
		if port == "" {
			port = "22"
		}
		cb, algos, err := hostKeyCallback(a.KnownHosts, net.JoinHostPort(l.u.Hostname(), port))
		if err != nil {
			return nil, err
		}
		// go-git replaces its whole client configuration with this one, so
		// it carries everything; the auth method carries the same.
		cfg := &ssh.ClientConfig{
			User:              user,
			Auth:              []ssh.AuthMethod{ssh.PublicKeysCallback(signers)},
			HostKeyCallback:   cb,
			HostKeyAlgorithms: algos,
		}
		if d, ok := ctx.Deadline(); ok {
			cfg.Timeout = max(time.Until(d), time.Millisecond)
		}
		r.tr = gitssh.NewClient(cfg)
		r.auth = &gitssh.PublicKeysCallback{User: user, Callback: signers, HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
			HostKeyCallback: cb, HostKeyAlgorithms: algos,
		}}
	default:
		return nil, fmt.Errorf("scheme %q has no transport", l.u.Scheme)
	}
	return r, nil
}

// open starts an upload-pack session. The session is closed when ctx is
// done (which unblocks an SSH read) or when release is called.
func (r *remote) open(ctx context.Context) (transport.UploadPackSession, func(), error) {
	type opened struct {
		s   transport.UploadPackSession
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := r.tr.NewUploadPackSession(r.ep, r.auth)
		ch <- opened{s, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-ctx.Done():
		// The SSH dial ignores contexts; it ends at the deadline (its
		// timeout) or when the server answers, and is closed then.
		go func() {
			if o := <-ch; o.err == nil {
				o.s.Close()
			}
		}()
		return nil, nil, fmt.Errorf("connecting: %w", ctx.Err())
	}
	if o.err != nil {
		return nil, nil, fmt.Errorf("connecting: %w", o.err)
	}
	stop := context.AfterFunc(ctx, func() { o.s.Close() })
	return o.s, func() {
		if stop() {
			o.s.Close()
		}
	}, nil
}

// hostKeyCallback checks host keys against known_hosts and returns the
// host key algorithms to offer: those of the keys listed for hostport
// first, then every other one, so that a server with several keys shows
// the listed one, and a server with an unlisted key still reaches the
// callback and is refused with a clear message.
func hostKeyCallback(known []byte, hostport string) (ssh.HostKeyCallback, []string, error) {
	f, err := os.CreateTemp("", "gitrepo-known-hosts-*")
	if err != nil {
		return nil, nil, err
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(known)
	if err := errors.Join(werr, f.Close()); err != nil {
		return nil, nil, fmt.Errorf("writing known_hosts to a temporary file: %w", err)
	}
	cb, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, nil, errors.New("known_hosts: not a valid known_hosts file")
	}
	checked := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		what := fmt.Sprintf("ssh host key of %s (%s %s)", hostname, key.Type(), ssh.FingerprintSHA256(key))
		var revoked *knownhosts.RevokedError
		var keyErr *knownhosts.KeyError
		switch {
		case errors.As(err, &revoked):
			return fmt.Errorf("%s is revoked in known_hosts", what)
		case errors.As(err, &keyErr) && len(keyErr.Want) == 0:
			return fmt.Errorf("%s is not known: known_hosts lists no key for this host", what)
		case errors.As(err, &keyErr):
			return fmt.Errorf("%s is not known: known_hosts lists other keys for this host", what)
		}
		return fmt.Errorf("%s: %w", what, err)
	}

	// Ask the database about a key it cannot hold: the KeyError lists the
	// keys it has for the host.
	probe, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		return nil, nil, err
	}
	var algos []string
	var keyErr *knownhosts.KeyError
	if errors.As(cb(hostport, &net.TCPAddr{}, probe), &keyErr) {
		for _, k := range keyErr.Want {
			t := k.Key.Type()
			if t == ssh.KeyAlgoRSA {
				algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
			} else {
				algos = append(algos, t)
			}
		}
	}
	for _, a := range ssh.SupportedAlgorithms().HostKeys {
		if !slices.Contains(algos, a) {
			algos = append(algos, a)
		}
	}
	return checked, algos, nil
}

// limitedTransport bounds every response body: the ref advertisement by
// refs, anything else (a pack, an error page) by pack and some slack for
// the framing, so that the pack's own limit (uploadPack) names it first.
// It is the one size-limited transport for git; lib/source's guard caps
// Helm and OCI downloads the same way.
type limitedTransport struct {
	base       http.RoundTripper
	refs, pack int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	limit := t.pack + 1<<20
	if strings.HasSuffix(req.URL.Path, "/info/refs") {
		limit = t.refs
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: limit}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, overrun(b.ReadCloser, ErrTooLarge)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// ErrTooLarge is wrapped by the error of a download over its limit
// (Limits.RefsBytes, Limits.PackBytes).
var ErrTooLarge = errors.New("the server's response exceeds plinth's size limit")

// tooLargeError says what went over which limit; it is an ErrTooLarge.
type tooLargeError struct {
	what  string
	limit int64
}

func (e *tooLargeError) Error() string        { return fmt.Sprintf("%s exceeds %s", e.what, Size(e.limit)) }
func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }

// newLimitedReader returns a reader of r that fails a read beyond n
// bytes, and any read once ctx is done.
func newLimitedReader(ctx context.Context, r io.Reader, n int64, what string) *limitedReader {
	return &limitedReader{ctx: ctx, r: r, left: n, limit: n, what: what}
}

// limitedReader is newLimitedReader's reader.
type limitedReader struct {
	ctx   context.Context
	r     io.Reader
	left  int64
	limit int64 // left at the start, for messages
	what  string
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, err
	}
	if l.left <= 0 {
		return 0, overrun(l.r, &tooLargeError{l.what, l.limit})
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// overrun is called when a limit is used up: it returns the reader's own
// end (io.EOF) if the data ends exactly there, else tooLarge.
func overrun(r io.Reader, tooLarge error) error {
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n > 0 {
			return tooLarge
		}
		if err != nil {
			return err
		}
	}
}
