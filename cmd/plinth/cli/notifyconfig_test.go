package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/capool/capooltest"
)

// The controller's notify config takes a CA per target, inline or as a
// file, and refuses at start a target whose CA does not load.
func TestReadNotifyConfigCA(t *testing.T) {
	dir := t.TempDir()
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	caFile := ca.WriteFile(t, dir, "ca.pem")
	inline := "      " + strings.ReplaceAll(strings.TrimSpace(string(ca.PEM)), "\n", "\n      ")
	write := func(text string) string {
		p := filepath.Join(dir, "notify.yaml")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	targets, err := readNotifyConfig(write(`- name: audit
  url: https://audit.bank.example/plinth
  format: json
  caFile: ` + caFile + `
- name: team
  url: https://hooks.bank.example/T000/secret-token
  format: slack
  ca: |
` + inline + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 2 || targets[0].CAFile != caFile || !strings.Contains(targets[1].CA, "BEGIN CERTIFICATE") {
		t.Errorf("targets %+v", targets)
	}

	_, err = readNotifyConfig(write(`- name: team
  url: https://hooks.bank.example/T000/secret-token
  format: slack
  caFile: ` + filepath.Join(dir, "missing.pem") + "\n"))
	if err == nil || !strings.Contains(err.Error(), `notify target "team" (https://hooks.bank.example): CA file: `) || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("missing CA file: %v", err)
	}
}
