package secrets

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// sentinel is the plaintext value no output, error or file may show.
const sentinel = "s3ntinel-Pa55word"

const plainSecret = `apiVersion: v1
kind: Secret
metadata:
  name: grafana-admin
  namespace: monitoring
type: Opaque
stringData:
  admin-password: ` + sentinel + `
data:
  admin-user: ` + "YWRtaW4=" + `
`

// newIdentity returns a fresh age identity: its recipient and the key file's text.
func newIdentity(t *testing.T) (recipient, keyFile string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String(), "# created: in the test\n" + id.String() + "\n"
}

// environment writes an environment directory with the given files under secrets/.
func environment(t *testing.T, files map[string][]byte) (root, envDir string) {
	t.Helper()
	root = t.TempDir()
	envDir = filepath.Join(root, "environments", "lab")
	if err := os.MkdirAll(filepath.Join(envDir, Dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(envDir, Dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, envDir
}

func noSentinel(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, sentinel) || strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(sentinel))) {
		t.Errorf("%s shows the plaintext value: %s", what, text)
	}
}

// An encrypted Secret loads without a key, names its keys, and decrypts
// with the identity it was encrypted for into a labelled Secret.
func TestRoundTrip(t *testing.T) {
	recipient, keyFile := newIdentity(t)
	enc, err := Encrypt([]byte(plainSecret), recipient)
	if err != nil {
		t.Fatal(err)
	}
	noSentinel(t, "the encrypted file", string(enc))
	root, envDir := environment(t, map[string][]byte{"grafana.yaml": enc})
	files, problems, err := Load(root, envDir)
	if err != nil || len(problems) > 0 || len(files) != 1 {
		t.Fatalf("Load: %v %v %d files", err, problems, len(files))
	}
	f := files[0]
	if f.Path != "environments/lab/secrets/grafana.yaml" || f.Name != "grafana-admin" || f.Namespace != "monitoring" || strings.Join(f.Keys, ",") != "admin-password,admin-user" {
		t.Errorf("file %+v", f)
	}
	ids, err := ParseIdentities([]byte(keyFile))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Component("lab", files, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Objects) != 1 {
		t.Fatalf("%d objects", len(c.Objects))
	}
	o := c.Objects[0]
	if got := o.Object["stringData"].(map[string]any)["admin-password"]; got != sentinel {
		t.Errorf("admin-password decrypted to %q", got)
	}
	if got := o.Object["data"].(map[string]any)["admin-user"]; got != "YWRtaW4=" {
		t.Errorf("admin-user decrypted to %q", got)
	}
	if _, ok := o.Object["sops"]; ok {
		t.Error("the sops metadata is left in the Secret")
	}
	if l := o.GetLabels(); l[manifest.LabelEnvironment] != "lab" || l[manifest.LabelComponent] != ComponentName || l[manifest.LabelManagedBy] != "plinth" {
		t.Errorf("labels %v", l)
	}

	// The keys alone, without an identity.
	k := KeysOnly("lab", files).Objects[0]
	if d := k.Object["data"].(map[string]any); len(d) != 2 || d["admin-password"] != "" {
		t.Errorf("keys only: %v", d)
	}
}

// sops encrypts every value anew: the same Secret encrypted twice (as an
// edit re-encrypts it) shares no ciphertext, so without a key only the
// key names can be compared.
func TestEncryptionIsFresh(t *testing.T) {
	recipient, _ := newIdentity(t)
	a, err := Encrypt([]byte(plainSecret), recipient)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt([]byte(plainSecret), recipient)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(a)) {
		if strings.Contains(line, "ENC[") && strings.Contains(string(b), strings.TrimSpace(line)) {
			t.Errorf("value encrypted the same twice: %s", line)
		}
	}
}

