package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// registry reads and writes the registries of a Location: each image at
// its upstream reference, or at its mirror path under one registry. One
// puller and one pusher serve every image, so that tokens and the blobs
// known to exist are shared.
type registry struct {
	loc    Location
	puller *remote.Puller
	pusher *remote.Pusher
}

func newRegistry(l Location, ropts []remote.Option) (*registry, error) {
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, err
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, err
	}
	return &registry{loc: l, puller: puller, pusher: pusher}, nil
}

func (r *registry) name(img Image) string { return r.loc.name(img) }

func (r *registry) ref(img Image) (name.Reference, error) {
	ref, err := name.ParseReference(r.name(img))
	if err != nil {
		return nil, fmt.Errorf("image %s at %s: %w", img, r.loc, err)
	}
	return ref, nil
}

func (r *registry) digest(ctx context.Context, img Image) (v1.Hash, bool, error) {
	ref, err := r.ref(img)
	if err != nil {
		return v1.Hash{}, false, err
	}
	desc, err := r.puller.Head(ctx, ref)
	var terr *transport.Error
	switch {
	case errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound:
		return v1.Hash{}, false, nil
	case err != nil:
		return v1.Hash{}, false, fmt.Errorf("looking up %s: %w", ref, err)
	}
	return desc.Digest, true, nil
}

func (r *registry) read(ctx context.Context, img Image, d v1.Hash) (manifest, error) {
	ref, err := r.ref(img)
	if err != nil {
		return nil, err
	}
	byDigest := ref.Context().Digest(d.String())
	desc, err := r.puller.Get(ctx, byDigest)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", byDigest, err)
	}
	switch {
	case desc.MediaType.IsIndex():
		return desc.ImageIndex()
	case desc.MediaType.IsImage():
		return desc.Image()
	}
	return nil, fmt.Errorf("%s: %s is %w", byDigest, desc.MediaType, errUnsupported)
}

func (r *registry) write(ctx context.Context, img Image, m manifest) error {
	ref, err := r.ref(img)
	if err != nil {
		return err
	}
	if err := r.pusher.Push(ctx, ref, m); err != nil {
		return fmt.Errorf("writing %s: %w", ref, err)
	}
	return nil
}
