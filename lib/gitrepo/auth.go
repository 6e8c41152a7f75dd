package gitrepo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/ssh"
)

// Limits on what one Head or Fetch reads: variables, for a program (or a
// test) to tune before it starts fetching.
var (
	// MaxRefsBytes bounds a ref advertisement read over HTTP.
	MaxRefsBytes int64 = 64 << 20
	// MaxPackBytes bounds the pack one Fetch downloads (or copies from a
	// file:// repository).
	MaxPackBytes int64 = 1 << 30
	// MaxPackObjects bounds the objects a pack from a server may hold:
	// go-git allocates index memory for as many objects as a pack's header
	// claims (32 bytes each) before reading any, so twelve bytes claiming
	// 2³²-1 objects would take 128 GiB. A depth-1 pack of a tree within
	// MaxFiles holds fewer than 2*MaxFiles+3 objects.
	MaxPackObjects int64 = 1 << 20
	// MaxObjectBytes bounds one object of a pack from a server, inflated
	// (a file's size, or what a delta makes): go-git inflates every object
	// of a pack whole in memory to index it, so a blob of zeros that packs
	// into a few MiB would take GiBs. Fetch checks the sizes the pack
	// declares (go-git holds each object to its declared size) before
	// go-git reads it.
	MaxObjectBytes int64 = 128 << 20
	// MaxFiles (files, and separately directories) and MaxBytes (their
	// total size) bound the tree a Fetch checks out.
	MaxFiles = MaxExportFiles
	MaxBytes = MaxExportBytes
)

// DefaultBranch is followed when a Ref names nothing.
const DefaultBranch = "main"

// Ref selects what to follow: exactly one of Branch, Tag, Commit (Commit: a
// full SHA; Branch defaults to "main" when all are empty).
type Ref struct{ Branch, Tag, Commit string }

func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Branch != "":
		return "branch " + r.Branch
	}
	return "branch " + DefaultBranch
}

// normalize checks r and fills in the default branch; a commit is
// returned in lower case.
func (r Ref) normalize() (Ref, error) {
	var set []string
	for _, f := range []struct{ name, value string }{{"branch", r.Branch}, {"tag", r.Tag}, {"commit", r.Commit}} {
		if f.value != "" {
			set = append(set, f.name)
		}
	}
	switch {
	case len(set) > 1:
		return Ref{}, fmt.Errorf("ref sets %s: set exactly one of branch, tag and commit", strings.Join(set, " and "))
	case len(set) == 0:
		r.Branch = DefaultBranch
	}
	switch {
	case r.Branch != "":
		if err := checkRefName(plumbing.NewBranchReferenceName(r.Branch)); err != nil {
			return Ref{}, fmt.Errorf("branch %q: %w", r.Branch, err)
		}
	case r.Tag != "":
		if err := checkRefName(plumbing.NewTagReferenceName(r.Tag)); err != nil {
			return Ref{}, fmt.Errorf("tag %q: %w", r.Tag, err)
		}
	default:
		c, err := parseCommit(r.Commit)
		if err != nil {
			return Ref{}, err
		}
		r.Commit = c
	}
	return r, nil
}

func checkRefName(n plumbing.ReferenceName) error {
	if strings.HasPrefix(n.Short(), "refs/") {
		return errors.New("give the short name, without refs/")
	}
	if n.Validate() != nil {
		return errors.New("not a valid git ref name")
	}
	return nil
}

// parseCommit accepts a full SHA-1 commit hash and returns it in lower case.
func parseCommit(s string) (string, error) {
	c := strings.ToLower(s)
	if len(c) != 40 || strings.Trim(c, "0123456789abcdef") != "" {
		return "", fmt.Errorf("commit %q: not a full 40-digit hexadecimal SHA", s)
	}
	return c, nil
}

// Auth holds credentials read from a Kubernetes Secret's data.
//
// Auth's String and GoString say which fields are set, never their
// values, so printing an Auth is safe.
type Auth struct {
	Username, Password string // HTTPS basic auth; a token goes in Password (Username defaults to "git")
	Identity           []byte // SSH private key (PEM / OpenSSH)
	KnownHosts         []byte // SSH known_hosts: required for ssh:// URLs; a host key not listed is refused
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
	if len(parts) == 0 {
		return "no credentials"
	}
	return strings.Join(parts, ", ")
}

// GoString keeps %#v from printing the secrets.
func (a Auth) GoString() string { return "gitrepo.Auth{" + a.String() + "}" }

// AuthFromSecret reads keys "username", "password", "token" (same as
// password), "identity", "known_hosts"; unknown keys are ignored; an
// "identity" without "known_hosts" is an error.
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
