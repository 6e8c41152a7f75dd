package mirror

import (
	"fmt"
	"strings"

	"github.com/plinth-platform/plinth/lib/image"
)

// An Image is one image an environment pulls.
type Image struct {
	// Upstream is the reference as the environment names it: by tag, by
	// digest or both.
	Upstream image.Ref
	// Mirror is the reference the cluster pulls (network.mirrors
	// applied); Upstream when no mirror serves it.
	Mirror image.Ref
}

// path is the repository path at which a mirror registry holds img: the
// mirror reference's, whose host the registry replaces; for an image no
// mirror serves, <upstream host>/<repository>, as network.mirrors.images
// would lay it out.
func (img Image) path() string {
	if img.Mirror.Name() != img.Upstream.Name() {
		return img.Mirror.Repository
	}
	return img.Upstream.Registry + "/" + img.Upstream.Repository
}

// String is the upstream reference.
func (img Image) String() string { return img.Upstream.String() }

// A Location holds images: the upstream registries (the zero Location),
// one registry holding each image at its mirror path, or an OCI image
// layout, a directory, holding each under its upstream reference.
type Location struct {
	// Registry is a host with an optional port and path:
	// "nexus.bank.local:8445", "nexus.bank.local:8081/repository/hosted".
	Registry string
	// Layout is the directory of an OCI image layout.
	Layout string
}

// LayoutPrefix introduces a layout in [ParseLocation]'s argument.
const LayoutPrefix = "oci-layout:"

// ParseLocation parses "oci-layout:DIR" or "HOST[:PORT][/PATH]".
func ParseLocation(s string) (Location, error) {
	if dir, ok := strings.CutPrefix(s, LayoutPrefix); ok {
		if dir == "" {
			return Location{}, fmt.Errorf("%q: no directory after %s", s, LayoutPrefix)
		}
		return Location{Layout: dir}, nil
	}
	reg := strings.TrimRight(s, "/")
	host, _, _ := strings.Cut(reg, "/")
	// A host Docker would take for a Docker Hub namespace ("nexus/x") is
	// no registry.
	ref, err := image.Parse(reg + "/x:t")
	if err != nil || strings.Contains(s, "://") || ref.Registry != strings.ToLower(host) {
		return Location{}, fmt.Errorf("%q is no registry: want HOST[:PORT][/PATH] (a host with a dot or a port, no scheme) or %sDIR", s, LayoutPrefix)
	}
	return Location{Registry: reg}, nil
}

func (l Location) String() string {
	switch {
	case l.Layout != "":
		return LayoutPrefix + l.Layout
	case l.Registry != "":
		return l.Registry
	}
	return "upstream"
}

// name is img's reference at l: by tag when it has one, else by digest.
// In a layout that is the upstream reference, as the layout's index
// names it.
func (l Location) name(img Image) string {
	base := img.Upstream.Name()
	if l.Registry != "" {
		base = l.Registry + "/" + img.path()
	}
	if img.Upstream.Tag != "" {
		return base + ":" + img.Upstream.Tag
	}
	return base + "@" + img.Upstream.Digest
}
