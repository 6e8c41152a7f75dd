// Package capool builds the certificate pools plinth's HTTPS clients
// trust when a private CA is given: the system's roots with the CA's
// certificates added, never the CA alone, so that a bank's CA adds to what
// is trusted (a mirror proxying public hosts still works) instead of
// replacing it. On Linux, Go reads the system roots from SSL_CERT_FILE and
// SSL_CERT_DIR when they are set, so those work as they do for curl and
// git.
//
// Without a CA, callers leave tls.Config.RootCAs nil, which is the
// system's roots as well.
package capool

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// FromFile returns the system roots and the certificates of the PEM file
// name. Errors name the file.
func FromFile(name string) (*x509.CertPool, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool, err := FromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("CA file %s: %w", name, err)
	}
	return pool, nil
}

// FromPEM returns the system roots and the certificates of a PEM bundle.
// Every block must be a certificate that parses: x509's AppendCertsFromPEM
// would skip a broken one silently, and a bundle that trusts less than it
// seems fails later, at a handshake, with a less helpful message. Errors
// never quote the data (a private key pasted by mistake stays out of logs).
func FromPEM(data []byte) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool() // no system roots here: the CA alone
	}
	n := 0
	for rest := data; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) > 0 && n == 0 {
				return nil, errors.New("not PEM: want certificates as -----BEGIN CERTIFICATE----- blocks")
			}
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE", n+1, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: not an X.509 certificate: %w", n+1, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, errors.New("no certificates")
	}
	return pool, nil
}

// Transport returns a clone of base (http.DefaultTransport when nil) that
// trusts pool; other TLS settings of base are kept. It fails for a
// RoundTripper that is not an *http.Transport, whose TLS settings it cannot
// reach.
func Transport(base http.RoundTripper, pool *x509.CertPool) (*http.Transport, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("cannot add a CA to a %T transport", base)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.RootCAs = pool
	return t, nil
}
