package cue

import "embed"

// FS holds every .cue file of this directory, package plinth.
//
//go:embed *.cue
var FS embed.FS

// Guide holds the hand-written parts of docs/environment.md, one file per
// top-level field (guide/<field>.md: worked examples, how layers combine),
// kept beside the schema they explain; lib/schemadoc adds each after its
// field's reference, and tests render the examples.
//
//go:embed guide/*.md
var Guide embed.FS
