package source

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	lockedChart = Locked{
		Key:     "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3",
		Kind:    "helm",
		Repo:    "https://prometheus-community.github.io/helm-charts",
		Chart:   "kube-prometheus-stack",
		Version: "88.5.3",
		Path:    "charts/kube-prometheus-stack-88.5.3.tgz",
		Digest:  "sha256:" + strings.Repeat("a", 64),
	}
	lockedGit = Locked{
		Key:    "git:https://github.com/kubeflow/manifests@26.03",
		Kind:   "git",
		URL:    "https://github.com/kubeflow/manifests",
		Ref:    "26.03",
		Commit: "d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
		Path:   "git/github.com/kubeflow/manifests@26.03",
		Digest: "sha256:" + strings.Repeat("b", 64),
	}
)

const wantLockFile = `{
  "version": 1,
  "sources": [
    {
      "key": "git:https://github.com/kubeflow/manifests@26.03",
      "kind": "git",
      "url": "https://github.com/kubeflow/manifests",
      "ref": "26.03",
      "commit": "d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
      "path": "git/github.com/kubeflow/manifests@26.03",
      "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    },
    {
      "key": "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3",
      "kind": "helm",
      "repo": "https://prometheus-community.github.io/helm-charts",
      "chart": "kube-prometheus-stack",
      "version": "88.5.3",
      "path": "charts/kube-prometheus-stack-88.5.3.tgz",
      "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    }
  ]
}
`

func TestLockWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plinth.lock")
	// Entries out of order: Write sorts them.
	l := &Lock{Version: LockVersion, Sources: []Locked{lockedChart, lockedGit}}
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != wantLockFile {
		t.Errorf("lock file:\n%s\nwant:\n%s", data, wantLockFile)
	}
	if l.Sources[0].Key != lockedChart.Key {
		t.Error("Write reordered the caller's slice")
	}
	got, err := ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sources) != 2 || got.Sources[0] != lockedGit || got.Sources[1] != lockedChart {
		t.Errorf("ReadLock = %+v", got)
	}
	if e, ok := got.Find(Source{URL: "https://github.com/kubeflow/manifests/", Ref: "26.03"}); !ok || e != lockedGit {
		t.Errorf("Find(git) = %+v, %v", e, ok)
	}
	if _, ok := got.Find(Source{URL: "https://github.com/kubeflow/manifests", Ref: "26.04"}); ok {
		t.Error("Find found another ref")
	}
	if _, ok := (*Lock)(nil).Find(Source{URL: "https://github.com/kubeflow/manifests", Ref: "26.03"}); ok {
		t.Error("a nil lock found something")
	}
	// No temporary files are left behind.
	if files := filesUnder(t, filepath.Dir(path)); len(files) != 1 {
		t.Errorf("files after Write: %q", files)
	}

	empty := filepath.Join(t.TempDir(), "plinth.lock")
	if err := (&Lock{}).Write(empty); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(empty); string(data) != "{\n  \"version\": 1,\n  \"sources\": []\n}\n" {
		t.Errorf("empty lock: %q", data)
	}
}

func TestReadLockErrors(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(wantLockFile, old, new, 1) }
	tests := []struct {
		name, content string
		want          []string
	}{
		{"version", replace(`"version": 1`, `"version": 2`), []string{"lock version 2 is not supported"}},
		{"unknown field", replace(`"kind": "git",`, `"kind": "git", "extra": 1,`), []string{`unknown field "extra"`}},
		{"path elsewhere", replace(`"path": "git/github.com/kubeflow/manifests@26.03"`, `"path": "../../etc"`),
			[]string{"git https://github.com/kubeflow/manifests@26.03", `path "../../etc" is not "git/github.com/kubeflow/manifests@26.03"`}},
		{"key mismatch", replace(`"key": "git:https://github.com/kubeflow/manifests@26.03"`, `"key": "git:x"`), []string{`key "git:x" does not match`}},
		{"digest", replace(`"digest": "sha256:bbbb`, `"digest": "md5:bbbb`), []string{"is not sha256:<64 hex digits>"}},
		{"commit", replace(`"commit": "d68ebc7fab366ab40ddd1541d2ec22febb31bc83"`, `"commit": "main"`), []string{`commit "main" is not 40 hex digits`}},
		{"duplicate", replace(`"sources": [`, `"sources": [`+lockJSON(lockedChart)+`,`), []string{"is listed twice"}},
		{"trailing data", wantLockFile + "{}", []string{"data after the lock object"}},
		{"not json", "version: 1\n", []string{"invalid character"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plinth.lock")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadLock(path)
			wantErr(t, err, append(tt.want, path)...)
		})
	}

	_, err := ReadLock(filepath.Join(t.TempDir(), "plinth.lock"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing lock: %v, want fs.ErrNotExist", err)
	}
}

func lockJSON(l Locked) string {
	return `{"key":"` + l.Key + `","kind":"` + l.Kind + `","repo":"` + l.Repo + `","chart":"` + l.Chart +
		`","version":"` + l.Version + `","path":"` + l.Path + `","digest":"` + l.Digest + `"}`
}
