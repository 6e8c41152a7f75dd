package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/plinth-platform/plinth/lib/capool"
)

// Auth holds credentials read from a Kubernetes Secret's data.
//
// Auth's String and GoString say which fields are set, never their
// values, so printing an Auth is safe.
type Auth struct {
	Username, Password string // HTTPS basic auth; a token goes in Password (Username defaults to "git")
	Identity           []byte // SSH private key (PEM / OpenSSH)
	KnownHosts         []byte // SSH known_hosts: required for ssh:// URLs; a host key not listed is refused
	CA                 []byte // PEM certificates trusted for https:// on top of the system roots (a bank's private CA)
	// Agent, when Identity is empty, gives the SSH keys instead: an
	// ssh-agent's (the CLI's answer to a key with a passphrase). Never
	// read from a Secret.
	Agent func() ([]ssh.Signer, error)
}

// String summarises a without its secrets.
func (a Auth) String() string {
	var parts []string
	if a.Username != "" {
		parts = append(parts, "username "+a.Username)
	}
	if a.Password != "" {
		parts = append(parts, "password set")
	}
	if len(a.Identity) > 0 {
		parts = append(parts, "identity set")
	}
	if len(a.KnownHosts) > 0 {
		parts = append(parts, fmt.Sprintf("known_hosts %d bytes", len(a.KnownHosts)))
	}
	if len(a.CA) > 0 {
		parts = append(parts, "ca.crt set")
	}
	if a.Agent != nil {
		parts = append(parts, "ssh-agent")
	}
	if len(parts) == 0 {
		return "no credentials"
	}
	return strings.Join(parts, ", ")
}

// GoString keeps %#v from printing the secrets.
func (a Auth) GoString() string { return "gitrepo.Auth{" + a.String() + "}" }

// AuthFromSecret reads keys "username", "password", "token" (same as
// password), "identity", "known_hosts" and "ca.crt" (the key cert-manager
// and Kubernetes use for a CA bundle); unknown keys are ignored; an
// "identity" without "known_hosts" is an error, and so is a "ca.crt" that
// holds anything but PEM certificates.
//
// An identity protected by a passphrase takes the passphrase from
// "password". The identity and known_hosts are parsed here, so that a
// broken Secret is reported before any connection. Values are taken as
// they are (a trailing newline is part of a password).
func AuthFromSecret(data map[string][]byte) (Auth, error) {
	a := Auth{
		Username:   string(data["username"]),
		Password:   string(data["password"]),
		Identity:   bytes.Clone(data["identity"]),
		KnownHosts: bytes.Clone(data["known_hosts"]),
		CA:         bytes.Clone(data["ca.crt"]),
	}
	if tok := string(data["token"]); tok != "" {
		if a.Password != "" && a.Password != tok {
			return Auth{}, errors.New("secret: password and token differ; set one of them")
		}
		a.Password = tok
	}
	if len(a.Identity) > 0 && len(a.KnownHosts) == 0 {
		return Auth{}, errors.New("secret: identity without known_hosts: ssh needs the server's host keys to refuse any other server")
	}
	if len(a.Identity) > 0 {
		if _, err := a.signer(); err != nil {
			return Auth{}, a.scrub(fmt.Errorf("secret: %w", err))
		}
	}
	if len(a.KnownHosts) > 0 {
		if err := checkKnownHosts(a.KnownHosts); err != nil {
			return Auth{}, a.scrub(fmt.Errorf("secret: %w", err))
		}
	}
	if len(a.CA) > 0 {
		if _, err := capool.FromPEM(a.CA); err != nil {
			return Auth{}, fmt.Errorf("secret: ca.crt: %w", err)
		}
	}
	return a, nil
}

// signer parses the identity, with Password as its passphrase when it
// has one.
func (a Auth) signer() (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(a.Identity)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if a.Password == "" {
			return nil, errors.New("identity is protected by a passphrase; put the passphrase in password")
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(a.Identity, []byte(a.Password))
		if err != nil {
			return nil, errors.New("identity: the passphrase (password) does not decrypt it")
		}
	}
	if err != nil {
		return nil, errors.New("identity: not an SSH private key in PEM or OpenSSH format")
	}
	return s, nil
}

// checkKnownHosts parses every line of a known_hosts file.
func checkKnownHosts(b []byte) error {
	n := 0
	for line, rest := 1, b; len(rest) > 0; line++ {
		var text []byte
		text, rest, _ = bytes.Cut(rest, []byte("\n"))
		text = bytes.TrimSpace(text)
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		if _, _, _, _, _, err := ssh.ParseKnownHosts(text); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("known_hosts line %d: not a known_hosts entry", line)
		}
		n++
	}
	if n == 0 {
		return errors.New("known_hosts: no host keys")
	}
	return nil
}

// secrets lists the strings no error may contain: the password and the
// body lines of the identity.
func (a Auth) secrets() []string {
	var s []string
	if len(a.Password) >= minSecret {
		s = append(s, a.Password)
	}
	for line := range strings.Lines(string(a.Identity)) {
		line = strings.TrimSpace(line)
		if len(line) >= minSecret && !strings.HasPrefix(line, "-----") {
			s = append(s, line)
		}
	}
	return s
}

// minSecret is the shortest credential scrubbed from messages: replacing a
// shorter one would mangle every message without hiding anything.
const minSecret = 4

// scrub returns err with every credential of a (and the extra strings)
// masked in its message; errors.Is and errors.As still see the chain.
func (a Auth) scrub(err error, extra ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range append(a.secrets(), extra...) {
		if len(s) >= minSecret && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &messageError{msg: msg, err: err}
}

// messageError gives err another message, keeping it in the chain.
type messageError struct {
	msg string
	err error
}

func (e *messageError) Error() string { return e.msg }
func (e *messageError) Unwrap() error { return e.err }
