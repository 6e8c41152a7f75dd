// Package image parses container image references, maps them to the
// registry mirror of an air-gapped environment, and finds the references
// embedded in free text (ConfigMap data, container arguments, environment
// variables) that Kubernetes tooling such as kustomize's image transformer
// does not rewrite.
//
// References follow Docker's grammar and normalisation (docker.io as the
// default registry, library/ for its official images, latest as the
// default tag), so two spellings of one image compare equal once parsed.
package image
