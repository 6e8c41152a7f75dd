// Package gitrepo reads revisions of an environments repository with
// go-git, so that plinth diff needs no git binary: it resolves refs, finds
// the merge base with the default branch, and exports a commit's tree to a
// directory that the render pipeline reads like any checkout. A revision
// that names no commit is an error wrapping ErrRevisionNotFound that says
// why: no such branch, tag or commit, or a history shorter than HEAD~5
// needs ("the repository has 1 commit").
//
// WalkTree is the one check of a repository tree, used by Export and by
// lib/gitfetch before a checkout: it refuses a symlink, a submodule, a
// path that leaves the tree or enters .git, a name no file system should
// see, and a tree over MaxExportFiles files or MaxExportBytes bytes. Such a
// refusal is a *RefusedError (errors.As finds it through any wrapping): the
// commit is bad and fetching it again will not help, unlike an error
// reading the repository. Its message is the same as before it was typed,
// "commit <short>: <reason>".
package gitrepo
