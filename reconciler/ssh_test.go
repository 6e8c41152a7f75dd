package reconciler_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// Over SSH the git server's host key is checked against the Secret's
// known_hosts: the right key works, another key is refused.
func TestSSHHostKey(t *testing.T) {
	r := newRepo(t)
	r.env("zeta", "app-ssh", map[string]string{"settings": "one"})
	first := r.push("first")
	keyDir := t.TempDir()
	r.server.KeyDir(keyDir)
	if err := r.server.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.server.StartSSH() }()
	t.Cleanup(func() { _ = r.server.StopSSH() })
	pubBytes, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := strings.TrimPrefix(r.server.SSHAddress(), "ssh://git@")
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other, err := ssh.NewSignerFromKey(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	_, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	identity := pem.EncodeToMemory(block)

	startController(t, "")
	for _, tc := range []struct {
		name    string
		hostKey ssh.PublicKey
		ok      bool
	}{{"right-key", hostKey, true}, {"wrong-key", other.PublicKey(), false}} {
		t.Run(tc.name, func(t *testing.T) {
			known := knownhosts.Line([]string{knownhosts.Normalize(hostPort)}, tc.hostKey) + "\n"
			c, e := newEnvironment(t, r, "zeta", func(e *v1.Environment) {
				e.Spec.Git.URL = r.server.SSHAddress() + "/envs.git"
				e.Spec.Git.SecretRef = &v1.LocalObjectReference{Name: "ssh-auth"}
			})
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ssh-auth", Namespace: e.Namespace},
				Data: map[string][]byte{"identity": identity, "known_hosts": []byte(known)}}
			if err := c.Create(context.Background(), secret); err != nil {
				t.Fatal(err)
			}
			if tc.ok {
				waitFor(t, c, e, "applied over ssh", func(e *v1.Environment) bool { return e.Status.LastAppliedRevision == first })
				return
			}
			cur := waitFor(t, c, e, "refused", func(e *v1.Environment) bool {
				cond := condition(e, v1.ConditionReady)
				return cond != nil && cond.Status == metav1.ConditionFalse && strings.Contains(cond.Message, "host key")
			})
			if cur.Status.LastAppliedRevision != "" {
				t.Fatalf("applied over a host it does not know: %+v", cur.Status)
			}
			if strings.Contains(condition(cur, v1.ConditionReady).Message, "PRIVATE KEY") {
				t.Fatal("the private key leaked into the status")
			}
		})
	}
}
