package capool_test

import (
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/capool"
	"github.com/plinth-platform/plinth/lib/capool/capooltest"
)

func TestFromFile(t *testing.T) {
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	srv := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	dir := t.TempDir()

	get := func(pool *x509.CertPool) error {
		tr, err := capool.Transport(nil, pool)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	pool, err := capool.FromFile(ca.WriteFile(t, dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := get(pool); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	other, err := capool.FromPEM(capooltest.NewCA(t, "Other CA").PEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(other); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("with another CA: %v", err)
	}

	for name, data := range map[string]string{
		"empty":   "",
		"garbage": "not a certificate",
		"key":     "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n",
		"broken":  "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		p := filepath.Join(dir, name+".pem")
		os.WriteFile(p, []byte(data), 0o644)
		_, err := capool.FromFile(p)
		if err == nil || !strings.Contains(err.Error(), "CA file "+p+": ") || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := capool.FromFile(filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
}

// TestSSLCertFile checks that a client with plinth's default TLS settings
// (RootCAs nil, or a pool from FromPEM) trusts what SSL_CERT_FILE names.
// Go loads the system roots once per process, so the check runs in a
// child process of this test binary with the variable set.
func TestSSLCertFile(t *testing.T) {
	if url := os.Getenv("CAPOOL_TEST_URL"); url != "" {
		resp, err := http.Get(url) // http.DefaultTransport: RootCAs nil
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		pool, err := capool.FromPEM(capooltest.NewCA(t, "Unrelated CA").PEM)
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := capool.Transport(nil, pool)
		resp, err = (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatalf("a pool with another CA lost the system roots: %v", err)
		}
		resp.Body.Close()
		return
	}
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	srv := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, v := range []string{"SSL_CERT_FILE", "SSL_CERT_DIR"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			file := ca.WriteFile(t, dir, "ca.pem")
			cmd := exec.Command(os.Args[0], "-test.run=^TestSSLCertFile$", "-test.count=1")
			cmd.Env = append(os.Environ(), "CAPOOL_TEST_URL="+srv.URL, "SSL_CERT_FILE=/nonexistent", "SSL_CERT_DIR=/nonexistent")
			if v == "SSL_CERT_FILE" {
				cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+file)
			} else {
				// A directory of hashed names as c_rehash makes; Go reads every file in it.
				cmd.Env = append(cmd.Env, "SSL_CERT_DIR="+dir)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		})
	}
}
