package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Head asks the remote (ls-remote, no fetch) which commit ref points at. For
// Ref.Commit it returns the commit without contacting the remote.
//
// Over HTTP this is one GET of the ref advertisement; over SSH one
// connection that reads the advertisement and closes; a file:// repository
// is opened and its ref read. A tag is peeled to its commit.
func Head(ctx context.Context, url string, ref Ref, auth Auth) (string, error) {
	ref, err := ref.normalize()
	if err != nil {
		return "", err
	}
	loc, err := parseLocation(url)
	if err != nil {
		return "", auth.scrub(err, urlPassword(url))
	}
	if ref.Commit != "" {
		return ref.Commit, nil
	}
	commit, err := Options{}.head(ctx, loc, ref, auth)
	if err != nil {
		return "", auth.scrub(fmt.Errorf("%s: %s: %w", loc.display, ref, err), loc.urlPassword)
	}
	return commit.String(), nil
}

func (o Options) head(ctx context.Context, loc *location, ref Ref, auth Auth) (plumbing.Hash, error) {
	if loc.isFile() {
		src, err := openFile(loc)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		_, c, err := src.resolve(ref)
		return c, err
	}
	ar, err := o.advertised(ctx, loc, auth)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	_, c, err := lookup(ar, ref)
	return c, err
}

// Refs lists the remote's branches and tags with the hashes it advertises
// (an annotated tag's is the tag object's), as Head reads them: over HTTP
// one GET of the ref advertisement. A name that no Ref can name (a
// server's "refs/heads/../x") is left out.
func (o Options) Refs(ctx context.Context, url string, auth Auth) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	loc, err := parseLocation(url)
	if err != nil {
		return nil, auth.scrub(err, urlPassword(url))
	}
	refs := map[plumbing.ReferenceName]plumbing.Hash{}
	add := func(name plumbing.ReferenceName, h plumbing.Hash) {
		if (name.IsBranch() || name.IsTag()) && name.Validate() == nil {
			refs[name] = h
		}
	}
	if loc.isFile() {
		src, err := openFile(loc)
		if err == nil {
			var it storer.ReferenceIter
			if it, err = src.repo.References(); err == nil {
				err = it.ForEach(func(r *plumbing.Reference) error {
					if r.Type() == plumbing.HashReference {
						add(r.Name(), r.Hash())
					}
					return nil
				})
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", loc.display, err)
		}
		return refs, nil
	}
	ar, err := o.advertised(ctx, loc, auth)
	if err != nil {
		return nil, auth.scrub(fmt.Errorf("%s: %w", loc.display, err), loc.urlPassword)
	}
	for name, h := range ar.References {
		add(plumbing.ReferenceName(name), h)
	}
	return refs, nil
}

// advertised reads a network repository's ref advertisement.
func (o Options) advertised(ctx context.Context, loc *location, auth Auth) (*packp.AdvRefs, error) {
	r, err := o.dial(ctx, loc, auth)
	if err != nil {
		return nil, err
	}
	defer r.close()
	sess, release, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing refs: %w", explain(err))
	}
	return ar, nil
}

// lookup finds a branch or tag among the advertised refs: the ref's own
// hash (an annotated tag's is the tag object) and the commit it peels to.
func lookup(ar *packp.AdvRefs, ref Ref) (own, commit plumbing.Hash, err error) {
	name := refName(ref)
	h, ok := ar.References[name.String()]
	if !ok {
		return plumbing.ZeroHash, plumbing.ZeroHash, notFound(ref, slices.Collect(maps.Keys(ar.References)))
	}
	if p, ok := ar.Peeled[name.String()]; ok {
		return h, p, nil
	}
	return h, h, nil
}

func refName(ref Ref) plumbing.ReferenceName {
	if ref.Tag != "" {
		return plumbing.NewTagReferenceName(ref.Tag)
	}
	return plumbing.NewBranchReferenceName(ref.Branch)
}

