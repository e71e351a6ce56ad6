package testkit

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/umzug-dev/umzug/internal/sshserver"
)

func TestFreePortCanBeBound(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d: %v", p, err)
	}
	l.Close()
}

func TestTreeWritesFilesDirsAndSymlinks(t *testing.T) {
	root := t.TempDir()
	Tree{"a/b.txt": "hello", "empty/": "", "a/link": "->b.txt"}.Write(t, root)
	if b, err := os.ReadFile(filepath.Join(root, "a/link")); err != nil || string(b) != "hello" {
		t.Errorf("through the symlink: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty dir: %v", err)
	}
	if target, _ := os.Readlink(filepath.Join(root, "a/link")); target != "b.txt" {
		t.Errorf("symlink target %q", target)
	}
}

// The client logs in to every server with the written key, and the
// known_hosts file is what verifies their host keys: a file pinning
// another server's key is refused.
func TestStartSSHLogsInWithPinnedHostKeys(t *testing.T) {
	dir := t.TempDir()
	s := StartSSH(t, dir, sshserver.Options{}, sshserver.Options{Users: []string{"migrate"}})
	dial := func(srv *sshserver.Server, knownHosts string) error {
		cb, err := knownhosts.New(knownHosts)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: "migrate",
			Auth: []ssh.AuthMethod{ssh.PublicKeys(s.Signer)}, HostKeyCallback: cb, Timeout: 5 * time.Second})
		if err == nil {
			c.Close()
		}
		return err
	}
	for i, srv := range s.Servers {
		if err := dial(srv, s.KnownHosts); err != nil {
			t.Errorf("server %d: %v", i, err)
		}
	}
	other := filepath.Join(dir, "other_known_hosts")
	if err := sshserver.WriteKnownHosts(other, knownhosts.Line([]string{knownhosts.Normalize(s.Servers[1].Addr())}, s.Servers[0].HostKey())); err != nil {
		t.Fatal(err)
	}
	if err := dial(s.Servers[1], other); err == nil {
		t.Error("a known_hosts pinning another key was accepted")
	}
}
