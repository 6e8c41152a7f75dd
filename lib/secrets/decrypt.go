package secrets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keyservice"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/manifest"
)

// The variables sops reads its age identities from; plinth apply reads
// the same.
const (
	KeyFileVariable = sopsage.SopsAgeKeyFileEnv // SOPS_AGE_KEY_FILE
	KeyVariable     = sopsage.SopsAgeKeyEnv     // SOPS_AGE_KEY
)

// Identities are age private keys that decrypt Secrets.
type Identities struct {
	ids sopsage.ParsedIdentities
}

// Empty says there is no identity.
func (i Identities) Empty() bool { return len(i.ids) == 0 }

// ParseIdentities reads age identities in age-keygen's format (lines
// AGE-SECRET-KEY-1…, # comments), as a *.agekey file or $SOPS_AGE_KEY
// hold them. Its error never quotes the input.
func ParseIdentities(data []byte) (Identities, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return Identities{}, errors.New("not age identities (lines AGE-SECRET-KEY-1…, as age-keygen writes)")
	}
	out := Identities{}
	for _, id := range ids {
		out.ids = append(out.ids, id)
	}
	return out, nil
}

// FromEnvironment reads the identities of $SOPS_AGE_KEY_FILE (a file)
// and $SOPS_AGE_KEY (the keys themselves), as sops does; both may be
// set. Neither set gives no identity and no error.
func FromEnvironment(getenv func(string) string) (Identities, error) {
	var all Identities
	if path := getenv(KeyFileVariable); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Identities{}, fmt.Errorf("$%s: %w", KeyFileVariable, err)
		}
		ids, err := ParseIdentities(data)
		if err != nil {
			return Identities{}, fmt.Errorf("$%s (%s): %w", KeyFileVariable, path, err)
		}
		all.ids = append(all.ids, ids.ids...)
	}
	if keys := getenv(KeyVariable); keys != "" {
		ids, err := ParseIdentities([]byte(keys))
		if err != nil {
			return Identities{}, fmt.Errorf("$%s: %w", KeyVariable, err)
		}
		all.ids = append(all.ids, ids.ids...)
	}
	return all, nil
}

// Decrypt decrypts f in memory with ids into its Secret. The error names
// the file and never a value or a key.
func Decrypt(f File, ids Identities) (*unstructured.Unstructured, error) {
	if ids.Empty() {
		return nil, fmt.Errorf("%s: no age identity to decrypt it", f.Path)
	}
	store := sopsyaml.NewStore(&config.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(f.raw)
	if err != nil {
		return nil, fmt.Errorf("%s: reading its sops metadata: %w", f.Path, err)
	}
	svc := keyservice.NewCustomLocalClient(ageService(ids))
	key, err := tree.Metadata.GetDataKeyWithKeyServices([]keyservice.KeyServiceClient{svc}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: none of the age identities given decrypts it (it is encrypted for %s)", f.Path, strings.Join(recipients(tree.Metadata), ", "))
	}
	// sops's errors from here on may quote values.
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(key, cipher)
	if err != nil {
		return nil, fmt.Errorf("%s: its values do not decrypt with its data key: the file is damaged or was edited without sops", f.Path)
	}
	stored, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || stored != mac {
		return nil, fmt.Errorf("%s: its MAC does not match its content: the file was changed without sops (edit it with sops %s)", f.Path, f.Path)
	}
	plain, err := store.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, fmt.Errorf("%s: writing the decrypted Secret failed", f.Path)
	}
	o := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(plain, &o.Object); err != nil {
		return nil, fmt.Errorf("%s: the decrypted Secret is not an object", f.Path)
	}
	delete(o.Object, "sops")
	return o, nil
}

// Component decrypts the files with ids into the Secrets of component
// ComponentName of environment env, labelled as render labels every
// object. Every file that fails is named; a failure returns no Secret.
func Component(env string, files []File, ids Identities) (manifest.Component, error) {
	c := manifest.Component{Name: ComponentName}
	var errs []error
	for _, f := range files {
		o, err := Decrypt(f, ids)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Objects = append(c.Objects, label(o, env))
	}
	if err := errors.Join(errs...); err != nil {
		return manifest.Component{}, err
	}
	manifest.Sort(c.Objects)
	return c, nil
}

