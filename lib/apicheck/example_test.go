package apicheck_test

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/plinth-platform/plinth/lib/apicheck"
)

func ExampleCheck() {
	secret := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Secret",
		"metadata":   map[string]any{"name": "db-creds", "namespace": "risk-models"},
		"data":       map[string]any{"password": "not base64!"},
		"stringData": map[string]any{"user": "plain text is fine here"},
		"tpye":       "Opaque",
	}}
	for _, p := range apicheck.Check(secret) {
		fmt.Println(p)
	}
	// Output:
	// data.password: is not base64 (illegal base64 data at input byte 3): encode each value of data in base64, or write the plain text under stringData
	// tpye: unknown field: v1 Secret has no field of this name here: did you mean type?
}
