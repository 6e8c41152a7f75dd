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
	c, err := Options{}.fetch(ctx, url, ref, auth, commit, dir, true)
	if err != nil {
		return "", err
	}
	return c.Hash.String(), nil
}

// FetchCommit fetches ref's current commit as Fetch does, but into a new
// bare repository in dir (which must not exist or be empty), and returns
// it: nothing is checked out and its tree is not walked yet, for a caller
// that reads it with o.Export or o.WalkTree.
func (o Options) FetchCommit(ctx context.Context, url string, ref Ref, auth Auth, dir string) (*object.Commit, error) {
	return o.fetch(ctx, url, ref, auth, "", dir, false)
}

// ErrNotReachable is wrapped by Fetch's and FetchCommit's error for a
// commit that no branch or tag of the repository reaches.
var ErrNotReachable = errors.New("not reachable from any branch or tag")

func (o Options) fetch(ctx context.Context, url string, ref Ref, auth Auth, commit, dir string, checkout bool) (*object.Commit, error) {
	ref, err := ref.normalize()
	if err != nil {
		return nil, err
	}
	var want plumbing.Hash
	if commit != "" {
		c, err := parseCommit(commit)
		if err != nil {
			return nil, err
		}
		if ref.Commit != "" && c != ref.Commit {
			return nil, fmt.Errorf("commit %s: the ref asks for commit %s", c, ref.Commit)
		}
		want = plumbing.NewHash(c)
	} else if ref.Commit != "" {
		want = plumbing.NewHash(ref.Commit)
	}
	loc, err := parseLocation(url)
	if err != nil {
		return nil, auth.scrub(err, urlPassword(url))
	}
	created, err := prepareDir(dir)
	if err != nil {
		return nil, err
	}
	got, err := o.get(ctx, loc, ref, auth, want, dir, checkout)
	if err != nil {
		if cerr := clearDir(dir, created); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, auth.scrub(fmt.Errorf("%s: %s: %w", loc.display, ref, err), loc.urlPassword)
	}
	return got, nil
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

// get fills the empty directory dir: a checkout, or a bare repository,
// and returns the commit fetched.
func (o Options) get(ctx context.Context, loc *location, ref Ref, auth Auth, want plumbing.Hash, dir string, checkout bool) (*object.Commit, error) {
	var (
		repo *git.Repository
		own  plumbing.Hash // the ref's own hash, when its tip was fetched
		err  error
	)
	bare := !checkout
	if loc.isFile() {
		repo, own, want, err = o.fetchFile(ctx, loc, ref, want, dir, bare)
	} else {
		repo, own, want, err = o.fetchRemote(ctx, loc, ref, auth, want, dir, bare)
	}
	if err != nil {
		return nil, err
	}
	c, err := Peel(repo.Storer, want)
	if err != nil || !checkout {
		return c, err
	}
	if err := o.WalkTree(ctx, c, func(string, *object.File) error { return nil }); err != nil {
		return nil, err
	}
	if err := setRefs(repo, loc, ref, own, c.Hash); err != nil {
		return nil, err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: c.Hash, Mode: git.HardReset}); err != nil {
		return nil, fmt.Errorf("checking out %s: %w", c.Hash, err)
	}
	return c, nil
}

// initRepo makes dir a new repository whose HEAD names the branch ref
// follows (or the default branch).
func initRepo(dir string, ref Ref, bare bool) (*git.Repository, error) {
	branch := DefaultBranch
	if ref.Branch != "" {
		branch = ref.Branch
	}
	return git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		Bare:        bare,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
}

// gitDir is where a repository made by initRepo keeps its objects.
func gitDir(dir string, bare bool) string {
	if bare {
		return dir
	}
	return filepath.Join(dir, ".git")
}

