//go:build interop

package activities

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// sudoersFile lets the interop user run what a become host needs, as
// docs/operations.md gives it; .ci/run writes the same file.
const sudoersFile = "/etc/sudoers.d/umzug-interop"

// sudoHost starts sshd with PermitRootLogin no for the non-root interop
// user, whom sudoers lets run `/bin/sh -c *` without a password, and
// returns a become host and a root-owned work directory only root can
// enter.
func sudoHost(t *testing.T) (Host, string) {
	t.Helper()
	nonRootUser(t)
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Fatal("sudo is missing: apt-get install -y sudo")
	}
	line := NonRootUser + " ALL=(root) NOPASSWD: /bin/sh -c *\n"
	if b, err := os.ReadFile(sudoersFile); err != nil || string(b) != line {
		tmp := sudoersFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(line), 0o440); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("visudo", "-cf", tmp).CombinedOutput(); err != nil {
			os.Remove(tmp)
			t.Fatalf("visudo -cf: %v: %s", err, out)
		}
		if err := os.Rename(tmp, sudoersFile); err != nil {
			t.Fatal(err)
		}
	}
	base, err := os.MkdirTemp("", "umzug-interop-sudo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	work := filepath.Join(base, "work")
	if err := os.Mkdir(work, 0o700); err != nil { // root's only
		t.Fatal(err)
	}
	daemons := testkit.StartRealSSHD(t, base, realsshd.Options{User: NonRootUser, NoRootLogin: true})
	s := daemons.Servers[0]
	conf, _ := os.ReadFile(filepath.Join(base, "sshd-0", "sshd_config"))
	if !strings.Contains(string(conf), "PermitRootLogin no\n") {
		t.Fatalf("sshd_config without PermitRootLogin no:\n%s", conf)
	}
	return Host{Name: "hardened", Address: s.Addr, User: s.User, IdentityFile: daemons.Key, KnownHosts: daemons.KnownHosts,
		Become: contract.BecomeSudo}, work
}

// On a host without root login, a become step runs as root (in a
// directory only root may enter) and gets its secret over stdin; the
// same step with become = false runs as the login user and cannot.
func TestInteropBecomeSudoStep(t *testing.T) {
	h, work := sudoHost(t)
	t.Setenv("UMZUG_SECRET_db_password", testSecret)
	a := &Activities{}
	out := filepath.Join(work, "out")
	cmd := `id -u >` + ShellQuote(out) + `; printf %s "${UMZUG_SECRET_db_password}" >>` + ShellQuote(out)
	res, err := a.RunCommand(context.Background(), CommandInput{Host: h, Command: cmd, Purpose: "step as_root", Secrets: []string{"db_password"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := readFile(t, out); got != "0\n"+testSecret {
		t.Fatalf("the step wrote %q", got)
	}
	if p := argvHolding(testSecret); p != "" {
		t.Errorf("a process has the secret in its argv: %s", p)
	}

	res, err = a.RunCommand(context.Background(), CommandInput{Host: h, Command: "id -u; ls " + ShellQuote(work), Purpose: "step as_login", NoBecome: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || strings.HasPrefix(res.Stdout, "0\n") || !strings.Contains(res.Stderr, "Permission denied") {
		t.Fatalf("become = false ran as root: %+v", res)
	}
}

// The watchdog runs as root too: at the timeout it ends the step's
// root-owned processes, which the login user could not signal.
func TestInteropBecomeSudoTimeoutEndsRootGroup(t *testing.T) {
	h, work := sudoHost(t)
	pidFile := filepath.Join(work, "pid")
	_, err := (&Activities{}).RunCommand(context.Background(), CommandInput{Host: h,
		Command: "sleep 60 & echo $! >" + ShellQuote(pidFile) + "; wait", Timeout: 2 * time.Second, Purpose: "step slow"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandTimeout {
		t.Fatalf("want a timeout, got %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("root's sleep (pid %d) outlived the step's timeout", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Preflight on the hardened host: sudo works, the source walk goes
// through an sftp-server run by sudo, so it counts files only root reads,
// and commands are looked up on root's PATH (useradd is in /usr/sbin,
// which sshd's PATH for other users lacks).
func TestInteropBecomeSudoPreflight(t *testing.T) {
	h, work := sudoHost(t)
	from := filepath.Join(work, "data")
	testkit.Tree{"a.txt": "12345", "secret/b.txt": "abc"}.Write(t, from)
	os.Chmod(filepath.Join(from, "secret"), 0o700)
	a := &Activities{CopyEngine: CopyEngineAgent}
	res, err := a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: h, Target: h,
		Copies: []CopySet{{Name: "data", From: from, To: filepath.Join(work, "copy")}}, SourceCommands: []string{"useradd"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceFiles != 2 || res.SourceBytes != 8 {
		t.Fatalf("counted %d files, %d bytes", res.SourceFiles, res.SourceBytes)
	}

	// sudoers does not allow this agent: preflight asks sudo (-l, which
	// runs nothing) and names the line to add.
	h.AgentPath = "/opt/umzug/umzug-agent"
	_, err = a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: h, Target: h,
		Copies: []CopySet{{Name: "data", From: from, To: filepath.Join(work, "copy")}}})
	if err == nil {
		t.Fatal("preflight passed with an agent sudoers does not allow")
	}
	wantAll(t, err.Error(), "sudo would not start the agent", NonRootUser+` ALL=(root) NOPASSWD: /opt/umzug/umzug-agent serve, /bin/sh -c *`)
}