// notFound says which branches or tags the repository has instead; a
// name that is no valid ref name (a server's "refs/heads/../../x") is left
// out, as no Ref can name it.
func notFound(ref Ref, names []string) error {
	var have []string
	kind := "branches"
	for _, name := range names {
		n := plumbing.ReferenceName(name)
		if n.Validate() != nil {
			continue
		}
		if (ref.Tag != "" && n.IsTag()) || (ref.Tag == "" && n.IsBranch()) {
			have = append(have, n.Short())
		}
	}
	if ref.Tag != "" {
		kind = "tags"
	}
	slices.Sort(have)
	if len(have) == 0 {
		return fmt.Errorf("not found; the repository has no %s", kind)
	}
	const most = 10
	list := strings.Join(have[:min(len(have), most)], ", ")
	if len(have) > most {
		list += fmt.Sprintf(" and %d more", len(have)-most)
	}
	return fmt.Errorf("not found; %s: %s", kind, list)
}

// urlPassword is the password in raw's userinfo, if raw has one, for
// scrubbing a message about a URL that did not parse.
func urlPassword(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	authority, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndexByte(authority, '@')
	if i < 0 {
		return ""
	}
	_, pass, _ := strings.Cut(authority[:i], ":")
	return pass
}

// explain replaces go-git's terse messages for refused credentials (which
// end in the server's empty reason) with one that says what happened.
func explain(err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &messageError{msg: "authentication required: the server refused the credentials (or got none)", err: err}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &messageError{msg: "authorization failed: the credentials may not read this repository", err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &messageError{msg: "repository not found", err: err}
	}
	return err
}

// DefaultBranch is followed when a Ref names nothing.
const DefaultBranch = "main"

// Ref selects what to follow: exactly one of Branch, Tag, Commit (Commit: a
// full SHA; Branch defaults to "main" when all are empty).
type Ref struct{ Branch, Tag, Commit string }

func (r Ref) String() string {
	switch {
	case r.Commit != "":
		return "commit " + r.Commit
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Branch != "":
		return "branch " + r.Branch
	}
	return "branch " + DefaultBranch
}

// normalize checks r and fills in the default branch; a commit is
// returned in lower case.
func (r Ref) normalize() (Ref, error) {
	var set []string
	for _, f := range []struct{ name, value string }{{"branch", r.Branch}, {"tag", r.Tag}, {"commit", r.Commit}} {
		if f.value != "" {
			set = append(set, f.name)
		}
	}
	switch {
	case len(set) > 1:
		return Ref{}, fmt.Errorf("ref sets %s: set exactly one of branch, tag and commit", strings.Join(set, " and "))
	case len(set) == 0:
		r.Branch = DefaultBranch
	}
	switch {
	case r.Branch != "":
		if err := checkRefName(plumbing.NewBranchReferenceName(r.Branch)); err != nil {
			return Ref{}, fmt.Errorf("branch %q: %w", r.Branch, err)
		}
	case r.Tag != "":
		if err := checkRefName(plumbing.NewTagReferenceName(r.Tag)); err != nil {
			return Ref{}, fmt.Errorf("tag %q: %w", r.Tag, err)
		}
	default:
		c, err := parseCommit(r.Commit)
		if err != nil {
			return Ref{}, err
		}
		r.Commit = c
	}
	return r, nil
}

func checkRefName(n plumbing.ReferenceName) error {
	if strings.HasPrefix(n.Short(), "refs/") {
		return errors.New("give the short name, without refs/")
	}
	if n.Validate() != nil {
		return errors.New("not a valid git ref name")
	}
	return nil
}

// parseCommit accepts a full SHA-1 commit hash and returns it in lower case.
func parseCommit(s string) (string, error) {
	c := strings.ToLower(s)
	if len(c) != 40 || strings.Trim(c, "0123456789abcdef") != "" {
		return "", fmt.Errorf("commit %q: not a full 40-digit hexadecimal SHA", s)
	}
	return c, nil
}
