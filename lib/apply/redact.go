package apply

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"github.com/plinth-platform/plinth/lib/manifest"
	"slices"
	"strings"
)

// The API server's refusal of a Secret can quote its values: a value that
// is not a string comes back as "expected string, got
// &value.valueUnstructured{Value:...}" (a 500 of the typed-patch
// conversion). Apply masks the set's Secret values in the errors it
// returns, which end up in logs, events and status.

// secretMask replaces a secret value in an error.
const secretMask = "***"

// minSecretLen is the shortest value masked wherever it appears: masking
// shorter ones would garble messages (and hide little).
const minSecretLen = 4

// valueDump starts the Go syntax dump of a value in the server's
// typed-patch conversion errors; it runs to the end of the line.
const valueDump = "&value.valueUnstructured{"

// secretValues returns the values of the Secrets among comps in the
// forms an error could show them: as rendered, base64-encoded and (for
// data) decoded. Longest first, so a value containing another is masked
// whole.
func secretValues(comps []manifest.Component) []string {
	seen := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecretLen {
			seen[s] = true
		}
	}
	for _, c := range comps {
		for _, o := range c.Objects {
			if o == nil || o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
				continue
			}
			for _, field := range []string{"data", "stringData"} {
				leaves(o.Object[field], func(s string) {
					add(s)
					add(base64.StdEncoding.EncodeToString([]byte(s)))
					if field == "data" {
						if b, err := base64.StdEncoding.DecodeString(s); err == nil {
							add(string(b))
						}
					}
				})
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y string) int { return cmp.Or(cmp.Compare(len(y), len(x)), cmp.Compare(x, y)) })
	return out
}

// leaves calls f with every scalar in v, as text.
func leaves(v any, f func(string)) {
	switch v := v.(type) {
	case nil:
	case map[string]any:
		for _, x := range v {
			leaves(x, f)
		}
	case []any:
		for _, x := range v {
			leaves(x, f)
		}
	case string:
		f(v)
	default:
		f(fmt.Sprint(v))
	}
}

// redactText masks the secret values in s, and any dump of a value the
// server could not convert when the set has Secrets.
func redactText(s string, secrets []string) string {
	if len(secrets) == 0 {
		return s
	}
	var b strings.Builder
	for rest := s; ; {
		i := strings.Index(rest, valueDump)
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		b.WriteString(secretMask + " (value hidden)")
		rest = rest[i:]
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[j:]
		} else {
			rest = ""
		}
	}
	s = b.String()
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, secretMask)
	}
	return s
}

// redactedError is an error whose text has the secret values masked; it
// unwraps to the original (errors.Is and errors.As still work on it).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactSecrets masks the values of comps' Secrets in err: a
// ValidationError's failures in place, any other error wrapped.
func redactSecrets(err error, comps []manifest.Component) error {
	if err == nil {
		return nil
	}
	secrets := secretValues(comps)
	if len(secrets) == 0 {
		return err
	}
	if v, ok := err.(*ValidationError); ok {
		for i := range v.Failures {
			v.Failures[i].Message = redactText(v.Failures[i].Message, secrets)
			v.Failures[i].Field = redactText(v.Failures[i].Field, secrets)
		}
		return v
	}
	msg := err.Error()
	if red := redactText(msg, secrets); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}
