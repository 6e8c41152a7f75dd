// Package apicheck finds what the Kubernetes API server would refuse in an
// object before plinth sends it:
//
//   - [Check], for the objects an environment declares: objects of a
//     built-in kind (one whose group/version client-go's scheme serves) are
//     decoded strictly into their k8s.io/api type, as the API server does
//     with fieldValidation=Strict: unknown fields, values of the wrong type,
//     []byte fields that are not base64 (a Secret's data), a kind its
//     group/version does not serve; their metadata is validated by
//     apimachinery (name rules of the kind, namespace, labels, annotations);
//     and every object is measured as [Size] does.
//   - [Size], cheap enough for every rendered object: the JSON encoding
//     against etcd's request limit, and the data of a ConfigMap or Secret
//     against their 1 MiB limit.
//
// Problems name the field and say what is wrong and what to do; they never
// quote a Secret's data (only its length and, for bad base64, the offset).
// Like the rest of lib/, nothing here prints or fails: problems are
// returned.
package apicheck
