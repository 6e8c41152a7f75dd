package render

import (
	"cmp"
	"slices"
	"strings"

	"github.com/plinth-platform/plinth/lib/image"
	"github.com/plinth-platform/plinth/lib/platform"
)

// ImageUse is one place where a rendered object names an image.
type ImageUse struct {
	Component string
	// Object is the object's identity (manifest.ID's string).
	Object string
	image.Use
}

// Image is one image an environment pulls: a line of images.txt and an
// entry of plinth images.
type Image struct {
	// Image is the upstream reference; Mirror is what the cluster pulls.
	Image  string `json:"image"`
	Mirror string `json:"mirror"`
	// Digest says the reference is pinned by digest.
	Digest bool `json:"digest"`
	// Uses are the objects and fields that name it.
	Uses []Place `json:"uses"`
}

// Place is a field of a rendered object.
type Place struct {
	Component string `json:"component"`
	Object    string `json:"object"`
	Path      string `json:"path"`
}

// Images lists the images of uses once each, sorted by upstream
// reference. A repository named without a tag (Istio's hub, a script's
// default that the script completes with a tag) is listed by its name only
// when no listed image is that repository or lies under it: that the
// cluster pulls something from there is then all plinth knows.
func Images(uses []ImageUse) []Image {
	byRef := map[string]*Image{}
	add := func(from, to string, digest bool, u ImageUse) {
		img, ok := byRef[from]
		if !ok {
			img = &Image{Image: from, Mirror: to, Digest: digest}
			byRef[from] = img
		}
		p := Place{Component: u.Component, Object: u.Object, Path: u.Path}
		if !slices.Contains(img.Uses, p) {
			img.Uses = append(img.Uses, p)
		}
	}
	for _, u := range uses {
		if !u.Repository {
			add(u.Image.String(), u.Pulled.String(), u.Image.Digest != "", u)
		}
	}
	for _, u := range uses {
		if u.Repository && !covered(byRef, u.Image.Name()) {
			add(u.Image.Name(), u.Pulled.Name(), false, u)
		}
	}
	list := make([]Image, 0, len(byRef))
	for _, img := range byRef {
		list = append(list, *img)
	}
	slices.SortFunc(list, func(a, b Image) int { return cmp.Compare(a.Image, b.Image) })
	return list
}

// covered reports whether a listed image is the repository name or lies
// under it.
func covered(byRef map[string]*Image, name string) bool {
	for ref := range byRef {
		if ref == name || strings.HasPrefix(ref, name+":") || strings.HasPrefix(ref, name+"@") || strings.HasPrefix(ref, name+"/") {
			return true
		}
	}
	return false
}

// locator reads the environment's mirrors and the GPU operator's OS tag.
func locator(p *platform.Platform) (image.Locator, error) {
	facts, err := p.RenderFacts()
	if err != nil {
		return image.Locator{}, err
	}
	m := p.Settings.Network.Mirrors
	return image.Locator{
		Mirrors:  image.Mirrors{Default: m.Images, Registries: m.Registries},
		DriverOS: facts.DriverOS,
	}, nil
}
