package kubetest

// kube-controller-manager beside envtest's API server: a child process,
// configured as a real cluster configures it where it matters (its own
// kubeconfig, the service account signing key and the root CA of the API
// server's serving certificate, every default controller), with its log in
// the certificate directory.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	controllerManagerBinary = "kube-controller-manager"
	// How long kube-controller-manager may take to start working, and to
	// stop after SIGTERM before it is killed.
	controllerManagerStartTimeout = 60 * time.Second
	controllerManagerStopTimeout  = 10 * time.Second
	// The files Start writes into the certificate directory for it.
	controllerManagerKubeconfig = "kube-controller-manager.kubeconfig"
	controllerManagerLog        = "kube-controller-manager.log"
	// The CA that signed the API server's serving certificate. envtest
	// keeps it in memory (rest.Config.CAData): the files of the
	// certificate directory are the serving pair (apiserver.crt/.key), the
	// service account signing pair (sa-signer.crt/.key) and the CA of
	// client certificates (client-cert-auth-ca.crt).
	rootCAFile = "ca.crt"
	// envtest's service account signing key (controller-runtime's
	// pkg/internal/testing/controlplane/apiserver.go, saKeyFile): the API
	// server verifies tokens with sa-signer.crt.
	serviceAccountKeyFile = "sa-signer.key"
)

// controllerManager is a running kube-controller-manager.
type controllerManager struct {
	*Child
	logPath      string
	exitExpected bool // stop sent SIGTERM, or the exit is already reported
}

// controllerManagerPath returns kube-controller-manager in the assets
// directory, or the same kind of error as for a missing kube-apiserver.
func controllerManagerPath(assets string) (string, error) {
	path := filepath.Join(assets, controllerManagerBinary)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no %s in %s: run `make testbin` (builds bin/k8s-<version>/ from Go modules) or set KUBEBUILDER_ASSETS to a directory that has it", controllerManagerBinary, assets)
	}
	return path, nil
}

// startControllerManager starts kube-controller-manager against the API
// server of cfg and waits until it works: the root CA publisher has
// written kube-root-ca.crt into namespace default.
func startControllerManager(path, certDir string, kubeconfig []byte, cfg *rest.Config) (*controllerManager, error) {
	kubeconfigPath := filepath.Join(certDir, controllerManagerKubeconfig)
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	if len(cfg.CAData) == 0 {
		return nil, errors.New("envtest's client configuration has no CA of the API server")
	}
	if err := os.WriteFile(filepath.Join(certDir, rootCAFile), cfg.CAData, 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(certDir, controllerManagerLog)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(path,
		"--kubeconfig="+kubeconfigPath,
		"--leader-elect=false",
		"--controllers=*",
		"--service-account-private-key-file="+filepath.Join(certDir, serviceAccountKeyFile),
		"--root-ca-file="+filepath.Join(certDir, rootCAFile),
		// Every controller acts as the kubeconfig's user (envtest's
		// admin, in system:masters), not as a service account of its
		// own: plinth's tests are not about the controllers' RBAC, and
		// a token per controller is more work at every start.
		"--use-service-account-credentials=false",
		// No serving: nothing scrapes it, and a port would be one more
		// thing for parallel test binaries to race for.
		"--secure-port=0",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	child, err := StartChild(cmd)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", controllerManagerBinary, err)
	}
	cm := &controllerManager{Child: child, logPath: logPath}
	if err := cm.waitWorking(cfg); err != nil {
		cm.exitExpected = true // err says so if it has exited
		return nil, errors.Join(err, cm.stop())
	}
	return cm, nil
}

// waitWorking waits until the root CA publisher, one of the default
// controllers, has published the API server's CA into namespace default:
// the controller manager has connected, synced its informers and started
// its controllers.
func (cm *controllerManager) waitWorking(cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), controllerManagerStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var cm0 corev1.ConfigMap
		err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "kube-root-ca.crt"}, &cm0)
		if err == nil && cm0.Data["ca.crt"] == string(cfg.CAData) {
			return nil
		}
		select {
		case <-cm.Done:
			return fmt.Errorf("%s exited while starting: %v\n%s", controllerManagerBinary, cm.Err, cm.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not working after %s (no ConfigMap default/kube-root-ca.crt with the API server's CA; last error: %v)\n%s",
				controllerManagerBinary, controllerManagerStartTimeout, err, cm.logTail())
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM, and kills the process if it has not exited within
// controllerManagerStopTimeout. It reports an exit before stop (the
// process died during the tests) as an error, with the log's tail.
func (cm *controllerManager) stop() error {
	select {
	case <-cm.Done:
		if cm.exitExpected {
			return nil
		}
		return fmt.Errorf("%s exited before the end of the tests: %v\n%s", controllerManagerBinary, cm.Err, cm.logTail())
	default:
	}
	cm.exitExpected = true
	if err := cm.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stopping %s: %w", controllerManagerBinary, err)
	}
	select {
	case <-cm.Done:
		return nil
	case <-time.After(controllerManagerStopTimeout):
	}
	if err := cm.Cmd.Process.Kill(); err != nil {
		return fmt.Errorf("killing %s: %w", controllerManagerBinary, err)
	}
	<-cm.Done
	return nil
}

// logTail returns the end of the log, for an error message.
func (cm *controllerManager) logTail() string {
	data, err := os.ReadFile(cm.logPath)
	if err != nil {
		return fmt.Sprintf("(its log %s: %v)", cm.logPath, err)
	}
	// The path would name a file gone with the certificate directory.
	return fmt.Sprintf("last lines of %s:\n%s", filepath.Base(cm.logPath), Tail(string(bytes.TrimSpace(data)), 30))
}
