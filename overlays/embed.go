package overlays

import "embed"

// FS holds every overlay directory.
//
//go:embed all:okd-scc all:plinth-controller
var FS embed.FS