// A wrong identity, or none, fails naming the file and never the value,
// even with the right one in $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY.
func TestWrongKey(t *testing.T) {
	recipient, rightKey := newIdentity(t)
	_, other := newIdentity(t)
	enc, err := Encrypt([]byte(plainSecret), recipient)
	if err != nil {
		t.Fatal(err)
	}
	root, envDir := environment(t, map[string][]byte{"grafana.yaml": enc})
	files, _, err := Load(root, envDir)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := ParseIdentities([]byte(other))
	if err != nil {
		t.Fatal(err)
	}
	// The right key in sops's variables is never read: only the
	// identities passed in decrypt (the controller decrypts for
	// several Environments at once).
	keyPath := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(keyPath, []byte(rightKey), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(KeyFileVariable, keyPath)
	t.Setenv(KeyVariable, rightKey)
	for _, ids := range []Identities{wrong, {}} {
		c, err := Component("lab", files, ids)
		if err == nil || len(c.Objects) > 0 {
			t.Fatalf("decrypted with the wrong key: %v", c.Objects)
		}
		if !strings.Contains(err.Error(), "environments/lab/secrets/grafana.yaml") {
			t.Errorf("error does not name the file: %v", err)
		}
		noSentinel(t, "the error", err.Error())
		if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
			t.Errorf("error shows a key: %v", err)
		}
	}
	// A file changed without sops fails its MAC, even with the right key.
	tampered := strings.Replace(string(enc), "grafana-admin", "grafana-other", 1)
	root, envDir = environment(t, map[string][]byte{"grafana.yaml": []byte(tampered)})
	files, _, _ = Load(root, envDir)
	right, _ := ParseIdentities([]byte(rightKey))
	if _, err := Component("lab", files, right); err == nil || !strings.Contains(err.Error(), "grafana.yaml: its MAC does not match") {
		t.Errorf("a tampered file: %v", err)
	}
	if _, err := ParseIdentities([]byte("AGE-SECRET-KEY-1NOTAKEY" + sentinel)); err == nil {
		t.Error("a bad identity parses")
	} else {
		noSentinel(t, "the identity error", err.Error())
	}
}

// vet's checks: a plaintext Secret, a file without sops metadata, an
// encrypted name, more than one object, another kind; each names the
// file (and the key) and never the value.
func TestLoadRefuses(t *testing.T) {
	recipient, _ := newIdentity(t)
	enc, err := Encrypt([]byte(plainSecret), recipient)
	if err != nil {
		t.Fatal(err)
	}
	// A value decrypted back into the file by hand.
	halfPlain := []byte(strings.Replace(string(enc), "admin-user: ENC[", "admin-user: x\n    other: ENC[", 1))
	root, envDir := environment(t, map[string][]byte{
		"plain.yaml":  []byte(plainSecret),
		"half.yaml":   halfPlain,
		"two.yaml":    append(append([]byte{}, enc...), []byte("---\n"+string(enc))...),
		"cm.yaml":     []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"),
		"broken.yaml": []byte("apiVersion: v1\nkind: Secret\n  bad: " + sentinel + ": x\n"),
		"notes.txt":   []byte("hello"),
		"whole.yaml":  wholeEncrypted(t, recipient),
		"ok.yaml":     enc,
	})
	files, problems, err := Load(root, envDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "environments/lab/secrets/ok.yaml" {
		t.Errorf("files %v", files)
	}
	var text []string
	for _, p := range problems {
		text = append(text, p.Error())
		noSentinel(t, "a problem", p.Error())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"environments/lab/secrets/plain.yaml: has no sops metadata",
		"environments/lab/secrets/half.yaml: data.admin-user: is not encrypted",
		"environments/lab/secrets/two.yaml: holds 2 objects",
		"environments/lab/secrets/cm.yaml: is a v1 ConfigMap, not a v1 Secret",
		"environments/lab/secrets/broken.yaml: is not one Kubernetes object in YAML",
		"environments/lab/secrets/notes.txt: only *.yaml files",
		"environments/lab/secrets/whole.yaml: is encrypted whole",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem %q in:\n%s", want, all)
		}
	}
}

// wholeEncrypted is the Secret as sops encrypts it by default: every
// value, kind and name included.
func wholeEncrypted(t *testing.T, recipient string) []byte {
	t.Helper()
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile([]byte(plainSecret))
	if err != nil {
		t.Fatal(err)
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{KeyGroups: []sops.KeyGroup{{mk}}, Version: "3.13.3"}}
	key, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewLocalClient()})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := tree.Encrypt(key, aes.NewCipher()); err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
