// Package schemadoc generates plinth's reference documentation from the
// embedded CUE: docs/environment.md from the environment format
// (cue/schema.cue) and docs/rules.md from the compatibility rules
// (cue/rules.cue). The CUE stays the single source of truth; the test of
// this package fails when the committed Markdown no longer matches it, and
// `make docs` rewrites the files.
package schemadoc
