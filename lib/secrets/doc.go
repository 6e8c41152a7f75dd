// Package secrets reads an environment's encrypted Secrets: the files
// environments/<env>/secrets/*.yaml, each one Kubernetes Secret encrypted
// with sops for age recipients, the values of data and stringData
// encrypted and everything else (the key names, the metadata) in
// plaintext, as `sops --encrypt --age RECIPIENT --encrypted-regex
// '^(data|stringData)$'` writes them.
//
// [Load] reads the files and checks them without a key: one Secret per
// file, named, in a namespace, with sops metadata for age, every value
// under data and stringData encrypted. plinth vet reports its problems;
// render reports them and writes none of the Secrets (deploy/ never holds
// a value, encrypted or not).
//
// [Component] decrypts the files in memory, with age identities passed
// in (never read from the process environment, so that concurrent
// reconciles with different keys cannot mix them), into the Secrets of
// the component [ComponentName], labelled as render labels every object,
// so that apply, prune, drift and the inventory treat them as any other
// object. plinth apply takes its identities from $SOPS_AGE_KEY_FILE and
// $SOPS_AGE_KEY ([FromEnvironment], sops's own convention).
//
// # What never leaves this package
//
// Plaintext values and identities appear in no error: an error names
// the file (and the key of a value), and what sops or age said is
// replaced by plinth's own words wherever it could quote the input.
package secrets
