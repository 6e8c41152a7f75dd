package cli

// The version lives in the cli package, not a package of its own: only the
// command line reports it (plinth version, --version) and pins it
// (plinth init's CI files), and the Makefile's -ldflags -X then name one
// package the CLI owns.

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set by the Makefile's build with -ldflags -X
// github.com/plinth-platform/plinth/cmd/plinth/cli.version=... (and
// commit, date); a plain go build or go install leaves them empty and the
// build information the go command records fills them in.
var (
	version string // git describe --tags --always --dirty
	commit  string // git rev-parse HEAD
	date    string // the build's time, RFC 3339, UTC
)

// versionModules are the libraries whose versions decide what plinth
// renders: the CUE evaluator, the Helm SDK and kustomize (krusty).
var versionModules = []struct{ name, path string }{
	{"cue", "cuelang.org/go"},
	{"helm", "helm.sh/helm/v3"},
	{"kustomize", "sigs.k8s.io/kustomize/api"},
}

// VersionInfo is what plinth version prints; its JSON form (-o json) is
// stable: fields are only ever added.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	// Dirty: built from a working tree with uncommitted changes.
	Dirty bool   `json:"dirty,omitempty"`
	Go    string `json:"go"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// Modules maps cue, helm and kustomize to their module versions.
	Modules map[string]string `json:"modules"`
}

// currentVersion reads the version from the -ldflags variables, then from
// the binary's build information.
func currentVersion() VersionInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return versionFrom(info)
}

// versionFrom is currentVersion with the build information given (nil:
// none). A test binary has neither VCS settings nor dependencies in its
// build information: its modules are "unknown".
func versionFrom(info *debug.BuildInfo) VersionInfo {
	v := VersionInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Modules: map[string]string{}}
	if info != nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				v.Dirty = v.Dirty || s.Value == "true"
			}
		}
		if v.Version == "" {
			v.Version = info.Main.Version // go install …@v1.2.3, or a pseudo-version
		}
		for _, d := range info.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			for _, m := range versionModules {
				if d.Path == m.path {
					v.Modules[m.name] = d.Version
				}
			}
		}
	}
	if strings.HasSuffix(version, "-dirty") {
		v.Dirty = true
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	if v.Date == "" {
		v.Date = "unknown"
	}
	for _, m := range versionModules {
		if v.Modules[m.name] == "" {
			v.Modules[m.name] = "unknown"
		}
	}
	return v
}

// describeSuffix is what git describe adds after a tag: commits since it
// and the abbreviated commit.
var describeSuffix = regexp.MustCompile(`-[0-9]+-g[0-9a-f]+$`)

// release is a tag vMAJOR.MINOR.PATCH[-pre] without build metadata.
var release = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// Pin is the version go install fetches this plinth by: the release tag
// of a release build (go install …@v1.2.3 or a build at a tag), else the
// commit it was built from (for a dirty build, the commit its changes sit
// on), else "latest" when neither is known.
func (v VersionInfo) Pin() string {
	if release.MatchString(v.Version) && !v.Dirty && !describeSuffix.MatchString(v.Version) {
		return v.Version
	}
	if v.Commit != "unknown" && v.Commit != "" {
		return v.Commit
	}
	return "latest"
}

// WriteText prints one line per item, the version first.
func (v VersionInfo) WriteText(w io.Writer) error {
	dirty := ""
	if v.Dirty && !strings.HasSuffix(v.Version, "dirty") {
		dirty = " (modified)"
	}
	_, err := fmt.Fprintf(w, "plinth %s%s\ncommit:    %s\nbuilt:     %s\ngo:        %s %s\ncue:       %s\nhelm:      %s\nkustomize: %s\n",
		v.Version, dirty, v.Commit, v.Date, v.Go, v.Platform, v.Modules["cue"], v.Modules["helm"], v.Modules["kustomize"])
	return err
}

func newVersionCommand(s Streams) *cobra.Command {
	output := outputFormat{value: "text", allowed: []string{"text", "json"}}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print plinth's version, commit, build date and the CUE, Helm and kustomize versions",
		Long: `version prints the plinth version (git describe of the build, or the
module version go install fetched), the commit and time it was built from,
the Go toolchain and platform, and the versions of the CUE, Helm and
kustomize modules plinth renders with. plinth --version prints the same.

plinth init pins this version in the CI files it writes: the release tag,
or the commit for a build between releases.

Exit status: 0.`,
		Example: `  plinth version
  plinth version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := currentVersion()
			if output.value == "json" {
				enc := json.NewEncoder(s.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return v.WriteText(s.Out)
		},
	}
	cmd.Flags().VarP(&output, "output", "o", "output format: text or json")
	return cmd
}

// setVersionFlag gives root --version, printing what plinth version
// prints. The flag is declared here, without cobra's -v shorthand.
func setVersionFlag(root *cobra.Command) {
	v := currentVersion()
	var b strings.Builder
	_ = v.WriteText(&b)
	root.Version = v.Version
	// The text holds no template action: versions and dates have no braces.
	root.SetVersionTemplate(b.String())
	root.Flags().Bool("version", false, "print the version, as plinth version")
}
