package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Options say where [Copy] reads and writes and how.
type Options struct {
	// From is where the images are read, To where they are written.
	From, To Location
	// Jobs is how many images are copied at once (at least 1).
	Jobs int
	// DryRun resolves every image and looks at the destination, and
	// writes nothing.
	DryRun bool
	// Transport carries every request to a registry;
	// http.DefaultTransport when nil.
	Transport http.RoundTripper
	// Keychain logs in to registries; authn.DefaultKeychain (Docker's
	// config.json, $DOCKER_CONFIG) when nil.
	Keychain authn.Keychain
	// Done, when set, is called with each image's result as soon as it is
	// known, one call at a time.
	Done func(Result)
}

// Status is what happened to one image.
type Status string

const (
	Copied    Status = "copied"
	Skipped   Status = "skipped" // already at the destination
	WouldCopy Status = "would copy"
	Failed    Status = "failed"
)

// Result is one image's outcome.
type Result struct {
	Image Image
	// From and To are the image's references at the source and the
	// destination.
	From, To string
	// Digest is the manifest's digest, once resolved at the source.
	Digest string
	Status Status
	Err    error
}

// Copy copies images from o.From to o.To, o.Jobs at a time, and returns
// their results in the order of images. One image failing does not stop
// the others; the error is for a location that cannot be opened.
func Copy(ctx context.Context, images []Image, o Options) ([]Result, error) {
	if o.To == (Location{}) {
		return nil, errors.New("no destination: the images are upstream already")
	}
	transport, keychain := o.Transport, o.Keychain
	if transport == nil {
		transport = http.DefaultTransport
	}
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	ropts := []remote.Option{remote.WithTransport(transport), remote.WithAuthFromKeychain(keychain), remote.WithUserAgent("plinth-mirror")}
	from, err := open(o.From, false, o.DryRun, ropts)
	if err != nil {
		return nil, err
	}
	to, err := open(o.To, true, o.DryRun, ropts)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(images))
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(max(o.Jobs, 1))
	for i, img := range images {
		g.Go(func() error {
			r := Result{Image: img, From: from.name(img), To: to.name(img), Status: Failed, Err: ctx.Err()}
			if r.Err == nil {
				r = copyOne(ctx, img, from, to, o.DryRun)
			}
			results[i] = r
			if o.Done != nil {
				mu.Lock()
				defer mu.Unlock()
				o.Done(r)
			}
			return nil
		})
	}
	_ = g.Wait() // each goroutine's error is in its result
	return results, nil
}

// A store is a Location opened for reading or writing.
type store interface {
	name(img Image) string
	// digest returns the digest of the manifest img names in the store,
	// found false when there is none.
	digest(ctx context.Context, img Image) (d v1.Hash, found bool, err error)
	// read returns the image or index with digest d.
	read(ctx context.Context, img Image, d v1.Hash) (manifest, error)
	write(ctx context.Context, img Image, m manifest) error
}

// manifest is an image or an index, with everything it references.
type manifest interface {
	partial.Describable
	RawManifest() ([]byte, error)
}

// open opens l to read or write it.
func open(l Location, write, dry bool, ropts []remote.Option) (store, error) {
	if l.Layout != "" {
		return openLayout(l, write, dry)
	}
	return newRegistry(l, ropts)
}

// copyOne resolves img at from, and copies it to to unless it is there.
func copyOne(ctx context.Context, img Image, from, to store, dry bool) Result {
	r := Result{Image: img, From: from.name(img), To: to.name(img)}
	fail := func(err error) Result {
		r.Status, r.Err = Failed, err
		return r
	}
	d, found, err := from.digest(ctx, img)
	switch {
	case err != nil:
		return fail(err)
	case !found:
		return fail(fmt.Errorf("%s: not found", r.From))
	case img.Upstream.Digest != "" && d.String() != img.Upstream.Digest:
		// The tag moved (or the source is not what the environment
		// pinned): the mirror's tag would not be upstream's.
		return fail(fmt.Errorf("%s is %s, but the environment pins %s: refusing a tag whose content differs", r.From, d, img.Upstream.Digest))
	}
	r.Digest = d.String()
	if have, found, err := to.digest(ctx, img); err != nil {
		return fail(err)
	} else if found && have == d {
		r.Status = Skipped
		return r
	}
	if dry {
		r.Status = WouldCopy
		return r
	}
	m, err := from.read(ctx, img, d)
	if err != nil {
		return fail(err)
	}
	if got, err := m.Digest(); err != nil || got != d {
		return fail(fmt.Errorf("%s: read %v, want %s (%v)", r.From, got, d, err))
	}
	if err := to.write(ctx, img, m); err != nil {
		return fail(err)
	}
	if have, found, err := to.digest(ctx, img); err != nil {
		return fail(err)
	} else if !found || have != d {
		return fail(fmt.Errorf("%s holds %v after the copy, want %s", r.To, have, d))
	}
	r.Status = Copied
	return r
}

var errUnsupported = errors.New("neither an image nor an index")
