package diff_test

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"

	"github.com/plinth-platform/plinth/lib/diff"
)

// secretValues are the values the Secrets of TestSecretMasking hold; none
// may show in any output, raw or base64-encoded.
var secretValues = []string{
	"s3cr3t-VALUE-1", "s3cr3t-VALUE-2", "s3cr3t-VALUE-3", "s3cr3t-VALUE-4",
	"s3cr3t-VALUE-5", "s3cr3t-VALUE-6", "s3cr3t-VALUE-7", "s3cr3t-VALUE-8",
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// assertNoSecrets fails when any output of r, or any note, shows one of
// values, raw or in base64.
func assertNoSecrets(t *testing.T, r *diff.Report, values []string) {
	t.Helper()
	out := outputs(t, r)
	for _, n := range r.Notes {
		out["note "+n.Kind] = n.Message + n.Object + n.Component + n.Environment
	}
	for format, s := range out {
		for _, v := range values {
			for _, form := range []string{v, b64(v), strings.TrimRight(b64(v), "=")} {
				if strings.Contains(s, form) {
					t.Errorf("%s output shows secret value %q as %q:\n%s", format, v, form, s)
				}
			}
		}
	}
}

func TestSecretMasking(t *testing.T) {
	lastApplied := `{"apiVersion":"v1","kind":"Secret","data":{"password":"` + b64("s3cr3t-VALUE-7") + `"},"stringData":{"token":"s3cr3t-VALUE-8"}}`
	base := one(t, `
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '`+lastApplied+`'
type: Opaque
data:
  password: `+b64("s3cr3t-VALUE-1")+`
  removed: `+b64("s3cr3t-VALUE-2")+`
  same: `+b64("s3cr3t-VALUE-3")+`
stringData:
  token: s3cr3t-VALUE-4
---
apiVersion: v1
kind: Secret
metadata: {name: gone, namespace: shop}
stringData: {key: s3cr3t-VALUE-5}
`)
	head := one(t, `
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
  labels: {rotated: "yes"}
type: Opaque
data:
  password: `+b64("s3cr3t-VALUE-6")+`
  same: `+b64("s3cr3t-VALUE-3")+`
  weird: "s3cr3t-VALUE-2 is not base64"
stringData:
  token: s3cr3t-VALUE-4
  added: s3cr3t-VALUE-7
---
apiVersion: v1
kind: Secret
metadata: {name: new, namespace: shop}
data: {key: `+b64("s3cr3t-VALUE-8")+`}
`)
	r := diff.Compare(diff.Input{Base: base, Head: head})
	want := map[string]*diff.SecretKeys{
		"Secret/shop/db":   {Added: []string{"added", "weird"}, Removed: []string{"removed"}, Changed: []string{"password"}},
		"Secret/shop/gone": {Added: []string{}, Removed: []string{"key"}, Changed: []string{}},
		"Secret/shop/new":  {Added: []string{"key"}, Removed: []string{}, Changed: []string{}},
	}
	seen := 0
	for _, o := range r.Environments[0].Components[0].Objects {
		seen++
		if !reflect.DeepEqual(o.SecretKeys, want[o.ID]) {
			t.Errorf("%s: secret keys %+v, want %+v", o.ID, o.SecretKeys, want[o.ID])
		}
		if o.ID == "Secret/shop/db" {
			for _, s := range []string{
				"+  labels:\n+    rotated: \"yes\"\n",
				"   password: <redacted>\n",
				"-  removed: <redacted>\n",
				"+  weird: <redacted>\n",
				"+  added: <redacted>\n",
				"-    kubectl.kubernetes.io/last-applied-configuration",
			} {
				if strings.HasPrefix(s, "-    kubectl") {
					if strings.Contains(o.Diff, "last-applied") {
						t.Errorf("diff shows the last-applied-configuration annotation:\n%s", o.Diff)
					}
					continue
				}
				if !strings.Contains(o.Diff, s) {
					t.Errorf("diff does not contain %q:\n%s", s, o.Diff)
				}
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d objects, want 3", seen)
	}
	assertNoSecrets(t, r, secretValues)
}

func TestSecretDataVersusStringData(t *testing.T) {
	secret := func(fields string) diff.Rendered {
		return one(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\n"+fields)
	}
	tests := []struct {
		name       string
		base, head string
		changed    bool
		keys       *diff.SecretKeys // nil: no key changed
		diffEmpty  bool
	}{{
		name: "same value moves from data to stringData",
		base: "data: {k: " + b64("s3cr3t-VALUE-1") + "}\n",
		head: "stringData: {k: s3cr3t-VALUE-1}\n",
		// The fields differ (the diff shows the key moving), the value does not.
		changed: true,
	}, {
		name: "stringData overrides data",
		base: "data: {k: " + b64("s3cr3t-VALUE-1") + "}\nstringData: {k: s3cr3t-VALUE-2}\n",
		head: "data: {k: " + b64("s3cr3t-VALUE-2") + "}\n",
		// Effective value s3cr3t-VALUE-2 on both sides.
		changed: true,
	}, {
		name:      "value change in data",
		base:      "data: {k: " + b64("s3cr3t-VALUE-1") + "}\n",
		head:      "data: {k: " + b64("s3cr3t-VALUE-2") + "}\n",
		changed:   true,
		keys:      &diff.SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{"k"}},
		diffEmpty: true,
	}, {
		name:      "value change in stringData",
		base:      "stringData: {k: s3cr3t-VALUE-1}\n",
		head:      "stringData: {k: s3cr3t-VALUE-2}\n",
		changed:   true,
		keys:      &diff.SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{"k"}},
		diffEmpty: true,
	}, {
		name:      "data to stringData with another value",
		base:      "data: {k: " + b64("s3cr3t-VALUE-1") + "}\n",
		head:      "stringData: {k: s3cr3t-VALUE-2}\n",
		changed:   true,
		keys:      &diff.SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{"k"}},
		diffEmpty: false,
	}, {
		name: "undecodable data compared as written",
		base: "data: {k: s3cr3t-VALUE-1}\n",
		head: "data: {k: s3cr3t-VALUE-1}\n",
	}, {
		name:      "undecodable data changes",
		base:      "data: {k: s3cr3t-VALUE-1}\n",
		head:      "data: {k: s3cr3t-VALUE-2}\n",
		changed:   true,
		keys:      &diff.SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{"k"}},
		diffEmpty: true,
	}, {
		name:    "type change",
		base:    "type: Opaque\nstringData: {k: s3cr3t-VALUE-1}\n",
		head:    "type: kubernetes.io/basic-auth\nstringData: {k: s3cr3t-VALUE-1}\n",
		changed: true,
	}, {
		name:    "unknown top-level field is masked too",
		base:    "stringData: {k: s3cr3t-VALUE-1}\n",
		head:    "stringData: {k: s3cr3t-VALUE-1}\nextra: {nested: s3cr3t-VALUE-2}\nmore: s3cr3t-VALUE-3\n",
		changed: true,
		keys:    &diff.SecretKeys{Added: []string{"(extra)", "(more)"}, Removed: []string{}, Changed: []string{}},
	}, {
		name:      "unknown top-level field changes",
		base:      "extra: {nested: s3cr3t-VALUE-2}\n",
		head:      "extra: {nested: s3cr3t-VALUE-3}\n",
		changed:   true,
		keys:      &diff.SecretKeys{Added: []string{}, Removed: []string{}, Changed: []string{"(extra)"}},
		diffEmpty: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := diff.Compare(diff.Input{Base: secret(tt.base), Head: secret(tt.head)})
			if r.Changed() != tt.changed {
				t.Fatalf("Changed() = %v, want %v", r.Changed(), tt.changed)
			}
			if tt.changed {
				o := r.Environments[0].Components[0].Objects[0]
				if !reflect.DeepEqual(o.SecretKeys, tt.keys) {
					t.Errorf("secret keys %+v, want %+v", o.SecretKeys, tt.keys)
				}
				if (o.Diff == "") != tt.diffEmpty {
					t.Errorf("diff = %q, want empty %v", o.Diff, tt.diffEmpty)
				}
			}
			assertNoSecrets(t, r, secretValues)
		})
	}
}

// TestSecretKindNotCoreGroup checks that only core Secrets are masked: a
// custom resource named Secret is an ordinary object (this test documents
// the boundary; the values here are not secret).
func TestSecretKindNotCoreGroup(t *testing.T) {
	base := one(t, "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: plain-1}\n")
	head := one(t, "apiVersion: example.com/v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: plain-2}\n")
	r := diff.Compare(diff.Input{Base: base, Head: head})
	o := r.Environments[0].Components[0].Objects[0]
	if !strings.Contains(o.Diff, "+  k: plain-2") || o.SecretKeys != nil {
		t.Errorf("custom Secret kind masked: %+v", o)
	}
}
