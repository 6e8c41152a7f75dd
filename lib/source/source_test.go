package source

import (
	"testing"
)

func TestSourceIdentity(t *testing.T) {
	tests := []struct {
		name                    string
		src                     Source
		kind, key, path, string string
	}{
		{
			name: "helm http repo",
			src:  Source{Repo: "https://prometheus-community.github.io/helm-charts", Chart: "kube-prometheus-stack", Version: "88.5.3"},
			kind: "helm",
			key:  "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3",
			path: "charts/kube-prometheus-stack-88.5.3.tgz", string: "chart kube-prometheus-stack 88.5.3",
		},
		{
			name: "helm repo trailing slash is the same repo",
			src:  Source{Repo: "https://prometheus-community.github.io/helm-charts/", Chart: "kube-prometheus-stack", Version: "88.5.3"},
			kind: "helm",
			key:  "helm:https://prometheus-community.github.io/helm-charts#kube-prometheus-stack@88.5.3",
			path: "charts/kube-prometheus-stack-88.5.3.tgz", string: "chart kube-prometheus-stack 88.5.3",
		},
		{
			name: "helm oci",
			src:  Source{Repo: "oci://ghcr.io/nvidia/charts", Chart: "gpu-operator", Version: "v26.7.0"},
			kind: "helm",
			key:  "helm:oci://ghcr.io/nvidia/charts#gpu-operator@v26.7.0",
			path: "charts/gpu-operator-v26.7.0.tgz", string: "chart gpu-operator v26.7.0",
		},
		{
			name: "git tag",
			src:  Source{URL: "https://github.com/kubeflow/manifests", Ref: "26.03"},
			kind: "git",
			key:  "git:https://github.com/kubeflow/manifests@26.03",
			path: "git/github.com/kubeflow/manifests@26.03", string: "git https://github.com/kubeflow/manifests@26.03",
		},
		{
			name: "git .git suffix and branch with slash",
			src:  Source{URL: "https://GitHub.com/kubeflow/manifests.git", Ref: "release/1.9"},
			kind: "git",
			key:  "git:https://GitHub.com/kubeflow/manifests.git@release/1.9",
			path: "git/github.com/kubeflow/manifests@release%2F1.9", string: "git https://GitHub.com/kubeflow/manifests.git@release/1.9",
		},
		{
			name:   "git commit",
			src:    Source{URL: "https://git.bank.local:8443/platform/manifests", Ref: "d68ebc7fab366ab40ddd1541d2ec22febb31bc83"},
			kind:   "git",
			key:    "git:https://git.bank.local:8443/platform/manifests@d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
			path:   "git/git.bank.local:8443/platform/manifests@d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
			string: "git https://git.bank.local:8443/platform/manifests@d68ebc7fab366ab40ddd1541d2ec22febb31bc83",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.src.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tt.src.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
			if got := tt.src.Key(); got != tt.key {
				t.Errorf("Key() = %q, want %q", got, tt.key)
			}
			if got := tt.src.vendorPath(); got != tt.path {
				t.Errorf("vendorPath() = %q, want %q", got, tt.path)
			}
			if got := tt.src.String(); got != tt.string {
				t.Errorf("String() = %q, want %q", got, tt.string)
			}
		})
	}
}

func TestSourceValidate(t *testing.T) {
	const repo = "https://charts.example.com"
	tests := []struct {
		name string
		src  Source
		want string // "" means valid
	}{
		{"chart with v version", Source{Repo: repo, Chart: "rook-ceph", Version: "v1.20.6"}, ""},
		{"chart prerelease", Source{Repo: repo, Chart: "x", Version: "1.0.0-rc.1+build.5"}, ""},
		{"empty", Source{}, "url: is empty"},
		{"mixed", Source{Repo: repo, Chart: "x", Version: "1.0.0", URL: "https://github.com/a/b", Ref: "v1"}, "both chart fields"},
		{"range version", Source{Repo: repo, Chart: "x", Version: "^1.0.0"}, "not one exact semantic version"},
		{"wildcard version", Source{Repo: repo, Chart: "x", Version: "1.2.x"}, "not one exact semantic version"},
		{"partial version", Source{Repo: repo, Chart: "x", Version: "1.2"}, "not one exact semantic version"},
		{"no version", Source{Repo: repo, Chart: "x"}, "chart version is empty"},
		{"chart path", Source{Repo: repo, Chart: "../x", Version: "1.0.0"}, "not a plain name"},
		{"chart slash", Source{Repo: repo, Chart: "a/b", Version: "1.0.0"}, "not a plain name"},
		{"repo scheme", Source{Repo: "ftp://x/y", Chart: "x", Version: "1.0.0"}, "scheme must be http, https, oci"},
		{"repo credentials", Source{Repo: "https://u:secret@x/y", Chart: "x", Version: "1.0.0"}, "credentials in the URL are not allowed"},
		{"repo dotdot", Source{Repo: "https://x/a/../b", Chart: "x", Version: "1.0.0"}, `".." path elements`},
		{"repo query", Source{Repo: "https://x/a?b=c", Chart: "x", Version: "1.0.0"}, "query or fragment"},
		{"repo relative", Source{Repo: "charts", Chart: "x", Version: "1.0.0"}, "scheme must be"},
		{"git scheme", Source{URL: "git://github.com/a/b", Ref: "v1"}, "scheme must be http, https, ssh"},
		{"git ssh password", Source{URL: "ssh://git:pw@github.com/a/b", Ref: "v1"}, "a password in the URL is not allowed"},
		{"git scp-like", Source{URL: "git@github.com:a/b.git", Ref: "v1"}, "url:"},
		{"git no path", Source{URL: "https://github.com/", Ref: "v1"}, "no repository path"},
		{"git at in path", Source{URL: "https://github.com/a@b/c", Ref: "v1"}, "has an @ in its path"},
		{"git no ref", Source{URL: "https://github.com/a/b"}, "git ref is empty"},
		{"git ref option", Source{URL: "https://github.com/a/b", Ref: "--upload-pack=touch /tmp/x"}, "not a tag, branch or 40-hex commit"},
		{"git ref dotdot", Source{URL: "https://github.com/a/b", Ref: "a/../../b"}, "not a valid tag or branch name"},
		{"git ref space", Source{URL: "https://github.com/a/b", Ref: "a b"}, "not a valid tag or branch name"},
		{"git ref full name", Source{URL: "https://github.com/a/b", Ref: "refs/heads/main"}, "not a tag, branch"},
		{"git short sha is a name", Source{URL: "https://github.com/a/b", Ref: "d68ebc7"}, ""},
		{"git branch with slash", Source{URL: "https://github.com/a/b", Ref: "release/1.9"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}
