package gitrepo

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/plinth-platform/plinth/lib/capool/capooltest"
)

// TestHTTPSPrivateCA serves a repository over HTTPS with a certificate
// from a CA made here, behind basic auth: the Secret's ca.crt and
// credentials reach it; without the CA, with another CA or without
// credentials it fails naming the host and the problem, and no error
// holds the password.
func TestHTTPSPrivateCA(t *testing.T) {
	srv := newServer(t)
	src := newSource(t)
	commit := src.commit(map[string]string{"environments/prod/env.cue": "package plinth\n"})
	src.push(srv.httpURL("env.git"))

	ca := capooltest.NewCA(t, "Test Bank Root CA")
	cert, key := ca.LeafPEM(t)
	if err := srv.StartHTTPS(cert, key, nil, ""); err != nil {
		t.Fatal(err)
	}
	url := srv.httpURL("env.git")
	host := strings.TrimPrefix(srv.HTTPAddress(), "https://")

	auth, err := AuthFromSecret(map[string][]byte{"username": []byte(user), "password": []byte(password), "ca.crt": ca.PEM})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %#v", auth, auth); !strings.Contains(s, "ca.crt set") || strings.Contains(s, password) {
		t.Errorf("Auth prints as %s", s)
	}
	got, err := Head(ctx(t), url, Ref{}, auth)
	if err != nil || got != commit {
		t.Fatalf("Head = %s, %v; want %s", got, err, commit)
	}
	dir := filepath.Join(t.TempDir(), "checkout")
	if _, err := Fetch(ctx(t), url, Ref{}, auth, got, dir); err != nil {
		t.Fatal(err)
	}
	checkout(t, dir, commit, map[string]string{"environments/prod/env.cue": "package plinth\n"})

	other := capooltest.NewCA(t, "Other CA")
	for name, a := range map[string]Auth{
		"no CA":      {Username: user, Password: password},
		"another CA": {Username: user, Password: password, CA: other.PEM},
	} {
		_, err := Head(ctx(t), url, Ref{}, a)
		noSecret(t, err)
		t.Logf("%s: %v", name, err)
		if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
			t.Errorf("%s: %v", name, err)
		}
	}

	_, err = Head(ctx(t), url, Ref{}, Auth{CA: ca.PEM})
	t.Logf("without credentials: %v", err)
	if !errors.Is(err, transport.ErrAuthenticationRequired) || !strings.Contains(err.Error(), host) {
		t.Errorf("without credentials: %v", err)
	}

	// ca.crt must hold certificates.
	if _, err := AuthFromSecret(map[string][]byte{"ca.crt": []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n")}); err == nil ||
		!strings.Contains(err.Error(), "secret: ca.crt: PEM block 1 is a PRIVATE KEY, not a CERTIFICATE") {
		t.Errorf("a key as ca.crt: %v", err)
	}
}
