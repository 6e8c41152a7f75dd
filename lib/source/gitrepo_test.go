package source

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage"
)

// gitFile is one file of a test commit.
type gitFile struct {
	mode filemode.FileMode
	data string // content, symlink target, or a submodule's commit hash
}

func reg(data string) gitFile       { return gitFile{filemode.Regular, data} }
func exe(data string) gitFile       { return gitFile{filemode.Executable, data} }
func symlink(target string) gitFile { return gitFile{filemode.Symlink, target} }

var testSig = object.Signature{Name: "plinth test", Email: "test@plinth.invalid", When: time.Date(2026, 3, 21, 12, 0, 0, 0, time.UTC)}

// gitRepo builds commits object by object, so tests can make trees git
// itself would refuse.
type gitRepo struct {
	t   *testing.T
	sto storage.Storer
}

// newBareRepo initialises a bare repository at dir.
func newBareRepo(t *testing.T, dir string) *gitRepo {
	t.Helper()
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, sto: repo.Storer}
}

func (r *gitRepo) store(o interface {
	Encode(plumbing.EncodedObject) error
}) plumbing.Hash {
	r.t.Helper()
	obj := r.sto.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		r.t.Fatal(err)
	}
	h, err := r.sto.SetEncodedObject(obj)
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

func (r *gitRepo) blob(data string) plumbing.Hash {
	r.t.Helper()
	obj := r.sto.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, _ := obj.Writer()
	w.Write([]byte(data))
	w.Close()
	h, err := r.sto.SetEncodedObject(obj)
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

// tree writes the tree of files, keyed by slash path.
func (r *gitRepo) tree(files map[string]gitFile) plumbing.Hash {
	r.t.Helper()
	dirs := map[string]map[string]gitFile{}
	var entries []object.TreeEntry
	for p, f := range files {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if dirs[dir] == nil {
				dirs[dir] = map[string]gitFile{}
			}
			dirs[dir][rest] = f
			continue
		}
		h := plumbing.NewHash(f.data)
		if f.mode != filemode.Submodule {
			h = r.blob(f.data)
		}
		entries = append(entries, object.TreeEntry{Name: p, Mode: f.mode, Hash: h})
	}
	for dir, sub := range dirs {
		entries = append(entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: r.tree(sub)})
	}
	slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(a.Name, b.Name) })
	return r.store(&object.Tree{Entries: entries})
}

// commit writes a commit of files with the given parents.
func (r *gitRepo) commit(files map[string]gitFile, msg string, parents ...plumbing.Hash) plumbing.Hash {
	r.t.Helper()
	return r.store(&object.Commit{Author: testSig, Committer: testSig, Message: msg, TreeHash: r.tree(files), ParentHashes: parents})
}

// tag points refs/tags/name at an annotated tag of commit.
func (r *gitRepo) tag(name string, commit plumbing.Hash) {
	r.t.Helper()
	h := r.store(&object.Tag{Name: name, Tagger: testSig, Message: name + "\n", TargetType: plumbing.CommitObject, Target: commit})
	r.ref(plumbing.NewTagReferenceName(name), h)
}

func (r *gitRepo) ref(name plumbing.ReferenceName, h plumbing.Hash) {
	r.t.Helper()
	if err := r.sto.SetReference(plumbing.NewHashReference(name, h)); err != nil {
		r.t.Fatal(err)
	}
}

// smartHTTP serves the git repositories under root over git's smart HTTP
// protocol (upload-pack only), with go-git's server-side implementation.
func smartHTTP(t *testing.T, root string) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	hs := httptest.NewServer(rec.wrap(smartHTTPHandler(root)))
	t.Cleanup(hs.Close)
	return hs, rec
}

// smartHTTPHandler is smartHTTP's handler, for servers made otherwise.
func smartHTTPHandler(root string) http.Handler {
	srv := server.NewServer(server.NewFilesystemLoader(osfs.New(root, osfs.WithBoundOS())))
	session := func(w http.ResponseWriter, repoPath string) transport.UploadPackSession {
		ep, err := transport.NewEndpoint("http://git.test" + repoPath)
		if err == nil {
			var s transport.UploadPackSession
			if s, err = srv.NewUploadPackSession(ep, nil); err == nil {
				return s
			}
		}
		http.Error(w, err.Error(), http.StatusNotFound)
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
			s := session(w, strings.TrimSuffix(r.URL.Path, "/info/refs"))
			if s == nil {
				return
			}
			ar, err := s.AdvertisedReferencesContext(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			ar.Encode(w)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s := session(w, strings.TrimSuffix(r.URL.Path, "/git-upload-pack"))
			if s == nil {
				return
			}
			if _, err := s.AdvertisedReferencesContext(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			req := packp.NewUploadPackRequest()
			if err := req.UploadRequest.Decode(r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			resp, err := s.UploadPack(r.Context(), req)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer resp.Close()
			w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
			resp.Encode(w)
		default:
			http.NotFound(w, r)
		}
	})
}