// KeysOnly is Component without decrypting: each Secret with its key
// names and empty values, for a comparison of keys added and removed
// when no identity is at hand (sops encrypts every value anew whenever
// a file is edited, so the encrypted values say nothing about which
// changed).
func KeysOnly(env string, files []File) manifest.Component {
	c := manifest.Component{Name: ComponentName}
	for _, f := range files {
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("Secret")
		o.SetNamespace(f.Namespace)
		o.SetName(f.Name)
		data := map[string]any{}
		for _, k := range f.Keys {
			data[k] = ""
		}
		o.Object["data"] = data
		c.Objects = append(c.Objects, label(o, env))
	}
	manifest.Sort(c.Objects)
	return c
}

// With adds the Secrets' component to an environment's rendered
// components, first (workloads read them), refusing a Secret that a
// component renders too.
func With(comps []manifest.Component, secrets manifest.Component, files []File) ([]manifest.Component, error) {
	if len(secrets.Objects) == 0 {
		return comps, nil
	}
	rendered := map[manifest.ID]string{}
	for _, c := range comps {
		if c.Name == ComponentName {
			return nil, fmt.Errorf("component %s is rendered, and the name is reserved for the Secrets of %s/", ComponentName, Dir)
		}
		for _, o := range c.Objects {
			rendered[manifest.IDOf(o)] = c.Name
		}
	}
	var errs []error
	for _, o := range secrets.Objects {
		if c, ok := rendered[manifest.IDOf(o)]; ok {
			errs = append(errs, fmt.Errorf("%s: Secret %s/%s is also rendered by component %s: keep one of them", pathOf(files, o), o.GetNamespace(), o.GetName(), c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return append([]manifest.Component{secrets}, comps...), nil
}

// pathOf names the file of a Secret.
func pathOf(files []File, o *unstructured.Unstructured) string {
	for _, f := range files {
		if f.Namespace == o.GetNamespace() && f.Name == o.GetName() {
			return f.Path
		}
	}
	return Dir
}

// label marks o as render marks every object of env's component.
func label(o *unstructured.Unstructured, env string) *unstructured.Unstructured {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[manifest.LabelManagedBy] = "plinth"
	labels[manifest.LabelEnvironment] = env
	labels[manifest.LabelComponent] = ComponentName
	o.SetLabels(labels)
	return o
}

// recipients lists the age recipients of a file.
func recipients(m sops.Metadata) []string {
	var out []string
	for _, g := range m.KeyGroups {
		for _, k := range g {
			if a, ok := k.(*sopsage.MasterKey); ok {
				out = append(out, a.Recipient)
			}
		}
	}
	if len(out) == 0 {
		return []string{"no age recipient"}
	}
	return out
}

// ageService decrypts sops data keys with the identities it holds, and
// only those: sops's own key service reads them from the process's
// environment, which concurrent reconciles with different keys share.
type ageService Identities

func (s ageService) Decrypt(_ context.Context, req *keyservice.DecryptRequest) (*keyservice.DecryptResponse, error) {
	k, ok := req.GetKey().GetKeyType().(*keyservice.Key_AgeKey)
	if !ok {
		return nil, errors.New("only age keys are supported")
	}
	if len(s.ids) == 0 {
		// An age MasterKey without identities would load them from the environment.
		return nil, errors.New("no age identity")
	}
	mk := &sopsage.MasterKey{Recipient: k.AgeKey.GetRecipient(), EncryptedKey: string(req.GetCiphertext())}
	s.ids.ApplyToMasterKey(mk)
	plain, err := mk.Decrypt()
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: plain}, nil
}

func (s ageService) Encrypt(context.Context, *keyservice.EncryptRequest) (*keyservice.EncryptResponse, error) {
	return nil, errors.New("plinth does not encrypt")
}