func (o Options) fetchFile(ctx context.Context, loc *location, ref Ref, want plumbing.Hash, dir string, bare bool) (repo *git.Repository, own, commit plumbing.Hash, err error) {
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
	c, err := Peel(src.repo.Storer, want)
	if err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	// Refuse a tree before copying it: the copy's walk would stop at a
	// hostile name with an error that is not a RefusedError.
	if err := o.WalkTree(ctx, c, func(string, *object.File) error { return nil }); err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if repo, err = initRepo(dir, ref, bare); err != nil {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	return repo, own, want, src.copyCommit(ctx, own, want, repo.Storer, o.Limits.withDefaults())
}

// fetchRemote fetches want (or the ref's tip when want is zero) into a
// new repository in dir: by its ref with depth 1 when it is a ref's tip,
// else by SHA with depth 1, else (the server refused) every branch and tag
// in full, into a repository made anew. Under o.Reachable anything but
// the ref's tip is fetched with every branch and tag in full at once.
func (o Options) fetchRemote(ctx context.Context, loc *location, ref Ref, auth Auth, want plumbing.Hash, dir string, bare bool) (repo *git.Repository, own, commit plumbing.Hash, err error) {
	fail := func(err error) (*git.Repository, plumbing.Hash, plumbing.Hash, error) {
		return nil, plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	lim := o.Limits.withDefaults()
	r, err := o.dial(ctx, loc, auth)
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
	if repo, err = initRepo(dir, ref, bare); err != nil {
		release()
		return fail(err)
	}
	// A want that a ref advertises (as itself or peeled) is always served;
	// ask for the ref's own hash so that an annotated tag comes along.
	wantRef := own
	if wantRef.IsZero() && !o.Reachable {
		wantRef = advertisedAs(ar, want)
	}
	if !wantRef.IsZero() {
		err = uploadPack(ctx, sess, ar, []plumbing.Hash{wantRef}, true, repo.Storer, gitDir(dir, bare), lim)
		release()
		if err != nil {
			return fail(fmt.Errorf("fetching: %w", err))
		}
		return repo, own, want, nil
	}

	fetching := "fetching"
	if !o.Reachable {
		// Not a tip: by SHA first.
		byShaErr := uploadPack(ctx, sess, ar, []plumbing.Hash{want}, true, repo.Storer, gitDir(dir, bare), lim)
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
		if repo, err = initRepo(dir, ref, bare); err != nil {
			return fail(err)
		}
		if sess, release, err = r.open(ctx); err != nil {
			return fail(err)
		}
		if ar, err = sess.AdvertisedReferencesContext(ctx); err != nil {
			release()
			return fail(fmt.Errorf("listing refs: %w", explain(err)))
		}
		fetching = fmt.Sprintf("fetching every branch and tag (the server refused commit %s by SHA: %v)", want, byShaErr)
	}
	defer release()
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
	if err := uploadPack(ctx, sess, ar, all, false, repo.Storer, gitDir(dir, bare), lim); err != nil {
		return fail(fmt.Errorf("%s: %w", fetching, err))
	}
	if _, err := repo.Storer.EncodedObject(plumbing.AnyObject, want); err != nil {
		return fail(ErrNotReachable)
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
// into sto, whose objects are in gitDir.
func uploadPack(ctx context.Context, sess transport.UploadPackSession, ar *packp.AdvRefs, wants []plumbing.Hash, shallow bool, sto storage.Storer, gitDir string, lim Limits) error {
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
	var pack io.Reader = newLimitedReader(ctx, resp, lim.PackBytes, "the pack")
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, pack)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, pack)
	}
	if err := storePack(ctx, sto, pack, gitDir, lim); err != nil {
		return err
	}
	if len(resp.Shallows) > 0 {
		return sto.SetShallow(resp.Shallows)
	}
	return nil
}

// storePack writes the pack r into sto once a scan of it, in a temporary
// file in tmpDir, found no more than lim.PackObjects objects and none
// larger than lim.ObjectBytes. The scan inflates each object once, to find
// the next, keeping none.
func storePack(ctx context.Context, sto storage.Storer, r io.Reader, tmpDir string, lim Limits) error {
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
		if err := scanPack(ctx, f, lim); err != nil {
			return err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return packfile.UpdateObjectStorage(sto, f)
}

// scanPack checks a pack's object count and the inflated size of each
// object against lim.PackObjects and lim.ObjectBytes.
func scanPack(ctx context.Context, r io.Reader, lim Limits) error {
	sc := packfile.NewScanner(r)
	_, count, err := sc.Header()
	if err != nil {
		return err
	}
	if int64(count) > lim.PackObjects {
		return fmt.Errorf("the pack claims %d objects, more than %d", count, lim.PackObjects)
	}
	for range count {
		if err := ctx.Err(); err != nil {
			return err
		}
		oh, err := sc.NextObjectHeader()
		if err != nil {
			return err
		}
		if oh.Length > lim.ObjectBytes {
			return fmt.Errorf("the pack's object at offset %d is %s, more than %s", oh.Offset, Size(oh.Length), Size(lim.ObjectBytes))
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
		if t := head.target(); t > lim.ObjectBytes {
			return fmt.Errorf("the pack's delta at offset %d makes %s, more than %s", oh.Offset, Size(t), Size(lim.ObjectBytes))
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

// Peel follows tags from h to a commit: go-git peels a tag one level
// (object.Tag.Commit), not a tag of a tag. An object missing is go-git's
// error as it is, for the caller to name.
func Peel(sto storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		o, err := sto.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
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
	return nil, fmt.Errorf("%s: more than 10 nested tags", h)
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
