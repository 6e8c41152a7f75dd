package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/secrets"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// ageKeySuffix marks the keys of the decryption Secret that hold age
// identities, as Flux's kustomize-controller reads them.
const ageKeySuffix = ".agekey"

// decryptSecrets decrypts the checkout's encrypted Secrets in memory with
// the identities of spec.decryption.secretRef. A file that is not an
// encrypted Secret is the commit's fault (terminal); a missing or wrong
// key is fixed in the cluster, without a commit (retried).
func (p *pass) decryptSecrets(ctx context.Context, env platform.Environment) (manifest.Component, []secrets.File, error) {
	files, problems, err := secrets.Load(env.Root, env.Dir)
	if err != nil {
		return manifest.Component{}, nil, terminal("RenderFailed", err)
	}
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, pr := range problems {
			errs[i] = pr
		}
		return manifest.Component{}, nil, terminal("RenderFailed", errors.Join(errs...))
	}
	if len(files) == 0 {
		return manifest.Component{}, nil, nil
	}
	ids, err := p.r.decryptionKeys(ctx, p.env)
	if err != nil {
		return manifest.Component{}, nil, retryable("DecryptionFailed", err)
	}
	c, err := secrets.Component(env.Name, files, ids)
	if err != nil {
		return manifest.Component{}, nil, retryable("DecryptionFailed", err)
	}
	return c, files, nil
}

// decryptionKeys reads the age identities of the Environment's
// decryption Secret: every key ending in .agekey. The errors name the
// Secret and its keys, never their content.
func (r *Reconciler) decryptionKeys(ctx context.Context, env *v1.Environment) (secrets.Identities, error) {
	if env.Spec.Decryption == nil || env.Spec.Decryption.SecretRef.Name == "" {
		return secrets.Identities{}, errors.New("the environment has encrypted Secrets and spec.decryption.secretRef names no Secret with their age key")
	}
	secret, err := r.secret(ctx, "decryption secret", env.Namespace, env.Spec.Decryption.SecretRef.Name)
	if err != nil {
		return secrets.Identities{}, err
	}
	key := types.NamespacedName{Namespace: secret.Namespace, Name: secret.Name}
	var text []string
	for _, k := range slices.Sorted(maps.Keys(secret.Data)) {
		if !strings.HasSuffix(k, ageKeySuffix) {
			continue
		}
		if _, err := secrets.ParseIdentities(secret.Data[k]); err != nil {
			return secrets.Identities{}, fmt.Errorf("decryption secret %s: key %s: %w", key, k, err)
		}
		text = append(text, string(secret.Data[k]))
	}
	if len(text) == 0 {
		return secrets.Identities{}, fmt.Errorf("decryption secret %s has no key ending in %s (age-keygen's output, as age.agekey)", key, ageKeySuffix)
	}
	return secrets.ParseIdentities([]byte(strings.Join(text, "\n")))
}
