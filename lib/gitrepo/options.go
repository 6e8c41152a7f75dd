package gitrepo

import "net/http"

// Limits on what one Head or Fetch reads and what one tree may hold:
// variables, for a program (or a test) to tune before it starts work.
var (
	// MaxRefsBytes bounds a ref advertisement read over HTTP.
	MaxRefsBytes int64 = 64 << 20
	// MaxPackBytes bounds the pack one Fetch downloads (or copies from a
	// file:// repository).
	MaxPackBytes int64 = 1 << 30
	// MaxPackObjects bounds the objects a pack from a server may hold:
	// go-git allocates index memory for as many objects as a pack's header
	// claims (32 bytes each) before reading any, so twelve bytes claiming
	// 2³²-1 objects would take 128 GiB. A depth-1 pack of a tree within
	// MaxFiles holds fewer than 2*MaxFiles+3 objects.
	MaxPackObjects int64 = 1 << 20
	// MaxObjectBytes bounds one object of a pack from a server, inflated
	// (a file's size, or what a delta makes): go-git inflates every object
	// of a pack whole in memory to index it, so a blob of zeros that packs
	// into a few MiB would take GiBs. Fetch checks the sizes the pack
	// declares (go-git holds each object to its declared size) before
	// go-git reads it.
	MaxObjectBytes int64 = 128 << 20
	// MaxFiles (files, and separately directories) and MaxBytes (their
	// total size) bound a tree: the one a Fetch checks out, the one Export
	// writes.
	MaxFiles int64 = 100_000
	MaxBytes int64 = 1 << 30
)

// Limits bound one call; a zero field takes the package variable of the
// same name (MaxFiles, ...) when the call starts.
type Limits struct {
	Files, Bytes int64 // a tree's files (and, separately, directories) and their total size
	RefsBytes    int64 // a ref advertisement over HTTP
	PackBytes    int64 // the pack of one fetch
	PackObjects  int64 // the objects of a pack
	ObjectBytes  int64 // one object of a pack, inflated
}

func (l Limits) withDefaults() Limits {
	for _, f := range []struct {
		field *int64
		def   int64
	}{
		{&l.Files, MaxFiles}, {&l.Bytes, MaxBytes}, {&l.RefsBytes, MaxRefsBytes},
		{&l.PackBytes, MaxPackBytes}, {&l.PackObjects, MaxPackObjects}, {&l.ObjectBytes, MaxObjectBytes},
	} {
		if *f.field == 0 {
			*f.field = f.def
		}
	}
	return l
}

// Links says what a walk of a tree does with a symlink. Both rules keep
// every file a walk visits inside the tree; they differ in whether a link
// that stays inside it is read.
type Links int

const (
	// RefuseLinks refuses every symlink, wherever it points. Environments
	// repositories use it (Fetch, Export, WalkTree): the controller and
	// plinth diff render a checkout on disk, where CUE's loader and
	// kustomize would follow a link wherever it points, and plinth's own
	// format needs none.
	RefuseLinks Links = iota
	// FollowLinks reads a symlink whose target stays inside the tree as a
	// copy of its target: a file, or a directory walked again under the
	// link's path. The target is resolved lexically from the link's
	// directory, like path.Join, following the symlinks on its way; a link
	// that is absolute, leaves the tree, dangles, loops or needs more than
	// 40 hops is refused. Vendoring uses it: upstream repositories (Kubeflow's
	// manifests) link shared files and bases, and Export writes the copies,
	// so the vendored tree holds no link either.
	FollowLinks
)

// Options adapt a fetch or a walk to a caller other than the controller
// and plinth diff; the zero Options is theirs (Head, Fetch, WalkTree,
// Repo.Export).
type Options struct {
	Limits Limits
	Links  Links
	// HTTPClient carries https:// and http:// requests: its Transport
	// (http.DefaultTransport when nil) under this package's size limits,
	// its CheckRedirect after go-git's redirect policy. Nil: a client with
	// the proxy from the environment.
	HTTPClient *http.Client
	// Reachable fetches a Ref.Commit with every branch and tag in full and
	// refuses it unless one of them reaches it, instead of asking the
	// server for it by SHA: go-git's own server serves any object it holds
	// by SHA, so asking would get a commit that no branch or tag has.
	// Vendoring pins published commits only.
	Reachable bool
}
