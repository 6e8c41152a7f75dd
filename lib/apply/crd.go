package apply

import (
	"fmt"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateCustomResource checks obj against the schema of its version in
// crd, a CRD of the same set that the cluster does not serve yet: the
// check the API server makes once the CRD is established (without its CEL
// rules and webhooks). It returns a message and the first field at fault,
// or "" when obj is valid.
func validateCustomResource(crdObj, obj *unstructured.Unstructured) (msg, fieldPath string) {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(crdObj.Object, &crd); err != nil {
		return fmt.Sprintf("CRD %s cannot be read: %v", crdObj.GetName(), err), ""
	}
	version := obj.GroupVersionKind().Version
	var schema *apiextensionsv1.JSONSchemaProps
	served := false
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			served = v.Served
			if v.Schema != nil {
				schema = v.Schema.OpenAPIV3Schema
			}
		}
	}
	if !served {
		return fmt.Sprintf("CRD %s does not serve version %s", crd.Name, version), ""
	}
	if schema == nil {
		return "", ""
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(schema, &internal, nil); err != nil {
		return fmt.Sprintf("CRD %s: schema of %s: %v", crd.Name, version, err), ""
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return fmt.Sprintf("CRD %s: schema of %s: %v", crd.Name, version, err), ""
	}
	errs := validation.ValidateCustomResource(nil, obj.UnstructuredContent(), validator)
	if len(errs) == 0 {
		return "", ""
	}
	return joinFieldErrors(errs), errs[0].Field
}

func joinFieldErrors(errs field.ErrorList) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}
