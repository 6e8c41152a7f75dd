// Package gitrepo reads revisions of an environments repository with
// go-git, so that plinth diff needs no git binary: it resolves refs, finds
// the merge base with the default branch, and exports a commit's tree to a
// directory that the render pipeline reads like any checkout.
package gitrepo
