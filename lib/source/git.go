package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/plinth-platform/plinth/lib/gitrepo"
)

// fetchGit resolves s.Ref, through the git mirror when there is one, and
// writes the commit's tree to tree (which must not exist). work is a
// scratch directory for fetched objects. It returns the commit.
//
// A local-directory mirror is read in place. A remote repository is
// fetched by lib/gitrepo over this package's HTTP client (allow-list,
// proxy, CA file), with the netrc entry of its host as basic auth (over
// ssh:// with VendorOptions' SSH key and known_hosts instead), under gitrepo's limits and v's: the tag or branch with depth 1
// (when the server supports shallow fetches), or for a commit every branch
// and tag in full, into an object store in work. Either way gitrepo writes
// the tree, following the symlinks that stay inside it.
func (v *vendorer) fetchGit(ctx context.Context, s Source, work, tree string) (string, error) {
	up, _ := url.Parse(s.URL)
	host, p := hostPath(up)
	hc := newHTTPClient(v.opts, v.trust.pool, 0, nil) // gitrepo caps the bodies
	defer hc.CloseIdleConnections()
	opts := gitrepo.Options{
		Limits: gitrepo.Limits{
			Files:     int64(v.lim.treeFiles),
			Bytes:     v.lim.treeBytes,
			RefsBytes: min(v.lim.gitFetch, gitrepo.MaxRefsBytes),
			PackBytes: v.lim.gitFetch,
		},
		Links:      gitrepo.FollowLinks,
		HTTPClient: hc,
		Reachable:  true,
	}
	var (
		commit *object.Commit
		err    error
	)
	if m := v.gitMirror; m != nil && m.isLocal() {
		var repo *git.Repository
		repo, err = openLocal(m.join(host, filepath.FromSlash(p)).local)
		if err != nil {
			return "", err
		}
		commit, err = resolveLocal(repo, s.Ref)
	} else {
		remote := strings.TrimRight(s.URL, "/")
		if m != nil {
			remote = m.url.JoinPath(host, p).String()
		}
		auth := v.trust.gitAuth(remote)
		if strings.HasPrefix(remote, "ssh://") {
			var release func()
			if auth, release, err = sshAuth(v.opts); err != nil {
				return "", err
			}
			defer release()
		}
		commit, err = fetchRemote(ctx, opts, remote, s.Ref, auth, filepath.Join(work, "objects"))
		if err != nil && !strings.HasPrefix(remote, "ssh://") {
			u, _ := url.Parse(remote)
			err = v.trust.explainAuth(err, u)
		}
	}
	if err != nil {
		return "", err
	}
	if err := opts.Export(ctx, commit, tree); err != nil {
		var refused *gitrepo.RefusedError
		if errors.As(err, &refused) {
			return "", fmt.Errorf("commit %s: %s", commit.Hash, v.refusal(refused))
		}
		return "", err
	}
	return commit.Hash.String(), nil
}

// refusal words a tree gitrepo refused as vendoring always has, for the
// rules it always had; the others say gitrepo's reason.
func (v *vendorer) refusal(r *gitrepo.RefusedError) string {
	switch r.Rule {
	case gitrepo.RuleLeavesTree, gitrepo.RuleEntersGit:
		return fmt.Sprintf("%s: tree entry %q is not allowed", r.Path, path.Base(r.Path))
	case gitrepo.RuleNotPlain:
		return fmt.Sprintf("%s: tree entry %q has a path separator, NUL or line break", r.Path, path.Base(r.Path))
	case gitrepo.RuleSubmodule:
		return r.Path + " is a submodule; submodules are not supported"
	case gitrepo.RuleTooLarge:
		return "tree is larger than " + formatSize(v.lim.treeBytes)
	}
	return r.Reason
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
		c, err := gitrepo.Peel(repo.Storer, plumbing.NewHash(ref))
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
		c, err := gitrepo.Peel(repo.Storer, r.Hash())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return c, nil
	}
	var names []plumbing.ReferenceName
	if it, err := repo.References(); err == nil {
		it.ForEach(func(r *plumbing.Reference) error {
			names = append(names, r.Name())
			return nil
		})
	}
	return nil, refNotFound(ref, names)
}

// fetchRemote resolves ref among the remote's branches and tags (a tag
// first, as git does) and fetches its commit into a new object store at
// dir.
func fetchRemote(ctx context.Context, opts gitrepo.Options, remote, ref string, auth gitrepo.Auth, dir string) (*object.Commit, error) {
	c, err := fetchRef(ctx, opts, remote, ref, auth, dir)
	switch {
	case errors.Is(err, gitrepo.ErrNotReachable):
		return nil, fmt.Errorf("%s: commit %s is not reachable from any branch or tag", remote, ref)
	case errors.Is(err, gitrepo.ErrTooLarge):
		return nil, fmt.Errorf("%w (the response is larger than the limit of one fetch)", err)
	}
	return c, err
}

func fetchRef(ctx context.Context, opts gitrepo.Options, remote, ref string, auth gitrepo.Auth, dir string) (*object.Commit, error) {
	r := gitrepo.Ref{Commit: ref}
	if !commitPattern.MatchString(ref) {
		refs, err := opts.Refs(ctx, remote, auth)
		if err != nil {
			return nil, err
		}
		if _, ok := refs[plumbing.NewTagReferenceName(ref)]; ok {
			r = gitrepo.Ref{Tag: ref}
		} else if _, ok := refs[plumbing.NewBranchReferenceName(ref)]; ok {
			r = gitrepo.Ref{Branch: ref}
		} else {
			return nil, fmt.Errorf("%s: %w", remote, refNotFound(ref, slices.Collect(maps.Keys(refs))))
		}
	}
	return opts.FetchCommit(ctx, remote, r, auth, dir)
}

func refNotFound(ref string, names []plumbing.ReferenceName) error {
	var tags, branches []string
	for _, n := range names {
		switch {
		case n.IsTag():
			tags = append(tags, n.Short())
		case n.IsBranch():
			branches = append(branches, n.Short())
		}
	}
	slices.Sort(tags)
	slices.Sort(branches)
	return fmt.Errorf("no tag or branch %q (tags: %s; branches: %s)", ref, listSome(tags, 20), listSome(branches, 20))
}
