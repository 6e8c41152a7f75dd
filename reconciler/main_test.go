package reconciler_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/plinth-platform/plinth/lib/kubetest"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/reconciler"
	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

var cluster *kubetest.Cluster

// TestMain makes the test binary the pipeline's sandbox child too: the
// controller under test renders as plinth controller does, in a child
// process of its own binary.
func TestMain(m *testing.M) {
	pipeline.Serve()
	kubetest.Main(m, &cluster)
}

const (
	gitUser     = "plinth"
	gitPassword = "pa55-VERY-secret-7f3a" // must never appear in status, events or logs
)

// scheme knows the built-in types and Environments.
func scheme(t testing.TB) *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

var crdOnce sync.Once

// installCRD installs the generated Environment CRD once.
func installCRD(t testing.TB) {
	t.Helper()
	crdOnce.Do(func() {
		paths, _ := filepath.Glob("../overlays/plinth-controller/crd/*.yaml")
		if len(paths) == 0 {
			t.Fatal("the generated Environment CRD is missing (make generate)")
		}
		data, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatal(err)
		}
		c, err := client.New(cluster.Config(), client.Options{Scheme: scheme(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Create(context.Background(), crd); err != nil {
			t.Fatal(err)
		}
		// Established before use.
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if err := c.List(context.Background(), &v1.EnvironmentList{}); err == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatal("Environment CRD not established")
	})
}

// repo is an environments repository on a real git server, pushed with
// go-git; the server sits behind a proxy the test can take down.
type repo struct {
	t      *testing.T
	server *gittestserver.GitServer
	proxy  *proxy
	local  *git.Repository
	dir    string
	url    string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	srv, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	srv.AutoCreate().Auth(gitUser, gitPassword)
	if err := srv.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.StopHTTP(); os.RemoveAll(srv.Root()) })
	p := newProxy(t, srv.HTTPAddress())
	dir := t.TempDir()
	local, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	r := &repo{t: t, server: srv, proxy: p, local: local, dir: dir, url: p.url() + "/envs.git"}
	if _, err := local.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{srv.HTTPAddress() + "/envs.git"}}); err != nil {
		t.Fatal(err)
	}
	r.write("cue.mod/module.cue", "module: \"test.example/envs\"\nlanguage: version: \"v0.17.0\"\n")
	return r
}

func (r *repo) write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// push commits everything and pushes main; it returns the commit.
func (r *repo) push(msg string) string {
	r.t.Helper()
	wt, err := r.local.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.invalid", When: time.Now()}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	err = r.local.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []gitconfig.RefSpec{"refs/heads/master:refs/heads/main"},
		Auth: &githttp.BasicAuth{Username: gitUser, Password: gitPassword}, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		r.t.Fatal(err)
	}
	return h.String()
}

// env writes environments/<name>/env.cue: a small environment whose
// objects are ConfigMaps in namespace ns, each keyed by its name.
func (r *repo) env(name, ns string, data map[string]string) {
	var objs bytes.Buffer
	for k, v := range data {
		fmt.Fprintf(&objs, "\t%q: {apiVersion: \"v1\", kind: \"ConfigMap\", metadata: {name: %q, namespace: %q}, data: value: %q}\n", k, k, ns, v)
	}
	r.write("environments/"+name+"/env.cue", fmt.Sprintf(`package plinth

cluster: {version: "1.34.4", runtime: "containerd", nodes: {controlPlane: 1, workers: 1}}
network: mirrors: images: "nexus.test.local:8443"
objects: {
	%q: {apiVersion: "v1", kind: "Namespace", metadata: name: %q}
%s}
`, ns, ns, objs.String()))
}

// proxy forwards to the git server and can refuse connections, as an
// unreachable git server would, then come back on the same address.
type proxy struct {
	t        *testing.T
	addr     string
	target   *url.URL
	mu       sync.Mutex
	listener net.Listener
	server   *http.Server
	posts    atomic.Int64 // git-upload-pack requests: fetches
	// status, when set, is answered to every request instead of the
	// server's reply (500: a broken server); hang holds every request
	// until the client gives up (a server that never answers).
	status atomic.Int32
	hang   atomic.Bool
}

