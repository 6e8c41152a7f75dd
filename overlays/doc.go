// Package overlays embeds plinth's own Kustomize bases, which the
// component catalog (cue/catalog.cue) refers to by directory name. They
// are part of the binary, so an environments repository needs no copy.
package overlays
