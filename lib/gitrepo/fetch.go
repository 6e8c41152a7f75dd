package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
)

// Fetch makes dir (must not exist or be empty) a shallow (depth 1) checkout
// of ref at the given commit (as returned by Head) and returns the commit
// checked out.
//
// With commit "" the ref's current commit is checked out. A commit that is
// no longer the ref's tip (the branch moved on since Head) is still the one
// checked out, fetched by SHA, as is a Ref.Commit; see the package
// documentation for servers that refuse that. The checkout is an ordinary
// git repository: HEAD is the branch for a Ref.Branch and detached
// otherwise, "origin" is the URL without credentials, and .git/shallow
// lists the commit when only it was fetched. On error dir is left as it was
// found (absent or empty).
func Fetch(ctx context.Context, url string, ref Ref, auth Auth, commit, dir string) (string, error) {
	ref, err := ref.normalize()
	if err != nil {
		return "", err
	}
	var want plumbing.Hash
	if commit != "" {
		c, err := parseCommit(commit)
		if err != nil {
			return "", err
		}
		if ref.Commit != "" && c != ref.Commit {
			return "", fmt.Errorf("commit %s: the ref asks for commit %s", c, ref.Commit)
		}
		want = plumbing.NewHash(c)
	} else if ref.Commit != "" {
		want = plumbing.NewHash(ref.Commit)
	}
	loc, err := parseLocation(url)
	if err != nil {
		return "", auth.scrub(err, urlPassword(url))
	}
	created, err := prepareDir(dir)
	if err != nil {
		return "", err
	}
	got, err := fetch(ctx, loc, ref, auth, want, dir)
	if err != nil {
		if cerr := clearDir(dir, created); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return "", auth.scrub(fmt.Errorf("%s: %s: %w", loc.display, ref, err), loc.urlPassword)
	}
	return got.String(), nil
}

// prepareDir makes sure dir is an empty directory, creating it (not its
// parents) if needed.
func prepareDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(dir, 0o755); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, err
	case len(entries) > 0:
		return false, fmt.Errorf("%s is not empty", dir)
	}
	return false, nil
}

