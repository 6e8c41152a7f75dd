package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
)

// The clients of apply, drift and the controller have no client-side rate
// limit unless --kube-api-qps sets one (the server's priority and fairness
// decides); with one, the burst defaults to twice the QPS.
func TestKubeClientRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		qps   float32
		burst int
	}{
		{nil, -1, -1},
		{[]string{"--kube-api-qps", "20"}, 20, 40},
		{[]string{"--kube-api-qps", "20", "--kube-api-burst", "100"}, 20, 100},
		{[]string{"--kube-api-qps", "0"}, -1, -1},
	} {
		var f kubeFlags
		cmd := &cobra.Command{}
		f.add(cmd)
		if err := cmd.ParseFlags(append([]string{"--kubeconfig", kubeconfig}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.QPS != tc.qps || cfg.Burst != tc.burst {
			t.Errorf("%v: QPS %v burst %d, want %v and %d", tc.args, cfg.QPS, cfg.Burst, tc.qps, tc.burst)
		}
	}
}
