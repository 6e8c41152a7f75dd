// Package mirror copies the images an environment pulls into the registry
// mirror that serves them, by digest, for air-gapped clusters.
//
// The list comes from the image locator (what plinth images shows): each
// image's upstream reference and the reference the cluster pulls through
// network.mirrors. An image is resolved once at its source (a tag to the
// digest it names then; a pinned digest must be the tag's content) and
// copied by that digest. What the destination already holds is skipped,
// so a copy that failed halfway resumes by running it again, and registry
// blobs already pushed are not sent twice (go-containerregistry checks
// each blob before its upload). After a copy the destination's manifest
// digest must be the source's.
//
// A [Location] is where images are read or written: the upstream
// registries, one registry (a Nexus hosted repository) holding each image
// at the repository path the cluster pulls it from, or an OCI image
// layout on disk that carries images across the air gap, each named by its
// upstream reference.
package mirror
