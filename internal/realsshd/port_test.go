//go:build interop

package realsshd

import (
	"bufio"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartRetriesTakenPort: when another process binds the chosen port
// before sshd does, Start starts sshd again on a fresh port, and the
// Server it returns is that sshd, not the process holding the old port.
func TestStartRetriesTakenPort(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	thief, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	taken := thief.Addr().(*net.TCPAddr).Port
	picks := 0
	pickPort = func() (int, error) {
		picks++
		if picks == 1 {
			return taken, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	dir := t.TempDir()
	s, err := Start(Options{Dir: dir, AuthorizedKeyFile: clientKey(t, dir) + ".pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Port == taken || picks != 2 {
		t.Fatalf("Start returned port %d after %d picks; want a fresh port after the taken %d", s.Port, picks, taken)
	}
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
		t.Fatalf("%s answers %q (%v), want an OpenSSH banner\nsshd log: %s", s.Addr, banner, err, s.Log())
	}
}

// clientKey generates a client key pair in dir and returns the private
// key's path (the public key is path + ".pub").
func clientKey(t *testing.T, dir string) string {
	t.Helper()
	key := filepath.Join(dir, "client")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return key
}
