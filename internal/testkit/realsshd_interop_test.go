//go:build interop

package testkit

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/realsshd"
)

// OpenSSH's own client logs in to every daemon with the written key,
// checking host keys strictly against the written known_hosts.
func TestStartRealSSHDLogsInWithPinnedHostKeys(t *testing.T) {
	if err := realsshd.Available(); err != nil {
		t.Fatal(err) // the interop lane must not pass without sshd
	}
	s := StartRealSSHD(t, t.TempDir(), realsshd.Options{}, realsshd.Options{})
	for _, srv := range s.Servers {
		out, err := exec.Command("ssh", "-p", strings.TrimPrefix(srv.Addr, "127.0.0.1:"), "-i", s.Key,
			"-o", "UserKnownHostsFile="+s.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
			srv.User+"@127.0.0.1", "echo interop-ok").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "interop-ok") {
			t.Errorf("ssh to %s: %v: %s", srv.Addr, err, out)
		}
	}
}
