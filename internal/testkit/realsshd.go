package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/realsshd"
)

// RealSSH is a set of OpenSSH daemons.
type RealSSH = Hosts[*realsshd.Server]

// StartRealSSHD makes a client key with ssh-keygen at dir/id_ed25519,
// starts an sshd for each of opts with that key as its authorized key, and
// writes dir/known_hosts. A daemon's Dir (dir/sshd-<i> where its options
// name none) is made if missing, readable by any login user as realsshd
// asks. The daemons stop when the test ends; their logs are shown if it
// failed.
func StartRealSSHD(t testing.TB, dir string, opts ...realsshd.Options) *RealSSH {
	t.Helper()
	s := &RealSSH{Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", s.Key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	var lines []string
	for i, o := range opts {
		if o.Dir == "" {
			o.Dir = filepath.Join(dir, fmt.Sprintf("sshd-%d", i))
		}
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		o.AuthorizedKeyFile = s.Key + ".pub"
		srv, err := realsshd.Start(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("sshd %s log: %s", srv.Addr, srv.Log())
			}
			srv.Close()
		})
		s.Servers = append(s.Servers, srv)
		lines = append(lines, srv.KnownHostsLine())
	}
	if err := os.WriteFile(s.KnownHosts, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}
