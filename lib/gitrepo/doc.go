// Package gitrepo is plinth's one git package, with go-git and no git
// binary: it reads revisions of a local repository (plinth diff), asks a
// remote repository for a branch's or tag's commit and fetches that commit
// (the controller, and plinth vendor through lib/source), and checks every
// tree it reads by one set of rules.
//
// # Local repositories
//
// Open finds the repository around a directory; Resolve turns a revision
// into a commit, DefaultBase finds the merge base with the default branch,
// and Export writes a commit's tree to a directory that the render
// pipeline reads like any checkout. A revision that names no commit is an
// error wrapping ErrRevisionNotFound that says why: no such branch, tag or
// commit, or a history shorter than HEAD~5 needs ("the repository has 1
// commit").
//
// # Remote repositories
//
// Head asks the remote which commit a branch or tag points at: for
// https:// and http:// that is one GET of info/refs (the ref
// advertisement, as git ls-remote), no pack is fetched, so polling a
// repository that did not change is cheap. Fetch then makes a directory a
// shallow (depth 1) checkout of that commit.
//
// Transports:
//   - https:// and http://: go-git's smart-HTTP client over an HTTP client of
//     this package (proxy from the environment, redirects followed only on
//     the first request, as git does; go-git sends no credentials, neither
//     the Authorization header nor the URL's, past a redirect to another
//     origin, and refuses one from https to http). Auth.Password (a password or a token)
//     is sent as basic auth, preemptively; a URL's userinfo is used only when
//     Auth carries no password. Over http:// they travel in clear text: use
//     it for tests and trusted networks only. The server's certificate is
//     checked against the system's roots (SSL_CERT_FILE and SSL_CERT_DIR
//     honoured, as Go reads them) plus Auth.CA, a private CA's PEM bundle
//     (a Secret's "ca.crt"), through lib/capool: the CA adds to the roots,
//     it does not replace them.
//   - ssh://: go-git's SSH client with Auth.Identity. The server's host key
//     must be listed in Auth.KnownHosts (checked with
//     golang.org/x/crypto/ssh/knownhosts; the bytes are written to a
//     temporary file, removed at once, because that package reads files);
//     any other key is refused. There is no insecure mode and no
//     ~/.ssh/known_hosts (the caller reads files; lib/source does for the
//     CLI), and an ssh-agent only when the caller gives Auth.Agent; go-git
//     does read the process's ssh_config for a host alias's HostName and
//     Port. The user is the URL's, else "git".
//   - file://: read in-process with go-git from the repository on disk
//     (bare or not), for tests and for mirrors on a shared volume. go-git's
//     own file transport would exec git-upload-pack (the git binary), and its
//     in-process server transport advertises no peeled tags and serves no
//     shallow packs, so neither is used: Head reads the refs from the
//     repository and Fetch copies exactly the objects of the commit's tree.
//     Auth is not used.
//
// Fetching a commit that is not a branch or tag tip (a Ref.Commit, or a
// branch that moved on since Head) first asks the server for that commit
// by SHA with depth 1. Git's own smart-HTTP backend serves any commit
// reachable from a ref that way (its stateless RPC checks reachability), as
// does any server that allows reachable SHA-1 wants; a server that refuses
// (git upload-pack over SSH without uploadpack.allowReachableSHA1InWant)
// gets a second request for every branch and tag in full, and the commit
// is checked out from that full history, or reported as not reachable.
// The tests exercise both paths against git itself.
//
// # Trees
//
// One walk checks every tree plinth reads from a repository (WalkTree,
// Options.WalkTree): Export writes a tree with it, Fetch checks a fetched
// tree with it before checking it out. It refuses a submodule, a path that
// leaves the tree or enters .git, a name no file system should see, and a
// tree over MaxFiles files (or directories) or MaxBytes bytes. Symlinks
// follow one rule, chosen per caller (Links): RefuseLinks, for
// environments repositories (Fetch, Export), refuses every symlink;
// FollowLinks, for vendored sources (lib/source), reads a link that stays
// inside the tree as a copy of its target and refuses any other. Either
// way nothing a walk visits lies outside the tree, and Export writes no
// link. A refusal is a *RefusedError (errors.As finds it through any
// wrapping) naming the Rule that refused it: the commit is bad and
// fetching it again will not help, unlike an error reading the repository
// or any other error of Head and Fetch. Its message is
// "commit <short>: <reason>".
//
// # Other callers
//
// Options adapt Refs (a remote's branches and tags), FetchCommit (a
// commit's objects into a bare repository, no checkout), WalkTree and
// Export to a caller other than the controller and plinth diff: its
// limits, its symlink rule, its HTTP client (lib/source passes one with
// its allow-list and proxy) and, with Reachable, a commit fetched only
// through the branches and tags that reach it.
//
// # Safety
//
// No transport runs a command, and a ref, host or user that reads as an
// option ("-x", "--upload-pack=...") is refused before any connection.
// Downloads are bounded (MaxRefsBytes, MaxPackBytes, MaxPackObjects,
// MaxObjectBytes: every HTTP response body is capped, and a pack is written
// to a temporary file in the repository and its object headers checked
// before go-git indexes it; a download over its limit is an ErrTooLarge),
// and so is a tree (MaxFiles, MaxBytes); the limits are variables, for a
// program to tune, and Options.Limits per call. Time is bounded only by
// the caller's context.
//
// Errors name the repository by its URL without userinfo password and
// never contain a password, token or private key: every error leaving Head
// and Fetch is also scrubbed of the credentials it was given (those of at
// least 4 characters). Auth prints as a summary that says which fields are
// set.
package gitrepo
