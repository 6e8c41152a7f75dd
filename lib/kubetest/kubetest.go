package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/plinth-platform/plinth/lib/cluster"
)

// Cluster is a running API server with its etcd and a controller
// manager.
type Cluster struct {
	env     *envtest.Environment
	config  *rest.Config
	certDir string
	kcm     *controllerManager
	// auditLog is the API server's audit log ("" without Options.Audit).
	auditLog string
}

// Main starts a cluster into *c, runs the package's tests and stops the
// cluster. It exits the process: call it as the whole of TestMain. When
// the binaries are missing it fails, saying how to build them: a test
// that needs an API server never passes without one.
//
// Tests verify every plan: with PLINTH_VERIFY_PLAN set (unless the
// caller set it, even to ""), apply and drift dry-run also the objects
// whose live copies show them unchanged and fail when the two disagree
// (cluster.VerifyPlanVariable).
func Main(m *testing.M, c **Cluster) {
	if _, set := os.LookupEnv(cluster.VerifyPlanVariable); !set {
		os.Setenv(cluster.VerifyPlanVariable, "1")
	}
	cluster, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: %v\n", err)
		os.Exit(1)
	}
	*c = cluster
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start starts an API server and etcd, then a controller manager, and
// returns once the controller manager works.
func Start() (*Cluster, error) { return StartWith(Options{}) }

// Options are what StartWith may change in the cluster Start starts.
type Options struct {
	// Audit has the API server log every write to the audit log in its
	// certificate directory (see Cluster.AuditWrites): what a test reads
	// to check which writes reached the server, independently of the
	// client's own account of them.
	Audit bool
}

// StartWith starts a cluster as Start does, with opts.
func StartWith(opts Options) (*Cluster, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	kcmPath, err := controllerManagerPath(assets)
	if err != nil {
		return nil, err
	}
	// A certificate directory of our own survives an API server restart,
	// so clients keep trusting the restarted server (see Restart).
	certDir, err := os.MkdirTemp("", "kubetest-certs-")
	if err != nil {
		return nil, err
	}
	// controller-runtime prints a stack trace on first use of its logger
	// unless one is set; tests read errors, not its logs.
	log.SetLogger(logr.Discard())
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	apiServer := env.ControlPlane.GetAPIServer()
	apiServer.CertDir = certDir
	// The controller manager holds hundreds of watches. On SIGTERM the
	// API server otherwise waits for them to end for up to its request
	// timeout (60 s) before exiting, longer than envtest waits
	// (StopAPIServer would fail); with this flag it drains the requests
	// in flight, answering new ones with 429 and Retry-After, then gives
	// open connections 2 s.
	apiServer.Configure().Set("shutdown-send-retry-after", "true")
	if opts.Audit {
		if err := configureAudit(apiServer.Configure(), certDir); err != nil {
			os.RemoveAll(certDir)
			return nil, err
		}
	}
	cfg, err := env.Start()
	if err != nil {
		os.RemoveAll(certDir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	// Tests create many objects quickly; client-go's default rate limit
	// (5 QPS) would make them measure the limiter.
	cfg.QPS, cfg.Burst = -1, -1
	kcm, err := startControllerManager(kcmPath, certDir, env.KubeConfig, cfg)
	if err != nil {
		err = fmt.Errorf("starting %s from %s: %w", controllerManagerBinary, assets, err)
		return nil, errors.Join(err, env.Stop(), os.RemoveAll(certDir))
	}
	c := &Cluster{env: env, config: cfg, certDir: certDir, kcm: kcm}
	if opts.Audit {
		c.auditLog = filepath.Join(certDir, auditLogFile)
	}
	return c, nil
}

// Stop stops the controller manager, then the API server and etcd, and
// removes their files. It fails when the controller manager died before,
// showing the end of its log.
func (c *Cluster) Stop() error {
	err := c.kcm.stop()
	return errors.Join(err, c.env.Stop(), os.RemoveAll(c.certDir))
}

// StopAPIServer stops the API server, leaving etcd and its data running;
// StartAPIServer starts it again on the same address, with the same
// certificates, so existing clients reconnect. The controller manager runs
// on and reconnects by itself, as it would on a real cluster.
func (c *Cluster) StopAPIServer() error {
	return c.env.ControlPlane.GetAPIServer().Stop()
}

// StartAPIServer starts the API server stopped by StopAPIServer.
func (c *Cluster) StartAPIServer() error {
	return c.env.ControlPlane.GetAPIServer().Start()
}

// Config returns a client configuration with full rights, without rate
// limits. Callers may modify the copy.
func (c *Cluster) Config() *rest.Config {
	return rest.CopyConfig(c.config)
}

// Client returns a controller-runtime client with full rights.
func (c *Cluster) Client(t testing.TB) client.Client {
	t.Helper()
	cl, err := client.New(c.Config(), client.Options{})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return cl
}

// Kubeconfig writes a kubeconfig file for the cluster (context "envtest")
// into a temporary directory of the test and returns its path.
func (c *Cluster) Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, c.env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// KubeconfigAs writes a kubeconfig file for a user of that name in group
// system:masters (full rights, as Kubeconfig's) into a temporary
// directory of the test and returns its path. Each user has a client
// certificate of its own, so the audit log tells their requests apart
// (two replicas of a controller, say).
func (c *Cluster) KubeconfigAs(t testing.TB, user string) string {
	t.Helper()
	u, err := c.env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("user %s: %v", user, err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig of user %s: %v", user, err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig-"+user)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// WriteKubeconfig writes a kubeconfig file for the cluster (context
// "envtest", full rights) to path, for programs outside tests (demo/).
func (c *Cluster) WriteKubeconfig(path string) error {
	return os.WriteFile(path, c.env.KubeConfig, 0o600)
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace named after the test, with a random
// suffix, and returns its name. A test's namespace is deleted when the
// test ends (the namespace controller empties and finalizes it in the
// background; nothing waits for that). A benchmark's is kept: emptying it
// would load the API server while the next benchmark measures.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 50 {
		name = strings.TrimRight(name[:50], "-")
	}
	name += "-" + randomSuffix()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	cl := c.Client(t)
	if err := cl.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	if _, benchmark := t.(*testing.B); !benchmark {
		t.Cleanup(func() {
			// Conflict: the test deleted it, and it is still being emptied.
			err := cl.Delete(context.Background(), ns)
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				t.Errorf("deleting namespace %s: %v", name, err)
			}
		})
	}
	return name
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Assets returns the directory holding kube-apiserver and etcd:
// $KUBEBUILDER_ASSETS, or the newest bin/k8s-* of the repository that
// contains the working directory.
func Assets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && isRepoRoot(dir) {
			found, _ := filepath.Glob(filepath.Join(dir, "bin", "k8s-*", "kube-apiserver"))
			if len(found) == 0 {
				break
			}
			sort.Strings(found)
			return filepath.Dir(found[len(found)-1]), nil
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	return "", errors.New("no kube-apiserver: run `make testbin` (builds bin/k8s-<version>/ from Go modules) or set KUBEBUILDER_ASSETS")
}

// isRepoRoot tells plinth's module root from the nested testbin modules.
func isRepoRoot(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && strings.HasPrefix(string(data), "module github.com/plinth-platform/plinth\n")
}
