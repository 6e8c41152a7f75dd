package cue

import "embed"

// FS holds every .cue file of this directory, package plinth.
//
//go:embed *.cue
var FS embed.FS