// clearDir returns dir to the state prepareDir found it in.
func clearDir(dir string, created bool) error {
	if created {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// fetch fills the empty directory dir and returns the commit checked out.
func fetch(ctx context.Context, loc *location, ref Ref, auth Auth, want plumbing.Hash, dir string) (plumbing.Hash, error) {
	var (
		repo *git.Repository
		own  plumbing.Hash // the ref's own hash, when its tip was fetched
		err  error
	)
	if loc.isFile() {
		repo, own, want, err = fetchFile(ctx, loc, ref, want, dir)
	} else {
		repo, own, want, err = fetchRemote(ctx, loc, ref, auth, want, dir)
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	c, err := peel(repo.Storer, want)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := checkTree(ctx, c); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := setRefs(repo, loc, ref, own, c.Hash); err != nil {
		return plumbing.ZeroHash, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: c.Hash, Mode: git.HardReset}); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("checking out %s: %w", c.Hash, err)
	}
	return c.Hash, nil
}

// initRepo makes dir a new repository whose HEAD names the branch ref
// follows (or the default branch).
func initRepo(dir string, ref Ref) (*git.Repository, error) {
	branch := DefaultBranch
	if ref.Branch != "" {
		branch = ref.Branch
	}
	return git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
}

func fetchFile(ctx context.Context, loc *location, ref Ref, want plumbing.Hash, dir string) (repo *git.Repository, own, commit plumbing.Hash, err error) {
	src, err := openFile(loc)
	if err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if ref.Commit == "" {
		var tip plumbing.Hash
		own, tip, err = src.resolve(ref)
		if err != nil {
			return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
		}
		if want.IsZero() {
			want = tip
		}
		if want != tip {
			own = plumbing.ZeroHash
		}
	}
	c, err := peel(src.repo.Storer, want)
	if err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	// Refuse a tree before copying it: the copy's walk would stop at a
	// hostile name with an error that is not a RefusedError.
	if err := checkTree(ctx, c); err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if repo, err = initRepo(dir, ref); err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	return repo, own, want, src.copyCommit(ctx, own, want, repo.Storer)
}

// fetchRemote fetches want (or the ref's tip when want is zero) into a
// new repository in dir: by its ref with depth 1 when it is a ref's tip,
// else by SHA with depth 1, else (the server refused) every branch and tag
// in full, into a repository made anew.
func fetchRemote(ctx context.Context, loc *location, ref Ref, auth Auth, want plumbing.Hash, dir string) (repo *git.Repository, own, commit plumbing.Hash, err error) {
	fail := func(err error) (*git.Repository, plumbing.Hash, plumbing.Hash, error) {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	r, err := dial(ctx, loc, auth)
	if err != nil {
		return fail(err)
	}
	defer r.close()

	sess, release, err := r.open(ctx)
	if err != nil {
		return fail(err)
	}
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		release()
		return fail(fmt.Errorf("listing refs: %w", explain(err)))
	}
	if ref.Commit == "" {
		var tip plumbing.Hash
		own, tip, err = lookup(ar, ref)
		if err != nil {
			release()
			return fail(err)
		}
		if want.IsZero() {
			want = tip
		}
		if want != tip {
			own = plumbing.ZeroHash
		}
	}
	if repo, err = initRepo(dir, ref); err != nil {
		release()
		return fail(err)
	}
	// A want that a ref advertises (as itself or peeled) is always served;
	// ask for the ref's own hash so that an annotated tag comes along.
	wantRef := own
	if wantRef.IsZero() {
		wantRef = advertisedAs(ar, want)
	}
	if !wantRef.IsZero() {
		err = uploadPack(ctx, sess, ar, []plumbing.Hash{wantRef}, true, repo.Storer, dir)
		release()
		if err != nil {
			return fail(fmt.Errorf("fetching: %w", err))
		}
		return repo, own, want, nil
	}

	// Not a tip: by SHA first.
	byShaErr := uploadPack(ctx, sess, ar, []plumbing.Hash{want}, true, repo.Storer, dir)
	release()
	if byShaErr == nil {
		return repo, own, want, nil
	}
	if ctx.Err() != nil {
		return fail(fmt.Errorf("fetching: %w", byShaErr))
	}

	// Refused (or failed): start again with every branch and tag in full.
	if err := clearDir(dir, false); err != nil {
		return fail(err)
	}
	if repo, err = initRepo(dir, ref); err != nil {
		return fail(err)
	}
	sess, release, err = r.open(ctx)
	if err != nil {
		return fail(err)
	}
	defer release()
	ar, err = sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return fail(fmt.Errorf("listing refs: %w", explain(err)))
	}
	var all []plumbing.Hash
	for name, h := range ar.References {
		n := plumbing.ReferenceName(name)
		if (n.IsBranch() || n.IsTag()) && !slices.Contains(all, h) {
			all = append(all, h)
		}
	}
	if len(all) == 0 {
		return fail(errors.New("the repository has no branches or tags"))
	}
	if err := uploadPack(ctx, sess, ar, all, false, repo.Storer, dir); err != nil {
		return fail(fmt.Errorf("fetching every branch and tag (the server refused commit %s by SHA: %v): %w", want, byShaErr, err))
	}
	if _, err := repo.Storer.EncodedObject(plumbing.AnyObject, want); err != nil {
		return fail(errors.New("not reachable from any branch or tag"))
	}
	return repo, own, want, nil
}

// advertisedAs returns the hash of a ref whose hash or peeled hash is h.
func advertisedAs(ar *packp.AdvRefs, h plumbing.Hash) plumbing.Hash {
	for name, rh := range ar.References {
		if rh == h || ar.Peeled[name] == h {
			return rh
		}
	}
	return plumbing.ZeroHash
}

// uploadPack fetches wants (with depth 1 when shallow and the server can)
// into sto, the repository in dir.
func uploadPack(ctx context.Context, sess transport.UploadPackSession, ar *packp.AdvRefs, wants []plumbing.Hash, shallow bool, sto storage.Storer, dir string) error {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Capabilities.Delete(capability.ThinPack)
	if ar.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	if shallow && ar.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(1)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return err
		}
	}
	req.Wants = wants
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Close()
	var pack io.Reader = newLimitedReader(ctx, resp, MaxPackBytes, "the pack")
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, pack)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, pack)
	}
	if err := storePack(ctx, sto, pack, filepath.Join(dir, ".git")); err != nil {
		return err
	}
	if len(resp.Shallows) > 0 {
		return sto.SetShallow(resp.Shallows)
	}
	return nil
}