func newProxy(t *testing.T, target string) *proxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: u}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) url() string { return "http://" + p.addr }

func (p *proxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.addr, p.listener = l.Addr().String(), l
	rp := httputil.NewSingleHostReverseProxy(p.target)
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			p.posts.Add(1)
		}
		if p.hang.Load() {
			<-r.Context().Done()
			return
		}
		if code := p.status.Load(); code != 0 {
			http.Error(w, "injected failure", int(code))
			return
		}
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.server.Serve(l) }()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.server != nil {
		_ = p.server.Close()
		p.server = nil
	}
}

// controller is one running controller (a manager with the reconciler).
type controller struct {
	name       string
	reconciler *reconciler.Reconciler
	renders    atomic.Int64
	logs       *syncBuffer
	stop       context.CancelFunc
	done       chan struct{}

	mu     sync.Mutex
	perEnv map[string]int // renders per environment
}

// rendered is how many times the controller rendered env.
func (c *controller) rendered(env string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perEnv[env]
}

// startController starts a manager running the reconciler, after
// configure; leader election in namespace leaderNS when set.
func startController(t *testing.T, leaderNS string, configure ...func(*reconciler.Reconciler)) *controller {
	t.Helper()
	return startManaged(t, "controller", ctrl.Options{
		LeaderElection:          leaderNS != "",
		LeaderElectionID:        "plinth-controller-test",
		LeaderElectionNamespace: leaderNS,
	}, configure...)
}

// startShardController starts a replica of shard's controller, set up as
// plinth controller --shard sets it up (reconciler.ShardCache and
// reconciler.LeaderElectionID), electing its leader in leaderNS.
func startShardController(t *testing.T, name, shard, leaderNS string) *controller {
	t.Helper()
	cache, err := reconciler.ShardCache(shard)
	if err != nil {
		t.Fatal(err)
	}
	return startManaged(t, name, ctrl.Options{
		Cache:                   cache,
		LeaderElection:          true,
		LeaderElectionID:        reconciler.LeaderElectionID(shard),
		LeaderElectionNamespace: leaderNS,
	}, func(r *reconciler.Reconciler) { r.Shard = shard })
}

// startManaged starts a manager with opts (the test's scheme, logger,
// lease timings and no metrics server added) running the reconciler,
// after configure, counting its renders.
func startManaged(t *testing.T, name string, opts ctrl.Options, configure ...func(*reconciler.Reconciler)) *controller {
	t.Helper()
	installCRD(t)
	c := &controller{name: name, logs: &syncBuffer{}, done: make(chan struct{}), perEnv: map[string]int{}}
	opts.Scheme = scheme(t)
	opts.Metrics = metricsserver.Options{BindAddress: "0"}
	opts.Logger = zap.New(zap.WriteTo(c.logs), zap.UseDevMode(true))
	// Long enough that a loaded CI machine does not lose the lease.
	opts.LeaseDuration = durationPtr(15 * time.Second)
	opts.RenewDeadline = durationPtr(10 * time.Second)
	opts.RetryPeriod = durationPtr(time.Second)
	// Several controllers run in this one test process.
	opts.Controller = config.Controller{SkipNameValidation: &skipNameValidation}
	mgr, err := ctrl.NewManager(cluster.Config(), opts)
	if err != nil {
		t.Fatal(err)
	}
	c.reconciler = &reconciler.Reconciler{
		Client:  mgr.GetClient(),
		Config:  cluster.Config(),
		WorkDir: t.TempDir(),
		Events:  mgr.GetEventRecorder("plinth-controller"),
		Reports: &reconciler.Reports{},
		Render: func(ctx context.Context, req pipeline.Request) (*pipeline.Set, error) {
			c.renders.Add(1)
			c.mu.Lock()
			c.perEnv[req.Env.Name]++
			c.mu.Unlock()
			return pipeline.Objects(ctx, req, pipeline.DefaultLimits())
		},
	}
	for _, f := range configure {
		f(c.reconciler)
	}
	if err := c.reconciler.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go func() {
		defer close(c.done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager %s: %v", name, err)
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

var skipNameValidation = true

func durationPtr(d time.Duration) *time.Duration { return &d }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
