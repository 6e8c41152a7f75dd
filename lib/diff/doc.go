// Package diff compares the rendered environments of two revisions and
// reports the change object by object, in a form that is safe to post as a
// pull-request comment: as terse text for a terminal ([Report.WriteText]),
// as GitHub Markdown kept under a size limit ([Report.WriteMarkdown]) and as
// JSON with a documented, stable schema ([Report.WriteJSON], see [Report]
// and SCHEMA.md).
//
// # Matching
//
// [Compare] matches the objects of an environment by group, kind,
// namespace and name, across its components: the API version is not part
// of the identity, so an object whose apiVersion changes is a changed
// object. An object that moves from one component to another is reported
// once, as changed, in the component of the head revision, with
// [Object.MovedFrom] naming the component it left. When an identity occurs
// more than once in one revision of an environment (a render error), the
// occurrences are paired within a component first, then in component and
// list order; what is left over is added or removed.
//
// # What a change is
//
// Objects are compared as canonical YAML ([manifest.Encode]: map keys
// sorted at every level), so objects that differ only in key order or
// number formatting are equal and not reported. The annotation
// kubectl.kubernetes.io/last-applied-configuration is dropped from every
// object before comparing (it may hold a copy of a Secret's values, and
// plinth applies server-side); an annotations map left empty by that is
// dropped too. A changed object carries a unified diff (3 lines of context)
// of the two canonical YAML documents; added and removed objects carry no
// diff.
//
// # Secrets
//
// No value of a Secret (kind Secret of the core group) ever leaves this
// package: not in a diff, a rendering, a note or an error, and not as a
// hash either, since a short value can be recovered from its hash. Before a
// Secret is encoded, every value of data and stringData (and of any other
// top-level field but apiVersion, kind, metadata, type and immutable) is
// replaced by the placeholder "<redacted>". Which keys were added, removed
// or changed is reported in [Object.SecretKeys], comparing the real values:
// a data value on its base64-decoded bytes (strict standard encoding; a
// value that does not decode is compared as written), a stringData value on
// its bytes, stringData winning over data for the same key as in
// Kubernetes; a field a Secret does not have counts as one key named after
// it in parentheses, "(extra)". A Secret whose only change is a value has
// an empty diff.
//
// # Impact notes
//
// [Report.Notes] points reviewers at the changes that lose data or disrupt
// workloads, most severe first:
//   - danger: a PersistentVolumeClaim, CustomResourceDefinition or
//     Namespace is deleted, or a whole environment is removed;
//   - warning: a field that cannot be updated in place changes (the
//     object must be deleted and recreated, or the apply fails), the pod
//     template of a workload that uses nvidia.com/gpu changes (its running
//     GPU jobs restart), or the head revision has a vet warning the base
//     revision did not have (compatibility);
//   - info: an object moves between components, or its apiVersion changes.
//
// # Output
//
// Every rendering is deterministic: environments, components, objects and
// notes are sorted, so the output does not depend on map iteration order.
// Renderers escape what comes from the repository: control characters are
// shown as Go escapes in text and Markdown, and Markdown output puts names
// in code spans, fences diffs with a fence longer than any backtick run in
// them and escapes HTML, so a name cannot break out of a code block or
// inject markup. Nothing in this package logs or prints: renderers write to
// the [io.Writer] they are given.
package diff
