package cli

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/plinth-platform/plinth/lib/netrc"
	"github.com/plinth-platform/plinth/lib/pipeline"
	"github.com/plinth-platform/plinth/lib/platform"
	"github.com/plinth-platform/plinth/lib/sandbox"
	"github.com/plinth-platform/plinth/lib/source"
)

type vendorFlags struct {
	sources      sourceFlags
	chartsMirror string
	gitMirror    string
	caFile       string
	sshKey       string
	knownHosts   string
	update       bool
}

func newVendorCommand(g *globalFlags, s Streams) *cobra.Command {
	f := &vendorFlags{}
	cmd := &cobra.Command{
		Use:   "vendor [ENV...]",
		Short: "Fetch the charts and git sources environments need into vendor/ and pin them in plinth.lock",
		Long: `vendor fetches every Helm chart (HTTP repository or OCI) and git source
(a tag, branch or commit) that the environments render from into the
vendor directory, and records each with its resolved commit and sha256
digest in plinth.lock. It is the only plinth command that uses the network.

Each environment's network.mirrors and network.proxy are honoured; when
network.allowedEgress is set, no other host is contacted. --charts-mirror
and --git-mirror override the mirrors: an upstream URL maps to
<mirror>/<host>/<path>, and a directory works as a mirror too (a Helm
repository with index.yaml, or a tree of git repositories).

A source already vendored with the digest the lock records is not fetched
again. A fetched source whose digest differs from the lock is an error
unless --update.

Credentials and certificates come from the files users already keep:
--ca-file adds a PEM bundle (a private CA) to the system's roots, which
SSL_CERT_FILE and SSL_CERT_DIR also set; $NETRC (default ~/.netrc) gives
basic auth by host to HTTP chart repositories and git over HTTPS; Docker's
config.json ($DOCKER_CONFIG, default ~/.docker) gives OCI registries theirs;
git over ssh:// uses --ssh-key, else the ssh-agent at SSH_AUTH_SOCK, else
~/.ssh/id_ed25519, id_ecdsa or id_rsa (without a passphrase), and
--known-hosts (default ~/.ssh/known_hosts), refusing a host key not
listed there. No credential
is written to plinth.lock or printed.

Exit status: 0 vendored, 1 an environment is not valid (run plinth vet),
2 vendor could not run (a source it cannot fetch or pin, an unreadable
lock, a bad flag).`,
		Example: `  # Vendor every environment's sources through their configured mirrors
  plinth vendor

  # Vendor prod from a local chart repository and a directory of git mirrors
  plinth vendor prod --charts-mirror ./mirror/charts --git-mirror ./mirror/git

  # Vendor through a Nexus with the bank's CA, its password in ~/.netrc
  plinth vendor prod --ca-file /etc/pki/bank-root-ca.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			envs, err := g.environments(args)
			if err != nil {
				fmt.Fprintf(s.Err, "plinth vendor: %v\n", err)
				return exitCodeError{exitError}
			}
			root, _ := g.repoRoot()
			vendorDir, lockFile := f.sources.resolve(root)
			layout := platform.Layout{Root: root, VendorDir: vendorDir, LockFile: lockFile}
			if err := errors.Join(layout.CheckOutput(vendorDir, vendorDir), layout.CheckOutput(lockFile, lockFile)); err != nil {
				fmt.Fprintf(s.Err, "plinth vendor: %v\n", err)
				return exitCodeError{exitError}
			}
			lock, err := source.ReadLock(lockFile)
			if errors.Is(err, os.ErrNotExist) {
				lock, err = &source.Lock{Version: 1}, nil
			}
			if err != nil {
				fmt.Fprintf(s.Err, "plinth vendor: %v\n", err)
				return exitCodeError{exitError}
			}
			// An environment that is not valid (or over its budget, as vet's
			// BUDGET finding) is a finding: exit 1. Failing to evaluate,
			// fetch or pin is vendor not doing its work: exit 2.
			fail := func(code int, env string, err error) error {
				if !interrupted(cmd.Context(), err) {
					fmt.Fprintf(s.Err, "plinth vendor: environment %s: %v\n", env, err)
					if _, untrusted := errors.AsType[*tls.CertificateVerificationError](err); untrusted {
						fmt.Fprintln(s.Err, "plinth vendor: a server's certificate is not trusted: give its CA with --ca-file FILE (PEM), or SSL_CERT_FILE")
					}
				}
				return exitCodeError{code}
			}
			p, s := g.progress(s)
			defer p.Close()
			for _, env := range envs {
				done := p.Start("evaluating " + env.Name)
				plan, err := pipeline.Sources(cmd.Context(), env, sandbox.DefaultLimits())
				done()
				var budget *sandbox.BudgetError
				switch {
				case errors.As(err, &budget):
					return fail(exitFindings, env.Name, err)
				case err != nil:
					return fail(exitError, env.Name, err)
				case plan.Invalid:
					return fail(exitFindings, env.Name, fmt.Errorf("not valid: run plinth vet %s", env.Name))
				}
				opts, err := vendorOptions(plan.Network, vendorDir, f)
				if err != nil {
					return fail(exitError, env.Name, err)
				}
				done = p.Start(fmt.Sprintf("vendoring %s: %d source(s)", env.Name, len(plan.Sources)))
				lock, err = source.Vendor(cmd.Context(), plan.Sources, lock, opts)
				done()
				if err != nil {
					return fail(exitError, env.Name, err)
				}
				fmt.Fprintf(s.Err, "vendored %s: %d source(s)\n", env.Name, len(plan.Sources))
			}
			if err := lock.Write(lockFile); err != nil {
				fmt.Fprintf(s.Err, "plinth vendor: %v\n", err)
				return exitCodeError{exitError}
			}
			return nil
		},
	}
	f.sources.add(cmd)
	cmd.Flags().StringVar(&f.chartsMirror, "charts-mirror", "", "Helm chart mirror (URL or directory), overriding network.mirrors.charts")
	cmd.Flags().StringVar(&f.gitMirror, "git-mirror", "", "git mirror (URL or directory), overriding network.mirrors.git")
	cmd.Flags().StringVar(&f.caFile, "ca-file", "", "PEM `file` of CA certificates to trust on top of the system's roots")
	cmd.Flags().StringVar(&f.sshKey, "ssh-key", "", "SSH private key `file` for git over ssh:// (default: the ssh-agent at SSH_AUTH_SOCK, else ~/.ssh/id_ed25519, id_ecdsa or id_rsa)")
	cmd.Flags().StringVar(&f.knownHosts, "known-hosts", "", "known_hosts `file` for git over ssh:// (default ~/.ssh/known_hosts)")
	cmd.Flags().BoolVar(&f.update, "update", false, "re-resolve sources and rewrite their lock entries")
	return cmd
}

// vendorOptions are how vendor reaches an environment's sources: its
// network's mirrors (unless the flags override them), proxy and egress.
func vendorOptions(net platform.Network, vendorDir string, f *vendorFlags) (source.VendorOptions, error) {
	opts := source.VendorOptions{
		Dir:          vendorDir,
		ChartsMirror: cmp.Or(f.chartsMirror, net.Mirrors.Charts),
		GitMirror:    cmp.Or(f.gitMirror, net.Mirrors.Git),
		AllowedHosts: net.AllowedEgress,
		Update:       f.update,
		CAFile:       f.caFile,
		Netrc:        netrc.DefaultPath(),
		DockerConfig: dockerConfig(),
	}
	opts.SSHKey, opts.SSHKnownHosts = sshFiles(f.sshKey, f.knownHosts)
	if f.sshKey == "" && os.Getenv("SSH_AUTH_SOCK") != "" {
		// As ssh: the agent's keys first (a key with a passphrase is
		// loaded there); the default key files only without an agent.
		opts.SSHKey, opts.SSHAgent = "", os.Getenv("SSH_AUTH_SOCK")
	}
	if px := net.Proxy; px != nil {
		opts.NoProxy = px.NoProxy
		if px.URL() != "" {
			u, err := url.Parse(px.URL())
			if err != nil {
				return opts, fmt.Errorf("network.proxy: %w", err)
			}
			opts.Proxy = u
		}
	}
	return opts, nil
}

// dockerConfig is Docker's config.json: in $DOCKER_CONFIG, else ~/.docker
// (the docker CLI's rule); "" without a home directory.
func dockerConfig() string {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json")
}

// sshFiles are the key and known_hosts for git over ssh: the flags, else
// ssh's defaults in ~/.ssh (the first key that exists, as ssh tries them).
func sshFiles(key, known string) (string, string) {
	home, err := os.UserHomeDir()
	if err != nil {
		return key, known
	}
	dir := filepath.Join(home, ".ssh")
	if key == "" {
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				key = filepath.Join(dir, name)
				break
			}
		}
	}
	if known == "" {
		known = filepath.Join(dir, "known_hosts")
	}
	return key, known
}
