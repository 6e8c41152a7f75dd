package policy

import (
	"fmt"
	"strings"

	"github.com/plinth-platform/plinth/lib/image"
	"github.com/plinth-platform/plinth/lib/manifest"
)

// imageMirror reports, in an air-gapped environment, images that are not
// pulled through the image mirror: container images, and image references
// in the scanned texts (ConfigMap data, env values, args, command) that
// components pass on to the pods they create.
func (c *checker) imageMirror(o object, report reportFunc) {
	for _, ctr := range manifest.Containers(o.u) {
		if msg := c.unmirrored(ctr.Image); msg != "" {
			report(RuleImageMirror, ctr.Path+".image", containerName(ctr)+": "+msg)
		}
	}
	for _, t := range texts(o.u) {
		value, offset := t.value, 0
		if t.flag != "" {
			value, offset = t.flag+" "+t.value, len(t.flag)+1
		}
		for _, m := range image.Find(value) {
			if m.Start < offset {
				continue
			}
			if msg := c.unmirrored(m.Ref); msg != "" {
				report(RuleImageMirror, t.path, msg)
			}
		}
	}
}

// unmirrored says what is wrong with ref, "" when it is under the mirror.
func (c *checker) unmirrored(ref string) string {
	mirror := c.facts.ImageMirror
	r, err := image.Parse(ref)
	if err != nil {
		if mirror != "" && strings.HasPrefix(ref, strings.TrimSuffix(mirror, "/")+"/") {
			return ""
		}
		return fmt.Sprintf("image %q is not a valid reference, so it cannot be pulled through the mirror: fix it", ref)
	}
	if mirror == "" {
		return fmt.Sprintf("image %s is pulled from %s, but the air-gapped environment has no image mirror: set network.mirrors.images", r, r.Registry)
	}
	if r.Under(mirror) {
		return ""
	}
	return fmt.Sprintf("image %s is not pulled through the mirror %s: use %s", r, mirror, image.Mirror(r, mirror))
}
