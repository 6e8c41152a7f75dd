package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrRevisionNotFound is wrapped by Resolve's error for a revision that
// names no commit of the repository (errors.Is finds it); a revision
// that is not valid syntax is a different error.
var ErrRevisionNotFound = errors.New("revision not found")

// notFoundError is Resolve's error for a revision naming no commit.
type notFoundError struct {
	rev    string
	reason string // "(no such ...)" or ": the repository has ..."
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("revision %q not found%s", e.rev, e.reason)
}

func (e *notFoundError) Unwrap() error { return ErrRevisionNotFound }

// ancestry splits a revision into the name it starts from and its
// ancestry suffix (a sequence of ~N, ~, ^N and ^), e.g. "HEAD~2^2" into
// "HEAD" and "~2^2"; ok is false for any other revision syntax.
var ancestry = regexp.MustCompile(`^([^~^]+)((?:[~^][0-9]*)+)$`)

var ancestryStep = regexp.MustCompile(`([~^])([0-9]*)`)

// notFound explains why go-git could not resolve rev (err): a name that is
// no branch, tag or commit, or an ancestry suffix going back further than
// the history does. Other errors (invalid syntax) are returned as they
// are, named by the revision.
func (r *Repo) notFound(rev string, err error) error {
	m := ancestry.FindStringSubmatch(rev)
	switch {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		if r.commits() == 0 {
			return &notFoundError{rev, ": the repository has no commits"}
		}
		if m != nil && m[1] != rev {
			if _, err := r.repo.ResolveRevision(plumbing.Revision(m[1])); err != nil {
				return &notFoundError{rev, fmt.Sprintf(": %q is no branch, tag or commit", m[1])}
			}
		}
		return &notFoundError{rev, " (no such branch, tag or commit)"}
	case errors.Is(err, io.EOF) && m != nil:
		// go-git ran out of parents: walk the suffix again to say where.
		if reason := r.shortHistory(m[1], m[2]); reason != "" {
			return &notFoundError{rev, reason}
		}
	}
	if msg, ok := strings.CutPrefix(err.Error(), "Revision invalid : "); ok {
		return fmt.Errorf("revision %q is not valid: %s", rev, msg) // go-git's parser
	}
	return fmt.Errorf("revision %q: %w", rev, err)
}

// shortHistory walks the ancestry suffix from name and says where the
// history ends before the suffix does; "" when it does not (or name does
// not resolve).
func (r *Repo) shortHistory(name, suffix string) string {
	h, err := r.repo.ResolveRevision(plumbing.Revision(name))
	if err != nil {
		return ""
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return ""
	}
	at := name // the revision of c, for the message
	for _, step := range ancestryStep.FindAllStringSubmatch(suffix, -1) {
		n := 1
		if step[2] != "" {
			n, _ = strconv.Atoi(step[2])
		}
		if step[1] == "^" {
			if n == 0 {
				at += step[0]
				continue
			}
			if n > 1 {
				if c.NumParents() < n {
					return fmt.Sprintf(": %s has %s", at, plural(c.NumParents(), "parent"))
				}
				if c, err = c.Parent(n - 1); err != nil {
					return ""
				}
				at += step[0]
				continue
			}
		}
		// ~N, ^ and ^1: N first parents.
		from := c
		for range n {
			if c.NumParents() == 0 {
				return r.historyEnds(from, at)
			}
			if c, err = c.Parent(0); err != nil {
				return ""
			}
		}
		at += step[0]
	}
	return ""
}

// historyEnds says how far back the first-parent history of commit c
// (revision at) goes: as the number of commits of the repository when
// that history is all of them.
func (r *Repo) historyEnds(c *object.Commit, at string) string {
	n := 1
	for c.NumParents() > 0 {
		var err error
		if c, err = c.Parent(0); err != nil {
			return ""
		}
		n++
	}
	if r.commits() == n {
		return ": the repository has " + plural(n, "commit")
	}
	return fmt.Sprintf(": %s has %s of first-parent history", at, plural(n, "commit"))
}

// commits counts the commits reachable from HEAD and every reference.
func (r *Repo) commits() int {
	iter, err := r.repo.Log(&git.LogOptions{All: true})
	if err != nil {
		return 0
	}
	n := 0
	iter.ForEach(func(*object.Commit) error { n++; return nil })
	return n
}

func plural(n int, noun string) string {
	switch n {
	case 0:
		return "no " + noun + "s"
	case 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
