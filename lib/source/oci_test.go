package source

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/registry"
)

// ociRegistry is a read-only OCI distribution endpoint over TLS serving
// Helm charts as `helm push` stores them: a manifest per tag with a config
// blob and one chart layer. It is a stand-in for helm's repotest OCI server,
// which needs github.com/distribution/distribution/v3, a module this
// project does not require.
type ociRegistry struct {
	srv   *httptest.Server
	rec   *recorder
	blobs map[string][]byte // by digest
	tags  map[string]string // "<repo>:<tag>" → manifest digest
}

func newOCIRegistry(t *testing.T) *ociRegistry {
	t.Helper()
	r := &ociRegistry{rec: &recorder{}, blobs: map[string][]byte{}, tags: map[string]string{}}
	r.srv = httptest.NewTLSServer(r.rec.wrap(http.HandlerFunc(r.serve)))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *ociRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "https://") }

// push stores a chart archive under repo:tag.
func (r *ociRegistry) push(t *testing.T, repo, tag string, archive []byte, name, version string) {
	t.Helper()
	config, _ := json.Marshal(map[string]string{"apiVersion": "v2", "name": name, "version": version})
	configDigest, chartDigest := digestBytes(config), digestBytes(archive)
	r.blobs[configDigest], r.blobs[chartDigest] = config, archive
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": registry.ConfigMediaType, "digest": configDigest, "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": registry.ChartLayerMediaType, "digest": chartDigest, "size": len(archive)}},
	})
	manifestDigest := digestBytes(manifest)
	r.blobs[manifestDigest] = manifest
	r.tags[repo+":"+tag] = manifestDigest
}

func (r *ociRegistry) serve(w http.ResponseWriter, req *http.Request) {
	p := strings.TrimPrefix(req.URL.Path, "/v2/")
	if p == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	var repo, kind, ref string
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			repo, kind, ref = p[:i], strings.Trim(k, "/"), p[i+len(k):]
			break
		}
	}
	digest := ref
	if kind == "manifests" && !strings.HasPrefix(ref, "sha256:") {
		digest = r.tags[repo+":"+ref]
	}
	data, ok := r.blobs[digest]
	if kind == "" || !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not found"}]}`))
		return
	}
	if kind == "manifests" {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if req.Method == http.MethodHead {
		return
	}
	w.Write(data)
}

func TestVendorOCI(t *testing.T) {
	archive, err := os.ReadFile(filepath.Join(fixtureCharts(t), "nfs-subdir-external-provisioner-4.0.18.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	const name, version = "nfs-subdir-external-provisioner", "4.0.18"
	reg := newOCIRegistry(t)
	reg.push(t, "charts/"+name, version, archive, name, version)
	reg.push(t, "mirror/ghcr.io/kubernetes-sigs/charts/"+name, version, archive, name, version)
	ctx := context.Background()

	t.Run("upstream registry", func(t *testing.T) {
		src := Source{Repo: "oci://" + reg.host() + "/charts", Chart: name, Version: version}
		dir := t.TempDir()
		lock, err := Vendor(ctx, []Source{src}, nil, VendorOptions{Dir: dir, HTTPClient: reg.srv.Client(), AllowedHosts: []string{reg.host()}})
		if err != nil {
			t.Fatal(err)
		}
		e := lock.Sources[0]
		if e.Digest != digestBytes(archive) || e.Path != "charts/"+name+"-"+version+".tgz" || e.Repo != src.Repo {
			t.Errorf("lock entry %+v", e)
		}
		if _, err := Resolve(dir, lock, src); err != nil {
			t.Error(err)
		}
	})

	t.Run("oci mirror", func(t *testing.T) {
		src := Source{Repo: "oci://ghcr.io/kubernetes-sigs/charts", Chart: name, Version: version}
		dir := t.TempDir()
		lock, err := Vendor(ctx, []Source{src}, nil, VendorOptions{
			Dir: dir, ChartsMirror: "oci://" + reg.host() + "/mirror", HTTPClient: reg.srv.Client(), AllowedHosts: []string{reg.host()},
		})
		if err != nil {
			t.Fatal(err)
		}
		if e := lock.Sources[0]; e.Digest != digestBytes(archive) || e.Key != src.Key() {
			t.Errorf("lock entry %+v", e)
		}
	})

	t.Run("missing tag", func(t *testing.T) {
		src := Source{Repo: "oci://" + reg.host() + "/charts", Chart: name, Version: "9.9.9"}
		dir := t.TempDir()
		_, err := Vendor(ctx, []Source{src}, nil, VendorOptions{Dir: dir, HTTPClient: reg.srv.Client()})
		wantErr(t, err, "chart "+name+" 9.9.9: pulling oci://"+reg.host()+"/charts/"+name+":9.9.9:")
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("vendor dir holds %q", files)
		}
	})

	t.Run("host not allowed", func(t *testing.T) {
		before := reg.rec.n.Load()
		src := Source{Repo: "oci://" + reg.host() + "/charts", Chart: name, Version: version}
		_, err := Vendor(ctx, []Source{src}, nil, VendorOptions{Dir: t.TempDir(), HTTPClient: reg.srv.Client(), AllowedHosts: []string{"ghcr.io"}})
		wantErr(t, err, "host 127.0.0.1 is not in the allowed hosts (ghcr.io)")
		if n := reg.rec.n.Load() - before; n != 0 {
			t.Errorf("%d requests", n)
		}
	})

	t.Run("layer over the cap", func(t *testing.T) {
		src := Source{Repo: "oci://" + reg.host() + "/charts", Chart: name, Version: version}
		lim := defaultLimits
		lim.chartArchive = 1024
		_, err := vendor(ctx, []Source{src}, nil, VendorOptions{Dir: t.TempDir(), HTTPClient: reg.srv.Client()}, lim)
		wantErr(t, err, "chart "+name+" "+version+": pulling", "response is larger than the limit")
	})
}
