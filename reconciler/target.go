package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	v1 "github.com/plinth-platform/plinth/reconciler/api/v1alpha1"
)

// defaultKubeConfigKey is the key of a kubeconfig Secret when
// spec.kubeConfig.secretRef names none, as Flux's.
const defaultKubeConfigKey = "value"

// Bounds on talking to a remote cluster: a target that drops packets
// fails its pass within seconds, retried with backoff, instead of holding
// one of the controller's workers (and the Environments queued behind it)
// for the whole reconcile timeout.
const (
	remoteDialTimeout    = 10 * time.Second
	remoteRequestTimeout = 2 * time.Minute
)

// target resolves the cluster the pass applies to, once per pass: the
// controller's own, or the one of spec.kubeConfig. A kubeconfig that
// changed (a rotated token) gets a new Applier and Checker.
func (p *pass) target(ctx context.Context) (*rest.Config, error) {
	if p.cfg != nil {
		return p.cfg, nil
	}
	cfg, key := p.r.Config, ""
	if ref := p.env.Spec.KubeConfig; ref != nil {
		data, err := p.r.kubeConfig(ctx, p.env.Namespace, ref.SecretRef)
		if err != nil {
			return nil, retryable("KubeConfigInvalid", err)
		}
		if cfg, err = remoteConfig(data); err != nil {
			return nil, retryable("KubeConfigInvalid", fmt.Errorf("secret %s/%s: %w", p.env.Namespace, ref.SecretRef.Name, err))
		}
		sum := sha256.Sum256(data)
		key = hex.EncodeToString(sum[:])
	}
	if p.st.target != key {
		p.st.target, p.st.applier, p.st.checker = key, nil, nil
	}
	p.cfg = cfg
	return cfg, nil
}

// kubeConfig reads the kubeconfig of a Secret in namespace ns. Its errors
// name the Secret and key, never the content.
func (r *Reconciler) kubeConfig(ctx context.Context, ns string, ref v1.SecretKeyReference) ([]byte, error) {
	secret, err := r.secret(ctx, "kubeconfig secret", ns, ref.Name)
	if err != nil {
		return nil, err
	}
	k := ref.Key
	if k == "" {
		k = defaultKubeConfigKey
	}
	data, ok := secret.Data[k]
	if !ok || len(data) == 0 {
		return nil, fmt.Errorf("kubeconfig secret %s/%s has no key %s", ns, ref.Name, k)
	}
	return data, nil
}

// remoteConfig makes the client configuration of a kubeconfig from a
// Secret. It refuses what would run a program or read a file of the
// controller's pod (exec plugins, auth providers, token and certificate
// files): a kubeconfig pointing at the pod's own service account token
// would lend the Environment's author the controller's rights.
func remoteConfig(data []byte) (*rest.Config, error) {
	kc, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("not a kubeconfig: %w", err)
	}
	if err := selfContained(kc); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Dial = (&net.Dialer{Timeout: remoteDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	cfg.Timeout = remoteRequestTimeout
	// As the CLI: no client-side limit, the server's priority and
	// fairness decides (cmd/plinth/cli kubeFlags.config).
	cfg.QPS, cfg.Burst = -1, -1
	return cfg, nil
}

// selfContained refuses a kubeconfig that names programs or files.
func selfContained(kc *clientcmdapi.Config) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(kc.AuthInfos)) {
		a := kc.AuthInfos[name]
		if a.Exec != nil {
			errs = append(errs, fmt.Errorf("user %s runs a program (exec %s); use a token or a client certificate inline", name, a.Exec.Command))
		}
		if a.AuthProvider != nil {
			errs = append(errs, fmt.Errorf("user %s uses auth provider %s; use a token or a client certificate inline", name, a.AuthProvider.Name))
		}
		for _, f := range []struct{ field, path string }{{"tokenFile", a.TokenFile}, {"client-certificate", a.ClientCertificate}, {"client-key", a.ClientKey}} {
			if f.path != "" {
				errs = append(errs, fmt.Errorf("user %s reads %s from a file; put it inline (token, client-certificate-data, client-key-data)", name, f.field))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(kc.Clusters)) {
		if kc.Clusters[name].CertificateAuthority != "" {
			errs = append(errs, fmt.Errorf("cluster %s reads certificate-authority from a file; put it inline (certificate-authority-data)", name))
		}
	}
	return errors.Join(errs...)
}

// unreachable reports whether err is the cluster not answering (refused,
// reset or timed-out connections, TLS that fails) rather than an answer
// of the API server: every such error of client-go's transport is a
// *url.Error, a net.Error.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr)
}
