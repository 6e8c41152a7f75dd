package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// fetchGit resolves s.Ref, through the git mirror when there is one, and
// writes the commit's tree to tree (which must not exist). work is a
// scratch directory for fetched objects. It returns the commit.
//
// A local-directory mirror is read in place. A remote repository is fetched
// with go-git's smart HTTP client over this package's HTTP client: the tag
// or branch with depth 1 (when the server supports shallow fetches), or for
// a commit every branch and tag in full, into an object store in work.
func (v *vendorer) fetchGit(ctx context.Context, s Source, work, tree string) (string, error) {
	up, _ := url.Parse(s.URL)
	host, p := hostPath(up)
	var (
		sto    storer.EncodedObjectStorer
		commit *object.Commit
		err    error
	)
	if m := v.gitMirror; m != nil && m.isLocal() {
		var repo *git.Repository
		repo, err = openLocal(m.join(host, filepath.FromSlash(p)).local)
		if err != nil {
			return "", err
		}
		sto = repo.Storer
		commit, err = resolveLocal(repo, s.Ref)
	} else {
		remote := strings.TrimRight(s.URL, "/")
		if m != nil {
			remote = m.url.JoinPath(host, p).String()
		}
		sto, commit, err = v.fetchRemote(ctx, remote, s.Ref, filepath.Join(work, "objects"))
	}
	if err != nil {
		return "", err
	}
	root, err := commit.Tree()
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", commit.Hash, err)
	}
	w := &treeWriter{ctx: ctx, sto: sto, root: root, dest: tree, lim: v.lim}
	if err := w.writeTree(root, ".", "."); err != nil {
		return "", fmt.Errorf("commit %s: %w", commit.Hash, err)
	}
	return commit.Hash.String(), nil
}

// openLocal opens the repository at dir, dir.git, or dir without its .git
// suffix: bare or not.
func openLocal(dir string) (*git.Repository, error) {
	candidates := []string{dir}
	if trimmed, ok := strings.CutSuffix(dir, ".git"); ok {
		candidates = append(candidates, trimmed)
	} else {
		candidates = append(candidates, dir+".git")
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err != nil || !fi.IsDir() {
			continue
		}
		repo, err := git.PlainOpen(c)
		if errors.Is(err, git.ErrRepositoryNotExists) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", c, err)
		}
		return repo, nil
	}
	return nil, fmt.Errorf("no git repository at %s", strings.Join(candidates, " or "))
}

