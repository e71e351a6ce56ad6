//go:build interop

package activities

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"

	"github.com/umzug-dev/umzug/activities/contract"
)

// realFixture is a copy fixture whose two hosts are real OpenSSH daemons
// on loopback (sftp-server reports ENOSPC as SSH_FX_FAILURE).
func realFixture(t *testing.T) *copyFixture {
	t.Helper()
	f, _ := realFixtureServers(t)
	return f
}

func realFixtureServers(t *testing.T) (*copyFixture, [2]*realsshd.Server) {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err) // the interop lane must not pass without sshd
	}
	dir := t.TempDir()
	daemons := testkit.StartRealSSHD(t, dir,
		realsshd.Options{Dir: filepath.Join(dir, "sshd-src")}, realsshd.Options{Dir: filepath.Join(dir, "sshd-dst")})
	srv := [2]*realsshd.Server{daemons.Servers[0], daemons.Servers[1]}
	host := func(name string, s *realsshd.Server) Host {
		return Host{Name: name, Address: s.Addr, User: s.User, IdentityFile: daemons.Key, KnownHosts: daemons.KnownHosts}
	}
	f := &copyFixture{
		a:   &Activities{},
		src: host("fin_pb", srv[0]), dst: host("fin_lg", srv[1]),
		dir: dir, srcRoot: filepath.Join(dir, "src", "data"), dstRoot: filepath.Join(dir, "dst", "data"),
	}
	for _, d := range []string{f.srcRoot, filepath.Dir(f.dstRoot)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("UMZUG_TEST_COPY_ENGINE") == CopyEngineClassic {
		f.a.CopyEngine = CopyEngineClassic // as newCopyFixture
	} else {
		useAgentEngine(t, f)
	}
	return f, srv
}

// Out of bytes, out of inodes and a read-only file system on a real
// OpenSSH target fail the copy at once, non-retryably, naming the cause.
func TestInteropFullTargetIsPermanent(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		f := realFixture(t)
		cause := "SSH_FX_FAILURE" // the SFTP server's answer
		if f.a.agentEngine() {
			cause = "no space left on device" // the agent's errno
		}
		err := copyOntoFilledTmpfs(t, f)
		wantPermanent(t, err, contract.ErrTargetNoSpace, "target fin_lg is out of space", cause)
	})
	t.Run("inodes", func(t *testing.T) {
		err := copyOntoFewInodes(t, realFixture(t))
		wantPermanent(t, err, contract.ErrTargetNoInodes, "target fin_lg is out of inodes")
	})
	t.Run("read-only", func(t *testing.T) {
		f := realFixture(t)
		mountTmpfs(t, filepath.Dir(f.dstRoot), "size=2m,ro")
		writeFile(t, filepath.Join(f.srcRoot, "a"), []byte("a"), 0o644, time.Unix(1700000000, 0))
		_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
		wantPermanent(t, err, contract.ErrTargetReadOnly, "read-only file system")
	})
}

// A host key that changed between phases fails the copy, a command and
// a preflight at once.
func TestInteropHostKeyChangedIsPermanent(t *testing.T) {
	f := realFixture(t)
	// Phases are hours apart, long past the pool's idle timeout: every
	// activity here dials afresh, as it would then.
	f.a.Pool.IdleTimeout = -1
	buildTree(t, f.srcRoot)
	f.copy(t, f.input(CopySet{}))
	// The target is "reinstalled": it gets a new host key.
	d := filepath.Join(f.dir, "sshd-dst")
	key := filepath.Join(d, "ssh_host_ed25519_key")
	os.Remove(key)
	os.Remove(key + ".pub")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	// sshd re-executes for each connection and so offers the new key;
	// known_hosts still pins the old one.
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrHostKeyChanged, "fin_lg", "host key CHANGED")
	_, err = f.a.RunCommand(context.Background(), CommandInput{Host: f.dst, Command: "true", Purpose: "check"})
	wantPermanent(t, err, contract.ErrHostKeyChanged, "fin_lg")
}

// A big file interrupted mid-way resumes on OpenSSH hosts from its last
// verified chunk (dd and sha256sum on each host).
func TestInteropResumesPartialFile(t *testing.T) {
	f := realFixture(t)
	const size = 41<<20 + 7
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(21, size), 0o600, time.Unix(1700000000, 0))
	interruptCopy(t, f, 20<<20)
	res := f.copy(t, f.input(CopySet{}))
	t.Logf("resumed %d bytes, re-sent %d", res.ResumedBytes, res.ResentBytes)
	if res.ResumedBytes < 18<<20 || res.ResentBytes > chunkSize {
		t.Errorf("resumed %d re-sent %d; want >= %d kept and <= one chunk (%d) sent again", res.ResumedBytes, res.ResentBytes, 18<<20, chunkSize)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// startSSHDAs starts a second sshd with s's configuration and host key
// that lets only user in, on a free port, pinned in knownHosts. It returns
// the new address.
func startSSHDAs(t *testing.T, s *realsshd.Server, dir, user, knownHosts string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data, err := os.ReadFile(filepath.Join(dir, "sshd_config"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(l, "AllowUsers "):
			l = "AllowUsers " + user
		case strings.HasPrefix(l, "Port "):
			l = "Port " + portOf(addr)
		case strings.HasPrefix(l, "PidFile "):
			l = "PidFile " + filepath.Join(dir, "sshd-"+user+".pid")
		}
		out = append(out, l)
	}
	conf := filepath.Join(dir, "sshd_config."+user)
	if err := os.WriteFile(conf, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	kh, _ := os.ReadFile(knownHosts)
	line := "[127.0.0.1]:" + portOf(addr) + " " + s.HostKeyPub + "\n"
	if err := os.WriteFile(knownHosts, append(kh, line...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(realsshd.Binary, "-D", "-e", "-f", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd as %s did not listen on %s", user, addr)
		}
	}
}

// A target directory the SSH user may not write is a permanent failure on
// OpenSSH (SSH_FX_PERMISSION_DENIED), reported with path and remedy.
func TestInteropPathDeniedIsPermanent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating the unprivileged SSH user needs root")
	}
	if _, _, err := realsshd.EnsureUser(realsshd.CIUser); err != nil {
		t.Fatal(err)
	}
	f, srv := realFixtureServers(t)
	// The user reads its authorized_keys through these directories.
	for d := filepath.Join(f.dir, "sshd-dst"); d != "/" && d != "/tmp"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	os.Chmod(filepath.Join(f.dir, "sshd-dst", "authorized_keys"), 0o644)
	f.dst.Address = startSSHDAs(t, srv[1], filepath.Join(f.dir, "sshd-dst"), realsshd.CIUser, f.dst.KnownHosts)
	f.dst.User = realsshd.CIUser
	f.a.AgentHome = "" // each login's own home: the fixture's is root's
	writeFile(t, filepath.Join(f.srcRoot, "a"), []byte("a"), 0o644, time.Unix(1700000000, 0))
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrPathDenied, f.dstRoot, "grant access")
}
