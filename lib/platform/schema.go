package platform

import (
	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
)

// Schema returns the embedded schema package (package plinth of cue/) as a
// CUE value in a context of its own, for tools that read the schema itself,
// such as the documentation generator.
func Schema() (cue.Value, error) {
	return loadSchema(cuecontext.New())
}