// resolveLocal resolves a tag, branch (also a non-bare clone's
// origin/<branch>) or commit in a local repository.
func resolveLocal(repo *git.Repository, ref string) (*object.Commit, error) {
	if commitPattern.MatchString(ref) {
		c, err := peel(repo.Storer, plumbing.NewHash(ref))
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", ref, err)
		}
		return c, nil
	}
	for _, name := range []plumbing.ReferenceName{
		plumbing.NewTagReferenceName(ref),
		plumbing.NewBranchReferenceName(ref),
		plumbing.NewRemoteReferenceName("origin", ref),
	} {
		r, err := repo.Reference(name, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		c, err := peel(repo.Storer, r.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return c, nil
	}
	var tags, branches []string
	if it, err := repo.References(); err == nil {
		it.ForEach(func(r *plumbing.Reference) error {
			switch {
			case r.Name().IsTag():
				tags = append(tags, r.Name().Short())
			case r.Name().IsBranch():
				branches = append(branches, r.Name().Short())
			}
			return nil
		})
	}
	return nil, refNotFound(ref, tags, branches)
}

func refNotFound(ref string, tags, branches []string) error {
	slices.Sort(tags)
	slices.Sort(branches)
	return fmt.Errorf("no tag or branch %q (tags: %s; branches: %s)", ref, listSome(tags, 20), listSome(branches, 20))
}

// fetchRemote fetches what ref needs from a smart-HTTP git server into a
// new object store at dir and returns the commit.
func (v *vendorer) fetchRemote(ctx context.Context, remote, ref, dir string) (storer.EncodedObjectStorer, *object.Commit, error) {
	ep, err := transport.NewEndpoint(remote)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", remote, err)
	}
	hc := newHTTPClient(v.opts, v.lim.gitFetch, nil)
	defer hc.CloseIdleConnections()
	client := githttp.NewClientWithOptions(hc, &githttp.ClientOptions{
		RedirectPolicy: githttp.FollowInitialRedirects,
	})
	sess, err := client.NewUploadPackSession(ep, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", remote, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: listing refs: %w", remote, err)
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: listing refs: %w", remote, err)
	}

	var (
		target plumbing.Hash
		wants  []plumbing.Hash
		depth  int
	)
	if commitPattern.MatchString(ref) {
		// Servers need not serve an arbitrary commit: fetch every branch
		// and tag and look for the commit among them.
		target = plumbing.NewHash(ref)
		for _, r := range refs {
			if (r.Name().IsBranch() || r.Name().IsTag()) && r.Type() == plumbing.HashReference && !slices.Contains(wants, r.Hash()) {
				wants = append(wants, r.Hash())
			}
		}
		if len(wants) == 0 {
			return nil, nil, fmt.Errorf("%s has no branches or tags", remote)
		}
	} else {
		var r *plumbing.Reference
		for _, name := range []plumbing.ReferenceName{plumbing.NewTagReferenceName(ref), plumbing.NewBranchReferenceName(ref)} {
			if r = refs[name]; r != nil && r.Type() == plumbing.HashReference {
				break
			}
			r = nil
		}
		if r == nil {
			var tags, branches []string
			for name := range refs {
				switch {
				case name.IsTag():
					tags = append(tags, name.Short())
				case name.IsBranch():
					branches = append(branches, name.Short())
				}
			}
			return nil, nil, fmt.Errorf("%s: %w", remote, refNotFound(ref, tags, branches))
		}
		target, wants, depth = r.Hash(), []plumbing.Hash{r.Hash()}, 1
	}

	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Capabilities.Delete(capability.ThinPack)
	if ar.Capabilities.Supports(capability.NoProgress) {
		req.Capabilities.Set(capability.NoProgress)
	}
	if depth > 0 && ar.Capabilities.Supports(capability.Shallow) {
		req.Depth = packp.DepthCommits(depth)
		req.Capabilities.Set(capability.Shallow)
	}
	req.Wants = wants
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: fetching: %w", remote, err)
	}
	defer resp.Close()

	sto := filesystem.NewStorage(osfs.New(dir, osfs.WithBoundOS()), cache.NewObjectLRUDefault())
	if len(resp.Shallows) > 0 {
		if err := sto.SetShallow(resp.Shallows); err != nil {
			return nil, nil, err
		}
	}
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		pack = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	if err := packfile.UpdateObjectStorage(sto, pack); err != nil {
		return nil, nil, fmt.Errorf("%s: fetching: %w", remote, err)
	}
	c, err := peel(sto, target)
	if errors.Is(err, plumbing.ErrObjectNotFound) && depth == 0 {
		return nil, nil, fmt.Errorf("%s: commit %s is not reachable from any branch or tag", remote, ref)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %w", remote, ref, err)
	}
	return sto, c, nil
}

// peel follows tags from h to a commit.
func peel(sto storer.EncodedObjectStorer, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := object.GetObject(sto, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return nil, fmt.Errorf("%s: more than 10 nested tags", h)
}

// treeWriter writes a git tree to a directory as regular files, enforcing
// the package's rules on names, symlinks and size.
type treeWriter struct {
	ctx   context.Context
	sto   storer.EncodedObjectStorer
	root  *object.Tree
	dest  string
	lim   limits
	files int
	bytes int64
	stack []plumbing.Hash // trees being written, to refuse symlink loops
}

// maxSymlinkHops bounds the symlinks followed to resolve one path, as the
// kernel's ELOOP does.
const maxSymlinkHops = 40

// writeTree writes t at out (slash path relative to dest, "." for dest
// itself); real is where t is in the repository, which differs from out
// inside a directory copied for a symlink.
func (w *treeWriter) writeTree(t *object.Tree, out, real string) error {
	if slices.Contains(w.stack, t.Hash) {
		return fmt.Errorf("%s: symlinks form a loop", out)
	}
	w.stack = append(w.stack, t.Hash)
	defer func() { w.stack = w.stack[:len(w.stack)-1] }()
	if err := os.Mkdir(w.abs(out), 0o755); err != nil {
		return err
	}
	for _, e := range t.Entries {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if err := checkName(e.Name); err != nil {
			return fmt.Errorf("%s: %w", path.Join(real, e.Name), err)
		}
		if err := w.writeEntry(e, path.Join(out, e.Name), path.Join(real, e.Name)); err != nil {
			return err
		}
	}
	return nil
}

func (w *treeWriter) writeEntry(e object.TreeEntry, out, real string) error {
	switch e.Mode {
	case filemode.Dir:
		sub, err := object.GetTree(w.sto, e.Hash)
		if err != nil {
			return fmt.Errorf("%s: %w", real, err)
		}
		return w.writeTree(sub, out, real)
	case filemode.Regular, filemode.Deprecated, filemode.Executable:
		return w.writeBlob(e.Hash, out, e.Mode == filemode.Executable)
	case filemode.Symlink:
		hops := 0
		target, targetReal, err := w.followLink(e.Hash, real, &hops)
		if err != nil {
			return err
		}
		return w.writeEntry(target, out, targetReal)
	case filemode.Submodule:
		return fmt.Errorf("%s is a submodule; submodules are not supported", real)
	}
	return fmt.Errorf("%s has unsupported mode %s", real, e.Mode)
}

// followLink resolves the symlink at real (whose target is blob h) to the
// entry it names, following symlinks in every element, and returns that
// entry and its path. Targets are resolved lexically, like path.Join, and
// must stay inside the repository.
func (w *treeWriter) followLink(h plumbing.Hash, real string, hops *int) (object.TreeEntry, string, error) {
	*hops++
	if *hops > maxSymlinkHops {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s: more than %d levels of symlinks", real, maxSymlinkHops)
	}
	blob, err := object.GetBlob(w.sto, h)
	if err != nil {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s: %w", real, err)
	}
	if blob.Size > 4096 {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s: target is longer than 4096 bytes", real)
	}
	r, err := blob.Reader()
	if err != nil {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s: %w", real, err)
	}
	raw, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s: %w", real, err)
	}
	target := string(raw)
	if target == "" || path.IsAbs(target) || strings.ContainsAny(target, "\\\x00") || drivePath.MatchString(target) {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s points outside the repository (to %q)", real, target)
	}
	p := path.Join(path.Dir(real), target)
	if p == ".." || strings.HasPrefix(p, "../") {
		return object.TreeEntry{}, "", fmt.Errorf("symlink %s points outside the repository (to %q)", real, target)
	}
	return w.lookup(p, real, hops)
}

