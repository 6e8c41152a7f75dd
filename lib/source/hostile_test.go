package source

import (
	"archive/tar"
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
)

// TestVendorHostileCharts serves archives a hostile repository could offer
// and checks each is refused with a clear error and nothing is written.
func TestVendorHostileCharts(t *testing.T) {
	chartYAMLEntry := tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")}
	tests := []struct {
		name  string
		chart repoChart
		lim   *limits
		want  []string
	}{
		{
			name: "parent directory entry",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "demo/../../escape.txt", body: []byte("x")})},
			want: []string{`archive entry "demo/../../escape.txt" escapes the chart directory`},
		},
		{
			name: "parent directory as the first element",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "../escape.txt", body: []byte("x")})},
			want: []string{`archive entry "../escape.txt" escapes the chart directory`},
		},
		{
			name: "absolute entry",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "/etc/cron.d/x", body: []byte("x")})},
			want: []string{`archive entry "/etc/cron.d/x" is an absolute path`},
		},
		{
			name: "windows drive entry",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: `C:\Windows\x`, body: []byte("x")})},
			want: []string{`is an absolute path`},
		},
		{
			name: "symlink entry",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "demo/values.yaml", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"})},
			want: []string{`archive entry "demo/values.yaml" is not a regular file or directory`},
		},
		{
			name: "hard link entry",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "demo/values.yaml", typeflag: tar.TypeLink, linkname: "demo/Chart.yaml"})},
			want: []string{`archive entry "demo/values.yaml" is not a regular file or directory`},
		},
		{
			name: "decompression bomb",
			// 101 MiB of zeros compress to about 100 KiB.
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "demo/templates/bomb.yaml", size: 101 << 20})},
			want: []string{"archive decompresses to more than 100 MiB"},
		},
		{
			name: "bomb hidden in many files",
			chart: repoChart{archive: makeArchive(t, append([]tarEntry{chartYAMLEntry},
				repeatEntries("demo/files/f", 30, 4<<20)...)...)},
			want: []string{"archive decompresses to more than 100 MiB"},
		},
		{
			name: "file larger than helm's per-file limit",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry,
				tarEntry{name: "demo/templates/big.yaml", size: 6 << 20})},
			want: []string{"helm cannot load the archive", "larger than the maximum file size"},
		},
		{
			name:  "archive over the compressed cap",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry, tarEntry{name: "demo/x", body: []byte(strings.Repeat("y", 100))})},
			lim:   &limits{chartArchive: 64, index: 1 << 20},
			want:  []string{"downloading the archive", "is larger than 64 bytes"},
		},
		{
			name:  "index over its cap",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry)},
			lim:   &limits{chartArchive: 1 << 20, index: 16},
			want:  []string{"reading the index", "index.yaml is larger than 16 bytes"},
		},
		{
			name:  "not gzip",
			chart: repoChart{archive: []byte("apiVersion: v2\nname: demo\n")},
			want:  []string{"archive is not gzip-compressed"},
		},
		{
			name:  "no Chart.yaml",
			chart: repoChart{archive: makeArchive(t, tarEntry{name: "demo/values.yaml", body: []byte("a: 1\n")})},
			want:  []string{"helm cannot load the archive", "Chart.yaml file is missing"},
		},
		{
			name:  "another chart inside",
			chart: repoChart{archive: makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("evil", "6.6.6")})},
			want:  []string{`archive holds chart "evil" version "6.6.6"`},
		},
		{
			name:  "index digest mismatch",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry), digest: strings.Repeat("0", 64)},
			want:  []string{"says sha256:" + strings.Repeat("0", 64) + ", downloaded", "demo-1.0.0.tgz has sha256:"},
		},
		{
			name:  "index URL with another scheme",
			chart: repoChart{archive: makeArchive(t, chartYAMLEntry), url: "file:///etc/passwd"},
			want:  []string{`chart URL "file:///etc/passwd": scheme "file" is not allowed`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			tt.chart.name, tt.chart.version = "demo", "1.0.0"
			writeHelmRepo(t, repo, tt.chart)
			srv, _ := serveDir(t, repo)
			dir := t.TempDir()
			lim := defaultLimits
			if tt.lim != nil {
				lim = *tt.lim
			}
			_, err := vendor(context.Background(), []Source{{Repo: "https://charts.example.com", Chart: "demo", Version: "1.0.0"}}, nil,
				VendorOptions{Dir: dir, ChartsMirror: srv.URL}, lim)
			wantErr(t, err, append([]string{"chart demo 1.0.0: "}, tt.want...)...)
			if files := filesUnder(t, dir); len(files) != 0 {
				t.Errorf("vendor dir holds %q", files)
			}
		})
	}
}

func repeatEntries(prefix string, n int, size int64) []tarEntry {
	var out []tarEntry
	for i := range n {
		out = append(out, tarEntry{name: prefix + string(rune('a'+i%26)) + string(rune('a'+i/26)), size: size})
	}
	return out
}

// TestValidateChartBombMemory checks the bomb is refused without
// decompressing it into memory.
func TestValidateChartBombMemory(t *testing.T) {
	bomb := makeArchive(t, tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")},
		tarEntry{name: "demo/templates/bomb.yaml", size: 200 << 20})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := validateChart(bomb, Source{Repo: "https://x", Chart: "demo", Version: "1.0.0"})
	runtime.ReadMemStats(&after)
	wantErr(t, err, "archive decompresses to more than 100 MiB")
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 32<<20 {
		t.Errorf("refusing a %d-byte bomb allocated %d MiB", len(bomb), grown>>20)
	}
}

// TestHelmLoaderChecks pins down what Helm's loader.LoadArchive checks by
// itself (helm.sh/helm/v3@v3.22.0/pkg/chart/loader/archive.go), which
// validateChart relies on after its own scan.
func TestHelmLoaderChecks(t *testing.T) {
	chartYAMLEntry := tarEntry{name: "demo/Chart.yaml", body: chartYAML("demo", "1.0.0")}
	tests := []struct {
		name    string
		archive []byte
		want    string // "" means helm accepts it
	}{
		{"traversal below the chart directory", makeArchive(t, chartYAMLEntry, tarEntry{name: "demo/../../x", body: []byte("x")}),
			"chart illegally references parent directory"},
		// Helm drops the first element (the chart directory), so a leading
		// ".." is not caught; harmless in memory, refused by validateChart.
		{"leading parent element", makeArchive(t, chartYAMLEntry, tarEntry{name: "../x", body: []byte("x")}), ""},
		{"absolute", makeArchive(t, chartYAMLEntry, tarEntry{name: "demo//etc/x", body: []byte("x")}), "chart illegally contains absolute paths"},
		{"file over 5 MiB", makeArchive(t, chartYAMLEntry, tarEntry{name: "demo/big", size: 5<<20 + 1}), "larger than the maximum file size 5242880"},
		{"total over 100 MiB", makeArchive(t, append([]tarEntry{chartYAMLEntry}, repeatEntries("demo/f", 21, 5<<20)...)...),
			"decompressed chart is larger than the maximum file size 104857600"},
		// Symlink entries load as empty files; validateChart refuses them.
		{"symlink", makeArchive(t, chartYAMLEntry, tarEntry{name: "demo/values.yaml", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loader.LoadArchive(bytes.NewReader(tt.archive))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("helm refused it: %v", err)
				}
				return
			}
			wantErr(t, err, tt.want)
		})
	}
}
