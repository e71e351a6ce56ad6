package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/sshserver"
)

const testSSHConfig = `
Host db1
  HostName db1.lemgo.example
  Port 2222
  User cfguser
  IdentityFile ~/.ssh/id_%n
  UserKnownHostsFile ~/.ssh/known_hosts_lemgo ~/.ssh/other
  ProxyJump ops@bastion

Host bastion
  HostName bastion.lemgo.example
  Port 2200

Host loop
  ProxyJump loop

Host *
  Port 22
`

func loadTestConfig(t *testing.T, text string) *SSHConfig {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadSSHConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSSHConfigFillsWhatThePlanLeavesOpen: the Host block supplies the
// real name, port, key, known_hosts and jump host; what the plan sets wins.
func TestSSHConfigFillsWhatThePlanLeavesOpen(t *testing.T) {
	c := loadTestConfig(t, testSSHConfig)
	got := c.Apply(Host{Name: "db", Address: "db1", User: "migrate", Queue: "lemgo"})
	if got.Address != "db1.lemgo.example:2222" || got.User != "migrate" || got.IdentityFile != "~/.ssh/id_db1" || got.KnownHosts != "~/.ssh/known_hosts_lemgo" {
		t.Fatalf("effective host: %+v", got)
	}
	if got.Jump == nil || got.Jump.Address != "bastion.lemgo.example:2200" || got.Jump.User != "ops" || got.Jump.Queue != "lemgo" || got.Jump.IdentityFile != "~/.ssh/id_db1" {
		t.Fatalf("jump host: %+v", got.Jump)
	}
	plan := Host{Name: "db", Address: "db1:2022", User: "migrate", IdentityFile: "/etc/umzug/key", KnownHosts: "/etc/umzug/kh", Jump: &Host{Name: "j", Address: "j:22"}}
	got = c.Apply(plan)
	if got.Address != "db1.lemgo.example:2022" || got.IdentityFile != "/etc/umzug/key" || got.KnownHosts != "/etc/umzug/kh" || got.Jump.Name != "j" {
		t.Fatalf("plan values must win: %+v", got)
	}
	if got := c.Apply(Host{Address: "other", User: "u"}); got.Address != "other:22" || got.Jump != nil {
		t.Fatalf("Host * only: %+v", got)
	}
	depth := 0
	for j := c.Apply(Host{Address: "loop", User: "u"}).Jump; j != nil; j = j.Jump {
		depth++
	}
	if depth > maxJumpDepth {
		t.Fatalf("self-referencing ProxyJump built %d hops", depth)
	}
}

// TestDialHonoursUserSSHConfig dials a plan host named by an alias only
// ~/.ssh/config resolves (address, port and key).
func TestDialHonoursUserSSHConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	key, err := sshserver.WriteKeyPair(filepath.Join(home, ".ssh/id_site"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	kh := filepath.Join(home, ".ssh/known_hosts")
	if err := sshserver.WriteKnownHosts(kh, srv.KnownHostsLine()); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(srv.Addr(), ":")
	h := Host{Name: "db", Address: "db-alias", User: "migrate", KnownHosts: "~/.ssh/known_hosts"}
	if _, err := (DefaultDialer{}).Dial(context.Background(), h); err == nil {
		t.Fatal("dialled an alias without a config that resolves it")
	}
	cfg := "Host db-alias\n  HostName " + host + "\n  Port " + port + "\n  IdentityFile ~/.ssh/id_site\n"
	if err := os.WriteFile(filepath.Join(home, ".ssh/config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := (DefaultDialer{}).Dial(context.Background(), h)
	if err != nil {
		t.Fatalf("dial through ~/.ssh/config: %v", err)
	}
	c.Close()
}