// lookup returns the entry at p (clean, relative to the root), following
// symlinks; link names the symlink being resolved, for errors.
func (w *treeWriter) lookup(p, link string, hops *int) (object.TreeEntry, string, error) {
	if p == "." {
		return object.TreeEntry{Mode: filemode.Dir, Hash: w.root.Hash}, ".", nil
	}
	parts := strings.Split(p, "/")
	cur, dir := w.root, "."
	for i, name := range parts {
		var e *object.TreeEntry
		for j := range cur.Entries {
			if cur.Entries[j].Name == name {
				e = &cur.Entries[j]
				break
			}
		}
		here := path.Join(dir, name)
		if e == nil {
			return object.TreeEntry{}, "", fmt.Errorf("symlink %s points to %s, which does not exist", link, p)
		}
		if err := checkName(name); err != nil {
			return object.TreeEntry{}, "", fmt.Errorf("%s: %w", here, err)
		}
		if e.Mode == filemode.Symlink {
			target, targetReal, err := w.followLink(e.Hash, here, hops)
			if err != nil {
				return object.TreeEntry{}, "", err
			}
			if rest := parts[i+1:]; len(rest) > 0 {
				if target.Mode != filemode.Dir {
					return object.TreeEntry{}, "", fmt.Errorf("symlink %s points to %s, which is not a directory", link, p)
				}
				return w.lookup(path.Join(append([]string{targetReal}, rest...)...), link, hops)
			}
			return target, targetReal, nil
		}
		if i == len(parts)-1 {
			return *e, here, nil
		}
		if e.Mode != filemode.Dir {
			return object.TreeEntry{}, "", fmt.Errorf("symlink %s points to %s, which is not a directory", link, p)
		}
		sub, err := object.GetTree(w.sto, e.Hash)
		if err != nil {
			return object.TreeEntry{}, "", fmt.Errorf("%s: %w", here, err)
		}
		cur, dir = sub, here
	}
	panic("unreachable")
}

func (w *treeWriter) writeBlob(h plumbing.Hash, out string, exec bool) error {
	blob, err := object.GetBlob(w.sto, h)
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	w.files++
	if w.files > w.lim.treeFiles {
		return fmt.Errorf("tree has more than %d files", w.lim.treeFiles)
	}
	w.bytes += blob.Size
	if w.bytes > w.lim.treeBytes {
		return fmt.Errorf("tree is larger than %s", formatSize(w.lim.treeBytes))
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	defer r.Close()
	perm := os.FileMode(0o644)
	if exec {
		perm = 0o755
	}
	f, err := os.OpenFile(w.abs(out), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, blob.Size+1))
	if err == nil && n != blob.Size {
		err = fmt.Errorf("%s: read %d bytes, the object has %d", out, n, blob.Size)
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (w *treeWriter) abs(out string) string {
	return filepath.Join(w.dest, filepath.FromSlash(out))
}

// checkName refuses tree entry names that could escape the directory, hide
// a .git directory in the vendored tree, or break the digest's lines.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("tree entry %q is not allowed", name)
	case strings.ContainsAny(name, "/\\\x00\n\r"):
		return fmt.Errorf("tree entry %q has a path separator, NUL or line break", name)
	}
	if n := strings.TrimRight(strings.ToLower(name), ". "); n == ".git" || n == "git~1" {
		return fmt.Errorf("tree entry %q is not allowed", name)
	}
	return nil
}
