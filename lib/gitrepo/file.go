package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// fileSource is a repository on disk named by a file:// URL, read
// in-process.
type fileSource struct {
	repo *git.Repository
}

func openFile(loc *location) (*fileSource, error) {
	dir := filepath.FromSlash(loc.u.Path)
	repo, err := git.PlainOpen(dir)
	if err != nil {
		if errors.Is(err, git.ErrRepositoryNotExists) {
			return nil, errors.New("no git repository there")
		}
		return nil, fmt.Errorf("opening the repository: %w", err)
	}
	return &fileSource{repo: repo}, nil
}

// resolve finds a branch or tag: its own hash and the commit it peels to.
func (f *fileSource) resolve(ref Ref) (own, commit plumbing.Hash, err error) {
	name := refName(ref)
	r, err := f.repo.Reference(name, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		var names []string
		if it, err := f.repo.References(); err == nil {
			_ = it.ForEach(func(r *plumbing.Reference) error {
				names = append(names, r.Name().String())
				return nil
			})
		}
		return plumbing.ZeroHash, plumbing.ZeroHash, notFound(ref, names)
	}
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	c, err := Peel(f.repo.Storer, r.Hash())
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	return r.Hash(), c.Hash, nil
}

// copyCommit writes one pack into dst holding the commit, its tree and,
// when own is a tag object, that tag: what a depth-1 fetch of own would
// bring.
func (f *fileSource) copyCommit(ctx context.Context, own, commit plumbing.Hash, dst storage.Storer, lim Limits) error {
	c, err := object.GetCommit(f.repo.Storer, commit)
	if err != nil {
		return fmt.Errorf("commit %s: %w", commit, err)
	}
	hashes := []plumbing.Hash{commit, c.TreeHash}
	if own != commit && !own.IsZero() {
		if _, err := f.repo.Storer.EncodedObject(plumbing.TagObject, own); err == nil {
			hashes = append(hashes, own)
		}
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("commit %s: %w", commit, err)
	}
	walker := object.NewTreeWalker(tree, true, nil)
	for {
		if err := ctx.Err(); err != nil {
			walker.Close()
			return err
		}
		_, e, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			walker.Close()
			return fmt.Errorf("commit %s: %w", commit, err)
		}
		// A submodule's commit is not in this repository; the checkout
		// refuses submodules anyway.
		if e.Mode == filemode.Submodule {
			continue
		}
		hashes = append(hashes, e.Hash)
		if int64(len(hashes)) > 2*lim.Files {
			walker.Close()
			return &RefusedError{Commit: commit, Rule: RuleTooMany, Reason: fmt.Sprintf("tree has more than %d files", lim.Files)}
		}
	}
	walker.Close()
	plumbing.HashesSort(hashes)
	hashes = slices.Compact(hashes)

	pr, pw := io.Pipe()
	go func() {
		_, err := packfile.NewEncoder(pw, f.repo.Storer, false).Encode(hashes, 0)
		pw.CloseWithError(err)
	}()
	err = packfile.UpdateObjectStorage(dst, newLimitedReader(ctx, pr, lim.PackBytes, "the commit's objects"))
	pr.CloseWithError(errors.New("stopped"))
	if err != nil {
		return fmt.Errorf("copying commit %s: %w", commit, err)
	}
	if len(c.ParentHashes) > 0 {
		return dst.SetShallow([]plumbing.Hash{commit})
	}
	return nil
}
