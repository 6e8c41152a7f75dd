package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// LockVersion is the version of the plinth.lock format this package reads
// and writes.
const LockVersion = 1

// Lock is the content of plinth.lock: every source an environments repo
// renders from, pinned by the digest of what was vendored.
//
// The file is JSON with the fields in the order below, two-space indented,
// entries sorted by key, and a trailing newline, so that it diffs well and
// the same lock always has the same bytes:
//
//	{
//	  "version": 1,
//	  "sources": [
//	    {
//	      "key": "git:https://github.com/kubeflow/manifests@26.03",
//	      "kind": "git",
//	      "url": "https://github.com/kubeflow/manifests",
//	      "ref": "26.03",
//	      "commit": "d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
//	      "path": "git/github.com/kubeflow/manifests@26.03",
//	      "digest": "sha256:…"
//	    },
//	    {
//	      "key": "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3",
//	      "kind": "helm",
//	      "repo": "https://prometheus-community.github.io/helm-charts",
//	      "chart": "kube-prometheus-stack",
//	      "version": "88.5.3",
//	      "path": "charts/kube-prometheus-stack-88.5.3.tgz",
//	      "digest": "sha256:…"
//	    }
//	  ]
//	}
//
// "version" at the top is the format version, [LockVersion]; an entry's
// "version" is its chart's version. The digests are defined in the package
// documentation.
type Lock struct {
	// Version is the format version, [LockVersion].
	Version int `json:"version"`
	// Sources are the pinned sources, sorted by Key.
	Sources []Locked `json:"sources"`
}

// Locked is one pinned source in the lock.
type Locked struct {
	// Key is the source's [Source.Key].
	Key string `json:"key"`
	// Kind is [KindHelm] or [KindGit].
	Kind string `json:"kind"`
	// Repo, Chart and Version are a chart's [Source] fields.
	Repo    string `json:"repo,omitempty"`
	Chart   string `json:"chart,omitempty"`
	Version string `json:"version,omitempty"`
	// URL and Ref are a git source's [Source] fields.
	URL string `json:"url,omitempty"`
	Ref string `json:"ref,omitempty"`
	// Commit is the git commit Ref resolved to when it was vendored.
	Commit string `json:"commit,omitempty"`
	// Path is where the source is vendored, relative to the vendor
	// directory and slash separated: "charts/<chart>-<version>.tgz" or
	// "git/<host>/<path>@<ref>".
	Path string `json:"path"`
	// Digest is "sha256:<hex>" of the chart archive or of the git tree.
	Digest string `json:"digest"`
}

// Source returns the source the entry pins.
func (l Locked) Source() Source {
	return Source{Repo: l.Repo, Chart: l.Chart, Version: l.Version, URL: l.URL, Ref: l.Ref}
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// validate checks an entry against the source it names: the key, kind and
// path must be the ones the source's fields give, so a lock cannot point a
// source at another path.
func (l Locked) validate() error {
	s := l.Source()
	if err := s.Validate(); err != nil {
		return err
	}
	var errs []error
	if l.Key != s.Key() {
		errs = append(errs, fmt.Errorf("key %q does not match its fields (%q)", l.Key, s.Key()))
	}
	if l.Kind != s.Kind() {
		errs = append(errs, fmt.Errorf("kind %q does not match its fields (%q)", l.Kind, s.Kind()))
	}
	if l.Path != s.vendorPath() {
		errs = append(errs, fmt.Errorf("path %q is not %q", l.Path, s.vendorPath()))
	}
	if !digestPattern.MatchString(l.Digest) {
		errs = append(errs, fmt.Errorf("digest %q is not sha256:<64 hex digits>", l.Digest))
	}
	switch {
	case s.Kind() == KindGit && !commitPattern.MatchString(l.Commit):
		errs = append(errs, fmt.Errorf("commit %q is not 40 hex digits", l.Commit))
	case s.Kind() == KindHelm && l.Commit != "":
		errs = append(errs, errors.New("a chart has no commit"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	return nil
}

// ReadLock reads and checks a lock file. A missing file is an error that
// wraps [io/fs.ErrNotExist].
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading lock: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: data after the lock object", path)
	}
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &l, nil
}

func (l *Lock) validate() error {
	if l.Version != LockVersion {
		return fmt.Errorf("lock version %d is not supported (want %d)", l.Version, LockVersion)
	}
	var errs []error
	seen := make(map[string]bool, len(l.Sources))
	for _, e := range l.Sources {
		if seen[e.Key] {
			errs = append(errs, fmt.Errorf("%s is listed twice", e.Key))
		}
		seen[e.Key] = true
		if err := e.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Write writes the lock to path atomically: to a temporary file in the same
// directory, synced, then renamed over path. Entries are written sorted by
// key whatever their order in l.
func (l *Lock) Write(path string) error {
	out := Lock{Version: l.Version, Sources: slices.Clone(l.Sources)}
	if out.Version == 0 {
		out.Version = LockVersion
	}
	if out.Sources == nil {
		out.Sources = []Locked{}
	}
	sortLocked(out.Sources)
	if err := out.validate(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	data = append(data, '\n')
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Find returns the lock's entry for the source. A nil lock has no entries.
func (l *Lock) Find(s Source) (Locked, bool) {
	if l == nil {
		return Locked{}, false
	}
	key := s.Key()
	for _, e := range l.Sources {
		if e.Key == key {
			return e, true
		}
	}
	return Locked{}, false
}

func sortLocked(entries []Locked) {
	slices.SortFunc(entries, func(a, b Locked) int { return strings.Compare(a.Key, b.Key) })
}

// writeFileAtomic writes data to a temporary file next to path, syncs it and
// renames it to path, so that readers see the old or the new content.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
