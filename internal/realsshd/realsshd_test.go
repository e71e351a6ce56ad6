//go:build interop

package realsshd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartAndLogin starts sshd and logs in with OpenSSH's own client,
// checking the host key strictly against the line Start reports.
func TestStartAndLogin(t *testing.T) {
	dir := t.TempDir()
	key := clientKey(t, dir)
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
		s.User+"@127.0.0.1", "echo interop-ok; echo PYENV=${PYENV_SHELL:-none} SHLVL=$SHLVL").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "interop-ok") {
		t.Fatalf("ssh login: %v: %s\nsshd log: %s", err, out, s.Log())
	}
	// The login shell's interactive startup files do not run: they would
	// make every session cost what the machine's .bashrc costs.
	if !strings.Contains(string(out), "PYENV=none") {
		t.Fatalf("the session ran the login user's .bashrc: %s", out)
	}
}

// TestCloseTwice: a test that stops a daemon itself (an unreachable
// source) and the cleanup that stops it again must not block.
func TestCloseTwice(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	key := clientKey(t, dir)
	sd := filepath.Join(dir, "sshd")
	if err := os.Mkdir(sd, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Start(Options{Dir: sd, AuthorizedKeyFile: key + ".pub"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("second Close blocked")
	}
}