// storePack writes the pack r into sto once a scan of it, in a temporary
// file in tmpDir, found no more than MaxPackObjects objects and none
// larger than MaxObjectBytes. The scan inflates each object once, to find
// the next, keeping none.
func storePack(ctx context.Context, sto storage.Storer, r io.Reader, tmpDir string) error {
	f, err := os.CreateTemp(tmpDir, "incoming-*.pack")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, r)
	if err != nil {
		return err
	}
	if n > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := scanPack(ctx, f); err != nil {
			return err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return packfile.UpdateObjectStorage(sto, f)
}

// scanPack checks a pack's object count and the inflated size of each
// object against MaxPackObjects and MaxObjectBytes.
func scanPack(ctx context.Context, r io.Reader) error {
	sc := packfile.NewScanner(r)
	_, count, err := sc.Header()
	if err != nil {
		return err
	}
	if int64(count) > MaxPackObjects {
		return fmt.Errorf("the pack claims %d objects, more than %d", count, MaxPackObjects)
	}
	for range count {
		if err := ctx.Err(); err != nil {
			return err
		}
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return err
		}
		if oh.Length > MaxObjectBytes {
			return fmt.Errorf("the pack's object at offset %d is %s, more than %s", oh.Offset, Size(oh.Length), Size(MaxObjectBytes))
		}
		var w io.Writer = io.Discard
		var head deltaHead
		if oh.Type.IsDelta() {
			w = &head
		}
		// go-git's scanner stops an object at the size its header declares.
		if _, _, err := sc.NextObject(w); err != nil {
			return err
		}
		if t := head.target(); t > MaxObjectBytes {
			return fmt.Errorf("the pack's delta at offset %d makes %s, more than %s", oh.Offset, Size(t), Size(MaxObjectBytes))
		}
	}
	return nil
}

// deltaHead keeps the start of a delta: its source and target sizes.
type deltaHead struct{ b []byte }

func (d *deltaHead) Write(p []byte) (int, error) {
	if len(d.b) < 20 {
		d.b = append(d.b, p[:min(len(p), 20-len(d.b))]...)
	}
	return len(p), nil
}

// target returns the delta's target size (0 if there is no delta, the
// largest int64 if it does not fit one).
func (d *deltaHead) target() int64 {
	b := d.b
	var size uint64
	for range 2 { // the source size, then the target size
		size = 0
		for shift := 0; len(b) > 0; shift += 7 {
			c := b[0]
			b = b[1:]
			if shift > 56 {
				return math.MaxInt64
			}
			size |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				break
			}
		}
	}
	return int64(min(size, math.MaxInt64))
}

// peel follows tags from h to a commit.
func peel(sto storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		o, err := sto.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", h, err)
		}
		switch o.Type() {
		case plumbing.CommitObject:
			return object.DecodeCommit(sto, o)
		case plumbing.TagObject:
			t, err := object.DecodeTag(sto, o)
			if err != nil {
				return nil, fmt.Errorf("tag %s: %w", h, err)
			}
			h = t.Target
		default:
			return nil, fmt.Errorf("%s is a %s, not a commit", h, o.Type())
		}
	}
	return nil, fmt.Errorf("%s: too many nested tags", h)
}

// checkTree refuses a commit whose tree plinth would not read
// (WalkTree): more than MaxFiles files or MaxBytes bytes, a
// symlink, a submodule, or a path leaving the checkout or entering .git.
func checkTree(ctx context.Context, c *object.Commit) error {
	return Limits{Files: MaxFiles, Bytes: MaxBytes}.WalkTree(ctx, c, func(string, *object.File) error { return nil })
}

// setRefs points HEAD at the commit: through the branch for a branch ref,
// detached otherwise (with the tag recorded for a tag ref), and records
// origin without credentials.
func setRefs(repo *git.Repository, loc *location, ref Ref, own, commit plumbing.Hash) error {
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{loc.display}}); err != nil {
		return err
	}
	sto := repo.Storer
	if ref.Branch != "" {
		// HEAD already names the branch (PlainInit's default branch).
		return sto.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(ref.Branch), commit))
	}
	if ref.Tag != "" {
		target := commit
		if !own.IsZero() {
			if _, err := sto.EncodedObject(plumbing.AnyObject, own); err == nil {
				target = own
			}
		}
		if err := sto.SetReference(plumbing.NewHashReference(plumbing.NewTagReferenceName(ref.Tag), target)); err != nil {
			return err
		}
	}
	return sto.SetReference(plumbing.NewHashReference(plumbing.HEAD, commit))
}
