package reconciler_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"filippo.io/age"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/secrets"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// An encrypted Secret in git is applied with the age key of the
// Environment's decryption Secret: with a wrong key the Environment is
// not Ready (DecryptionFailed, naming the file) and nothing is applied;
// once the decryption Secret holds the right key the same commit
// applies, without a new one. The value is in no condition, event or log.
func TestEncryptedSecrets(t *testing.T) {
	const value = "s3ntinel-CONTROLLER-pw"
	right, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	ns := "app-sops"
	r := newRepo(t)
	r.env("sops", ns, map[string]string{"settings": "one"})
	enc, err := secrets.Encrypt([]byte(`apiVersion: v1
kind: Secret
metadata: {name: db, namespace: `+ns+`}
stringData: {password: `+value+`}
`), right.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	r.write("environments/sops/secrets/db.yaml", string(enc))
	first := r.push("an encrypted Secret")

	ctl := startController(t, "")
	c, e := newEnvironment(t, r, "sops", func(e *v1.Environment) {
		e.Spec.Decryption = &v1.Decryption{SecretRef: v1.LocalObjectReference{Name: "sops-age"}}
	})
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sops-age", Namespace: e.Namespace},
		Data: map[string][]byte{"age.agekey": []byte(wrong.String() + "\n")}}
	if err := c.Create(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	cur := waitFor(t, c, e, "a wrong key refused", func(e *v1.Environment) bool {
		return isFalse(e, v1.ConditionReady, "DecryptionFailed")
	})
	if msg := condition(cur, v1.ConditionReady).Message; !strings.Contains(msg, "environments/sops/secrets/db.yaml: none of the age identities given decrypts it") {
		t.Fatalf("Ready's message: %s", msg)
	}
	if cur.Status.LastAppliedRevision != "" || configMapValue(t, ns, "settings") != `<configmaps "settings" not found>` {
		t.Fatalf("applied with a wrong key: %+v, settings %s", cur.Status, configMapValue(t, ns, "settings"))
	}

	keys.Data["age.agekey"] = []byte("# the right one\n" + right.String() + "\n")
	if err := c.Update(context.Background(), keys); err != nil {
		t.Fatal(err)
	}
	cur = waitFor(t, c, e, "applied with the right key", func(e *v1.Environment) bool { return e.Status.LastAppliedRevision == first })
	secret := &corev1.Secret{}
	if err := cluster.Client(t).Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "db"}, secret); err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["password"]) != value || secret.Labels[manifest.LabelComponent] != secrets.ComponentName || secret.Labels[manifest.LabelEnvironment] != "sops" {
		t.Fatalf("the Secret in the cluster: labels %v, password of %d bytes", secret.Labels, len(secret.Data["password"]))
	}

	var everything strings.Builder
	for _, cond := range cur.Status.Conditions {
		everything.WriteString(cond.Message + "\n")
	}
	var events corev1.EventList
	if err := c.List(context.Background(), &events, client.InNamespace(e.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		everything.WriteString(ev.Message + "\n")
	}
	everything.WriteString(ctl.logs.String())
	for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value)), "AGE-SECRET-KEY"} {
		if strings.Contains(everything.String(), form) {
			t.Fatalf("%q leaked:\n%s", form, everything.String())
		}
	}
}
