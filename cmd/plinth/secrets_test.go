package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/secrets"
)

// ageKeygen writes a new age identity as age-keygen does, and its
// recipient beside it: age-keygen FILE (FILE.pub).
func ageKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: age-keygen FILE")
	}
	id, err := age.GenerateX25519Identity()
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte("# created by the test\n"+id.String()+"\n"), 0o600))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub"), []byte(id.Recipient().String()+"\n"), 0o644))
}

// sopsEncrypt encrypts a Secret for the recipient of FILE.pub as sops
// --encrypt --age --encrypted-regex '^(data|stringData)$' would (no sops
// binary is needed): sops-encrypt KEYFILE IN OUT.
func sopsEncrypt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: sops-encrypt KEYFILE IN OUT")
	}
	recipient := strings.TrimSpace(ts.ReadFile(args[0] + ".pub"))
	enc, err := secrets.Encrypt([]byte(ts.ReadFile(args[1])), recipient)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), enc, 0o644))
}

// kubeSecret prints a Secret's value, decoded, and its labels:
// kube-secret NAMESPACE NAME KEY.
func kubeSecret(cluster *kubetest.Cluster) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: [!] kube-secret NAMESPACE NAME KEY")
		}
		c, err := client.New(cluster.Config(), client.Options{})
		ts.Check(err)
		o := &unstructured.Unstructured{}
		o.SetAPIVersion("v1")
		o.SetKind("Secret")
		err = c.Get(context.Background(), client.ObjectKey{Namespace: args[0], Name: args[1]}, o)
		if neg {
			if err == nil {
				ts.Fatalf("Secret %s/%s exists", args[0], args[1])
			}
			return
		}
		ts.Check(err)
		v, _, _ := unstructured.NestedString(o.Object, "data", args[2])
		plain, err := base64.StdEncoding.DecodeString(v)
		ts.Check(err)
		fmt.Fprintln(ts.Stdout(), string(plain))
		for k, v := range o.GetLabels() {
			fmt.Fprintf(ts.Stdout(), "label %s=%s\n", k, v)
		}
	}
}
