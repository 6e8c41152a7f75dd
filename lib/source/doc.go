// Package source pins and fetches the sources environments render from:
// Helm charts (from an HTTP(S) chart repository or an OCI registry) and git
// repositories (at a tag, branch or commit).
//
// plinth renders offline from a vendor directory. [Vendor] is the only
// function in plinth that touches the network: it downloads every [Source]
// into the vendor directory, directly or through a mirror, and records each
// one in a [Lock] (the plinth.lock file) with the sha256 digest of what was
// written. [Resolve] is the render side: it returns a source's vendored path
// after checking that it exists and still has the digest the lock records,
// without any network access.
//
// # Layout
//
// Inside the vendor directory a chart is stored as its archive,
// charts/<chart>-<version>.tgz, and a git source as a plain tree without
// .git, git/<host>/<path>@<ref>/ (a "/" in the ref written as "%2F").
//
// # Digests
//
// A chart's digest is "sha256:" and the hex sha256 of the archive bytes. A
// git tree's digest is "sha256:" and the hex sha256 of the sorted list of
// lines
//
//	<mode> <hex sha256 of the file's content> <slash-separated path>\n
//
// one per regular file of the tree, where mode is 100755 for a file with any
// execute bit set and 100644 otherwise, and the path is relative to the
// tree's root. The lines are sorted as byte strings. Directories contribute
// only through their files, so empty directories do not count. A vendored
// tree never holds symlinks (see below), so there is no line for them.
//
// # Safety
//
// Fetched content is treated as hostile:
//   - Hosts: when [VendorOptions.AllowedHosts] is set, every HTTP request,
//     including redirects, OCI token requests and chart URLs an index points
//     to, is checked against it before it is sent.
//   - Charts: an archive is capped at [MaxChartArchiveSize] compressed and
//     refused when any entry is an absolute path, has a ".." element, is not a
//     regular file or directory, or when the whole stream decompresses to more
//     than Helm's loader.MaxDecompressedChartSize (100 MiB). Helm's
//     loader.LoadArchive then validates the chart (and applies its own limit
//     of loader.MaxDecompressedFileSize, 5 MiB, per file), and the chart's
//     name and version must be the ones asked for. Nothing is written to the
//     vendor directory before all checks pass.
//   - Git trees: lib/gitrepo fetches and checks them, by the rules it
//     applies to environments repositories except for symlinks. A remote
//     repository's objects are fetched into a temporary object store (a
//     local mirror is read in place), a commit only through the branches and
//     tags that reach it, and the commit's tree is written from the objects
//     (gitrepo's Export), never by a go-git worktree checkout; no ref the
//     server sends is written anywhere. Entries that leave the tree, name
//     .git in any spelling a file system takes for it (".GIT.", "git~1"),
//     hold a path separator or control character, are too long to write or
//     appear twice in a directory are refused, and so are submodules. A
//     symlink that stays inside the tree is written as a copy of its target
//     (a regular file, or a directory copied recursively), resolved
//     lexically like path.Join (gitrepo.FollowLinks); one that is absolute,
//     leaves the tree, dangles, loops or needs more than 40 hops is refused.
//     A tree is capped at [MaxGitTreeSize] bytes and [MaxGitTreeFiles] files
//     (and directories; copies made for symlinks count), each response of
//     one fetch at [MaxGitFetchSize] (a ref advertisement at
//     gitrepo.MaxRefsBytes), and a pack's objects by gitrepo's
//     MaxPackObjects and MaxObjectBytes.
//   - Writes are atomic: a chart archive is written to a temporary file and
//     renamed, a tree is written to a temporary directory and renamed, so a
//     failed fetch leaves the vendor directory as it was. The directories
//     below the vendor directory (charts/, git/<host>/…) must be real
//     directories: a symlink there, which a hostile commit to a repository
//     holding vendor/ could add, is refused by [Vendor] and [Resolve].
//
// Time is bounded by the caller's context; the HTTP transport adds only a
// two-minute limit on waiting for response headers.
//
// Proxies, mirrors and allowed hosts come only from [VendorOptions], never
// from the process environment (HTTPS_PROXY and the like are ignored).
//
// # Credentials and a private CA
//
// Also from [VendorOptions], each through the mechanism of the library
// that makes the requests, read once before any request (a file that does
// not load fails the call, naming it):
//   - CAFile: a PEM bundle trusted on top of the system's roots (which Go
//     reads from SSL_CERT_FILE and SSL_CERT_DIR) for every HTTPS request,
//     in the TLS settings of the one transport every client here uses
//     (lib/capool). Without it the system's roots alone.
//   - Netrc (lib/netrc): basic auth by host for HTTP chart repositories,
//     added per round trip by the transport, so each hop of a redirect gets
//     its own host's entry and no other; and for git over HTTP(S), given to
//     lib/gitrepo as its Auth, which go-git sends to the repository's
//     origin only.
//   - DockerConfig: Docker's config.json, read with oras-go's credential
//     store (the one Helm's registry client uses; credsStore and credHelpers
//     run their docker-credential-* programs), answering OCI registries'
//     basic or token challenges. Helm's own registry config is not read.
//   - SSHKey (or SSHAgent, an ssh-agent's socket) and SSHKnownHosts: for
//     git over ssh://, given to lib/gitrepo, which refuses a host key
//     known_hosts does not list. Read only when a source (or the git
//     mirror) is an ssh:// URL; a key file with a passphrase is refused
//     with that reason (nothing asks for it: the agent is its place).
//
// Credentials never reach the lock (it records only the URLs a source
// names, which may not carry credentials) or an error: a refused request
// says which file was read for its host and never what it holds, and
// Vendor masks in its errors every password and token it handed out,
// should a server quote one back.
package source
