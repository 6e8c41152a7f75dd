// Package cue embeds plinth's CUE schemas (the environment format, the
// compatibility matrix and its rules) so that the binary and the files in
// this directory are one source of truth.
package cue
