package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/partial"
)

// Annotations of a layout's index.json naming an image: the OCI one,
// which plinth writes, and containerd's, read too.
const (
	refNameAnnotation   = "org.opencontainers.image.ref.name"
	imageNameAnnotation = "io.containerd.image.name"
	layoutIndex         = "index.json"
)

// layoutStore is an OCI image layout holding each image under its
// upstream reference. Blobs are written concurrently (go-containerregistry
// renames each layer into place); index.json is read and rewritten under
// mu.
type layoutStore struct {
	loc  Location
	path layout.Path // "" for a layout that does not exist yet (dry run)
	mu   sync.Mutex
}

// openLayout opens the layout at l, to write it (creating it unless dry)
// or to read it.
func openLayout(l Location, write, dry bool) (*layoutStore, error) {
	_, err := os.Stat(l.Layout + "/" + layoutIndex)
	switch {
	case err == nil:
		return &layoutStore{loc: l, path: layout.Path(l.Layout)}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("layout %s: %w", l.Layout, err)
	case !write:
		return nil, fmt.Errorf("layout %s: no %s: not an OCI image layout", l.Layout, layoutIndex)
	case dry:
		// A destination not there yet holds nothing.
		return &layoutStore{loc: l}, nil
	}
	p, err := layout.Write(l.Layout, empty.Index)
	if err != nil {
		return nil, fmt.Errorf("creating layout %s: %w", l.Layout, err)
	}
	return &layoutStore{loc: l, path: p}, nil
}

func (s *layoutStore) name(img Image) string { return s.loc.name(img) }

// find returns the descriptor that names img in index.json.
func (s *layoutStore) find(img Image) (*v1.Descriptor, error) {
	if s.path == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.path.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", s.loc.Layout, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", s.loc.Layout, err)
	}
	key := s.name(img)
	var found *v1.Descriptor
	for i, d := range im.Manifests {
		if d.Annotations[refNameAnnotation] == key || d.Annotations[imageNameAnnotation] == key {
			found = &im.Manifests[i] // the last one wins, as an append would
		}
	}
	return found, nil
}

func (s *layoutStore) digest(_ context.Context, img Image) (v1.Hash, bool, error) {
	d, err := s.find(img)
	if err != nil || d == nil {
		return v1.Hash{}, false, err
	}
	// The index is written after the blobs, but a blob written by hand or
	// cut short would still pass for the image: the manifest must hash to
	// its name.
	b, err := s.path.Bytes(d.Digest)
	if errors.Is(err, fs.ErrNotExist) {
		return v1.Hash{}, false, nil
	} else if err != nil {
		return v1.Hash{}, false, fmt.Errorf("layout %s: %s: %w", s.loc.Layout, s.name(img), err)
	}
	sum := sha256.Sum256(b)
	if d.Digest.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != d.Digest.Hex {
		return v1.Hash{}, false, nil
	}
	return d.Digest, true, nil
}

func (s *layoutStore) read(_ context.Context, img Image, d v1.Hash) (manifest, error) {
	desc, err := s.find(img)
	if err != nil {
		return nil, err
	}
	if desc == nil || desc.Digest != d {
		return nil, fmt.Errorf("layout %s: %s is not %s", s.loc.Layout, s.name(img), d)
	}
	idx, err := s.path.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", s.loc.Layout, err)
	}
	switch {
	case desc.MediaType.IsIndex():
		return idx.ImageIndex(d)
	case desc.MediaType.IsImage():
		return idx.Image(d)
	}
	return nil, fmt.Errorf("layout %s: %s: %s is %w", s.loc.Layout, s.name(img), desc.MediaType, errUnsupported)
}

func (s *layoutStore) write(_ context.Context, img Image, m manifest) error {
	key := s.name(img)
	var err error
	switch m := m.(type) {
	case v1.ImageIndex:
		err = s.path.WriteIndex(m)
	case v1.Image:
		err = s.path.WriteImage(m)
	default:
		err = errUnsupported
	}
	if err != nil {
		return fmt.Errorf("layout %s: writing %s: %w", s.loc.Layout, key, err)
	}
	desc, err := partial.Descriptor(m)
	if err != nil {
		return fmt.Errorf("layout %s: %s: %w", s.loc.Layout, key, err)
	}
	desc.Annotations = map[string]string{refNameAnnotation: key}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Replace the image's entry, so that a tag upstream moved is found
	// once.
	if err := s.path.RemoveDescriptors(match.Annotation(refNameAnnotation, key)); err != nil {
		return fmt.Errorf("layout %s: %w", s.loc.Layout, err)
	}
	if err := s.path.AppendDescriptor(*desc); err != nil {
		return fmt.Errorf("layout %s: %w", s.loc.Layout, err)
	}
	return nil
}
