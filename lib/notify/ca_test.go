package notify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/capool/capooltest"
)

// TestTargetCA: a webhook behind a private CA is reached with the target's
// CA (a file or inline), and refused at once, naming the endpoint and the
// certificate problem, without it. No error shows the URL's secret path.
func TestTargetCA(t *testing.T) {
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	rec := &recorder{}
	srv := ca.Server(t, rec)
	const secretPath = "/hooks/T000-sentinel-token"
	caFile := ca.WriteFile(t, t.TempDir(), "ca.pem")
	ctx := context.Background()

	for _, tg := range []Target{
		{Name: "file", URL: srv.URL + secretPath, Format: FormatJSON, CAFile: caFile},
		{Name: "inline", URL: srv.URL + secretPath, Format: FormatJSON, CA: string(ca.PEM)},
	} {
		if err := tg.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tg.Name, err)
		}
		if err := fast().Send(ctx, tg, driftEvent()); err != nil {
			t.Errorf("%s: %v", tg.Name, err)
		}
	}
	if n := len(rec.received()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}

	other := capooltest.NewCA(t, "Other CA")
	for _, tg := range []Target{
		{Name: "no CA", URL: srv.URL + secretPath, Format: FormatJSON},
		{Name: "another CA", URL: srv.URL + secretPath, Format: FormatJSON, CA: string(other.PEM)},
	} {
		err := fast().Send(ctx, tg, driftEvent())
		var ne *Error
		if !errors.As(err, &ne) || ne.Attempts != 1 || ne.Endpoint != srv.URL ||
			!strings.Contains(err.Error(), "x509: certificate signed by unknown authority") || strings.Contains(err.Error(), "sentinel") {
			t.Errorf("%s: %v", tg.Name, err)
		}
	}

	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	for _, tg := range []Target{
		{Name: "missing", URL: srv.URL + secretPath, Format: FormatJSON, CAFile: filepath.Join(t.TempDir(), "missing.pem")},
		{Name: "bad", URL: srv.URL + secretPath, Format: FormatJSON, CAFile: bad},
		{Name: "both", URL: srv.URL + secretPath, Format: FormatJSON, CAFile: caFile, CA: string(ca.PEM)},
	} {
		verr := tg.Validate()
		serr := fast().Send(ctx, tg, driftEvent())
		for _, err := range []error{verr, serr} {
			if err == nil || !strings.HasPrefix(err.Error(), `notify target "`+tg.Name+`" (`+srv.URL+"): ") || strings.Contains(err.Error(), "sentinel") {
				t.Errorf("%s: %v", tg.Name, err)
			}
		}
	}
	if n := len(rec.received()); n != 2 {
		t.Errorf("%d requests, want still 2", n)
	}
}
