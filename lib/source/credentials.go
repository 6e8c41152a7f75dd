package source

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/plinth-platform/plinth/lib/capool"
	"github.com/plinth-platform/plinth/lib/gitrepo"
	"github.com/plinth-platform/plinth/lib/netrc"
)

// trust is what one Vendor call authenticates with: read once, before any
// request, so that a broken file fails the call at once, naming the file.
type trust struct {
	pool   *x509.CertPool      // nil: the system's roots (tls.Config.RootCAs nil)
	netrc  *netrc.File         // nil: no netrc
	docker auth.CredentialFunc // nil: anonymous OCI
	// secrets are the passwords and tokens handed out, scrubbed from
	// Vendor's errors: a registry's error body, which oras-go quotes,
	// could echo what it was sent.
	secrets *secretSet
}

// secretSet collects credentials as they are used; safe for concurrent use.
type secretSet struct {
	mu   sync.Mutex
	list []string
}

// add collects a user's password (and its basic auth header value) and
// any tokens. A secret shorter than 4 bytes is left: masking it would
// mangle messages without hiding anything.
func (s *secretSet) add(user, password string, tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(password) >= 4 {
		s.list = append(s.list, password, base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	for _, t := range tokens {
		if len(t) >= 4 {
			s.list = append(s.list, t)
		}
	}
}

// scrub returns err with every collected secret masked in its message;
// errors.As and errors.Is still see the chain.
func (s *secretSet) scrub(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := err.Error()
	for _, x := range s.list {
		msg = strings.ReplaceAll(msg, x, "[redacted]")
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func loadTrust(opts VendorOptions) (trust, error) {
	tr := trust{secrets: &secretSet{}}
	if opts.CAFile != "" {
		p, err := capool.FromFile(opts.CAFile)
		if err != nil {
			return tr, err
		}
		tr.pool = p
	}
	if opts.Netrc != "" {
		f, err := netrc.Read(opts.Netrc)
		if err != nil {
			return tr, err
		}
		tr.netrc = f
		for _, e := range f.Entries {
			tr.secrets.add(e.Login, e.Password)
		}
	}
	if opts.DockerConfig != "" {
		// oras-go's store, the one Helm's registry client reads: auths
		// entries, and credsStore/credHelpers through the
		// docker-credential-* programs, as docker login left them.
		store, err := credentials.NewStore(opts.DockerConfig, credentials.StoreOptions{})
		if err != nil {
			return tr, fmt.Errorf("docker config %s: %w", opts.DockerConfig, err)
		}
		get := credentials.Credential(store)
		tr.docker = func(ctx context.Context, hostport string) (auth.Credential, error) {
			c, err := get(ctx, hostport)
			tr.secrets.add(c.Username, c.Password, c.RefreshToken, c.AccessToken)
			return c, err
		}
	}
	return tr, nil
}

// gitAuth is the netrc entry for remote's host, as gitrepo's basic auth
// (go-git sends it to that origin only, never past a redirect elsewhere).
func (t trust) gitAuth(remote string) gitrepo.Auth {
	u, err := url.Parse(remote)
	if err != nil {
		return gitrepo.Auth{}
	}
	e, ok := t.netrc.Lookup(u)
	if !ok {
		return gitrepo.Auth{}
	}
	return gitrepo.Auth{Username: e.Login, Password: e.Password}
}

// sshAuth reads the SSH key (or connects to the ssh-agent) and the
// known_hosts of opts for an ssh:// remote, as gitrepo's Auth (which
// checks host keys with x/crypto's knownhosts). The returned func closes
// the agent's connection. Errors name the files, never their content.
func sshAuth(opts VendorOptions) (gitrepo.Auth, func(), error) {
	none := func() {}
	if opts.SSHKnownHosts == "" {
		return gitrepo.Auth{}, none, errors.New("git over ssh needs a known_hosts file, and none was given")
	}
	known, err := os.ReadFile(opts.SSHKnownHosts)
	if err != nil {
		return gitrepo.Auth{}, none, fmt.Errorf("known_hosts: %w", err)
	}
	if opts.SSHKey == "" && opts.SSHAgent != "" {
		conn, err := net.Dial("unix", opts.SSHAgent)
		if err != nil {
			return gitrepo.Auth{}, none, fmt.Errorf("ssh-agent: %w", err)
		}
		return gitrepo.Auth{Agent: agent.NewClient(conn).Signers, KnownHosts: known}, func() { conn.Close() }, nil
	}
	if opts.SSHKey == "" {
		return gitrepo.Auth{}, none, errors.New("git over ssh needs an SSH private key or an ssh-agent, and neither was given")
	}
	key, err := os.ReadFile(opts.SSHKey)
	if err != nil {
		return gitrepo.Auth{}, none, fmt.Errorf("ssh key: %w", err)
	}
	var missing *ssh.PassphraseMissingError
	if _, err := ssh.ParsePrivateKey(key); errors.As(err, &missing) {
		return gitrepo.Auth{}, none, fmt.Errorf("ssh key %s is protected by a passphrase, which plinth does not ask for: add it to an ssh-agent", opts.SSHKey)
	} else if err != nil {
		return gitrepo.Auth{}, none, fmt.Errorf("ssh key %s: not an SSH private key in PEM or OpenSSH format", opts.SSHKey)
	}
	return gitrepo.Auth{Identity: key, KnownHosts: known}, none, nil
}

// setBasicAuth adds the netrc entry of req's host, if any, to a request
// that carries no Authorization yet. Called per round trip, so that each
// hop of a redirect gets its own host's entry and no other.
func (t trust) setBasicAuth(req *http.Request) *http.Request {
	if t.netrc == nil || req.Header.Get("Authorization") != "" {
		return req
	}
	e, ok := t.netrc.Lookup(req.URL)
	if !ok {
		return req
	}
	req = req.Clone(req.Context())
	req.SetBasicAuth(e.Login, e.Password)
	return req
}

// explainAuth adds to a refused request (HTTP 401 or 403, or git's
// authentication errors) which credentials were tried for u's host.
func (t trust) explainAuth(err error, u *url.URL) error {
	var se *statusError
	refused := errors.As(err, &se) && (se.code == http.StatusUnauthorized || se.code == http.StatusForbidden) ||
		errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
	if !refused || u == nil {
		return err
	}
	host := u.Hostname()
	switch _, ok := t.netrc.Lookup(u); {
	case t.netrc == nil:
		return fmt.Errorf("%w (no netrc file to take credentials for %s from)", err, host)
	case !ok:
		return fmt.Errorf("%w (netrc %s has no password for %s)", err, t.netrc.Path, host)
	default:
		return fmt.Errorf("%w (the credentials for %s in netrc %s were refused)", err, host, t.netrc.Path)
	}
}

// explainOCI adds to a registry's refusal which Docker config was read.
func (t trust) explainOCI(err error, host, config string) error {
	var resp *errcode.ErrorResponse
	switch {
	case errors.Is(err, auth.ErrBasicCredentialNotFound) && config == "":
		return fmt.Errorf("%w (%s asks for credentials; no docker config to take them from)", err, host)
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		return fmt.Errorf("%w (docker config %s has no credentials for %s)", err, config, host)
	case !errors.As(err, &resp) || resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden:
		return err
	case config == "":
		return fmt.Errorf("%w (no docker config to take credentials for %s from)", err, host)
	}
	return fmt.Errorf("%w (the credentials for %s in docker config %s were refused, or it has none)", err, host, config)
}
