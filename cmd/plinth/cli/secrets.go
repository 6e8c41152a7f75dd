package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/plinth-platform/plinth/lib/manifest"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/secrets"
)

// RuleSecret is the rule id of vet's findings about the files of
// environments/<env>/secrets/.
const RuleSecret = "SECRET"

// secretFindings are vet's findings about env's encrypted Secrets; no key
// is needed.
func secretFindings(env platform.Environment) ([]platform.Finding, error) {
	_, problems, err := secrets.Load(env.Root, env.Dir)
	if err != nil {
		return nil, err
	}
	var findings []platform.Finding
	for _, p := range problems {
		findings = append(findings, platform.Finding{
			Environment: env.Name,
			Rule:        RuleSecret,
			Severity:    platform.SeverityError,
			Path:        p.Key,
			Position:    platform.Position{File: p.Path},
			Message:     p.Message,
		})
	}
	return findings, nil
}

// loadSecrets reads env's encrypted Secrets, refusing any that is not
// (vet's findings, as one error).
func loadSecrets(env platform.Environment) ([]secrets.File, error) {
	files, problems, err := secrets.Load(env.Root, env.Dir)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env.Name, err)
	}
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		return nil, fmt.Errorf("environment %s: %w", env.Name, errors.Join(errs...))
	}
	return files, nil
}

// decryptSecrets decrypts env's encrypted Secrets in memory with the age
// identities of $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY, as sops does: a
// missing or wrong key fails naming each file.
func decryptSecrets(env platform.Environment) (manifest.Component, []secrets.File, error) {
	files, err := loadSecrets(env)
	if err != nil || len(files) == 0 {
		return manifest.Component{}, nil, err
	}
	ids, err := secrets.FromEnvironment(os.Getenv)
	if err != nil {
		return manifest.Component{}, nil, err
	}
	c, err := secrets.Component(env.Name, files, ids)
	if err != nil && ids.Empty() {
		return manifest.Component{}, nil, fmt.Errorf("environment %s: %w: set $%s to an age key file (or $%s to the keys)", env.Name, err, secrets.KeyFileVariable, secrets.KeyVariable)
	}
	if err != nil {
		return manifest.Component{}, nil, fmt.Errorf("environment %s: %w", env.Name, err)
	}
	return c, files, nil
}
