package source

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/gittestserver"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// TestVendorGitSSH vendors a git source over ssh:// with a key and a
// known_hosts file, as a user's ~/.ssh holds them: the listed host key
// works; a host key not listed, no key, or a key with a passphrase fail
// naming why, and no error holds the key.
func TestVendorGitSSH(t *testing.T) {
	// gitkit (under gittestserver) logs every request.
	log.SetOutput(io.Discard)
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	gs, err := gittestserver.NewTempGitServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(gs.Root()) })
	gs.AutoCreate()
	if err := gs.StartHTTP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gs.StopHTTP)
	keyDir := t.TempDir()
	gs.KeyDir(keyDir)
	if err := gs.ListenSSH(); err != nil {
		t.Fatal(err)
	}
	go gs.StartSSH()
	t.Cleanup(func() { gs.StopSSH() })

	work := t.TempDir()
	tagged, _ := makeWorktreeRepo(t, work)
	repo, err := git.PlainOpen(work)
	if err != nil {
		t.Fatal(err)
	}
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "server", URLs: []string{gs.HTTPAddress() + "/platform/manifests.git"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rem.Push(&git.PushOptions{RemoteName: "server", RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pub, err := os.ReadFile(filepath.Join(keyDir, "gitkit.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := strings.TrimPrefix(gs.SSHAddress(), "ssh://git@")
	writeFile := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	known := writeFile("known_hosts", []byte("# ~/.ssh/known_hosts\n"+knownhosts.Line([]string{knownhosts.Normalize(hostPort)}, hostKey)+"\n"))
	_, otherHost, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _ := ssh.NewPublicKey(otherHost.Public())
	unknown := writeFile("known_hosts_other", []byte(knownhosts.Line([]string{knownhosts.Normalize(hostPort)}, otherPub)+"\n"))
	_, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(clientKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(block)
	key := writeFile("id_ed25519", keyPEM)
	block, err = ssh.MarshalPrivateKeyWithPassphrase(clientKey, "", []byte("a passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	locked := writeFile("id_locked", pem.EncodeToMemory(block))

	src := Source{URL: gs.SSHAddress() + "/platform/manifests.git", Ref: "26.03"}
	ctx := context.Background()
	lock, err := Vendor(ctx, []Source{src}, nil, VendorOptions{Dir: t.TempDir(), SSHKey: key, SSHKnownHosts: known, AllowedHosts: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := lock.Sources[0]; e.Commit != tagged.String() || e.URL != src.URL || !strings.HasPrefix(e.Path, "git/"+hostPort+"/platform/manifests@") {
		t.Errorf("lock entry %+v", e)
	}

	// The key with a passphrase, in an ssh-agent (as ssh-add leaves it).
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: clientKey}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	if _, err := Vendor(ctx, []Source{src}, nil, VendorOptions{Dir: t.TempDir(), SSHAgent: sock, SSHKnownHosts: known}); err != nil {
		t.Errorf("through the agent: %v", err)
	}

	for _, tt := range []struct {
		name string
		opts VendorOptions
		want string
	}{
		{"host key not listed", VendorOptions{SSHKey: key, SSHKnownHosts: unknown}, "is not known: known_hosts lists other keys for this host"},
		{"no key", VendorOptions{SSHKnownHosts: known}, "git over ssh needs an SSH private key or an ssh-agent, and neither was given"},
		{"no known_hosts", VendorOptions{SSHKey: key}, "git over ssh needs a known_hosts file, and none was given"},
		{"a passphrase", VendorOptions{SSHKey: locked, SSHKnownHosts: known}, "ssh key " + locked + " is protected by a passphrase, which plinth does not ask for: add it to an ssh-agent"},
		{"agent not running", VendorOptions{SSHAgent: filepath.Join(dir, "none.sock"), SSHKnownHosts: known}, "ssh-agent: dial unix "},
		{"host not allowed", VendorOptions{SSHKey: key, SSHKnownHosts: known, AllowedHosts: []string{"git.bank.example"}}, "host 127.0.0.1 is not in the allowed hosts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Dir = t.TempDir()
			_, err := Vendor(ctx, []Source{src}, nil, tt.opts)
			wantErr(t, err, tt.want)
			for line := range strings.Lines(string(keyPEM)) {
				if line = strings.TrimSpace(line); len(line) > 8 && !strings.HasPrefix(line, "-----") && strings.Contains(err.Error(), line) {
					t.Errorf("the error holds the key: %v", err)
				}
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Error(err)
			}
		})
	}
}
