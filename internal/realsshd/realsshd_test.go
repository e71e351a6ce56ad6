//go:build interop

package realsshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartAndLogin starts sshd and logs in with OpenSSH's own client,
// checking the host key strictly against the line Start reports.
func TestStartAndLogin(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "client")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	s, err := Start(Options{Dir: dir, AuthorizedKeyFile: key + ".pub"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ssh", "-p", strings.TrimPrefix(s.Addr, "127.0.0.1:"), "-i", key,
		"-o", "UserKnownHostsFile="+kh, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		s.User+"@127.0.0.1", "echo interop-ok").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "interop-ok") {
		t.Fatalf("ssh login: %v: %s\nsshd log: %s", err, out, s.Log())
	}
}
