package reconciler_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/plinth-platform/plinth/lib/capool/capooltest"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// Over HTTPS with a certificate from a private CA, the git Secret's ca.crt
// is trusted for that repository: with it the revision applies; without it
// the Environment is not Ready, its message naming the certificate
// problem and never the password.
func TestGitSecretCA(t *testing.T) {
	r := newRepo(t)
	r.env("ca", "app-ca", map[string]string{"settings": "one"})
	first := r.push("first")
	ca := capooltest.NewCA(t, "Test Bank Root CA")
	cert, key := ca.LeafPEM(t)
	if err := r.server.StartHTTPS(cert, key, nil, ""); err != nil {
		t.Fatal(err)
	}

	startController(t, "")
	for _, tc := range []struct {
		name string
		ca   []byte
		ok   bool
	}{{"with-ca", ca.PEM, true}, {"without-ca", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, e := newEnvironment(t, r, "ca", func(e *v1.Environment) {
				e.Spec.Git.URL = r.server.HTTPAddress() + "/envs.git"
				e.Spec.Git.SecretRef = &v1.LocalObjectReference{Name: "git-https"}
			})
			data := map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPassword)}
			if tc.ca != nil {
				data["ca.crt"] = tc.ca
			}
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git-https", Namespace: e.Namespace}, Data: data}
			if err := c.Create(context.Background(), secret); err != nil {
				t.Fatal(err)
			}
			if tc.ok {
				waitFor(t, c, e, "applied over https with the Secret's CA", func(e *v1.Environment) bool { return e.Status.LastAppliedRevision == first })
				return
			}
			cur := waitFor(t, c, e, "refused", func(e *v1.Environment) bool {
				cond := condition(e, v1.ConditionReady)
				return cond != nil && cond.Status == metav1.ConditionFalse && strings.Contains(cond.Message, "certificate signed by unknown authority")
			})
			if cur.Status.LastAppliedRevision != "" {
				t.Fatalf("applied from a server it does not trust: %+v", cur.Status)
			}
			if msg := condition(cur, v1.ConditionReady).Message; strings.Contains(msg, gitPassword) || !strings.Contains(msg, strings.TrimPrefix(r.server.HTTPAddress(), "https://")) {
				t.Fatalf("Ready's message: %s", msg)
			}
		})
	}
}
