//go:build interop

package activities

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// NonRootUser is the account the interop lane runs commands as besides
// root; CI creates it (useradd -m umzugci) when it runs as root.
const NonRootUser = realsshd.CIUser

// realHost starts OpenSSH's sshd for login (empty: the current user) and
// returns the host and a work directory that user can write.
func realHost(t *testing.T, login string) (Host, string) {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "umzug-interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	work := filepath.Join(base, "work")
	os.Mkdir(work, 0o755)
	if login != "" {
		u, err := user.Lookup(login)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(work, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	daemons := testkit.StartRealSSHD(t, base, realsshd.Options{User: login})
	s := daemons.Servers[0]
	return Host{Name: "real_" + s.User, Address: s.Addr, User: s.User, IdentityFile: daemons.Key, KnownHosts: daemons.KnownHosts}, work
}

// nonRootUser makes sure the non-root account exists and can log in with
// a key (root only).
func nonRootUser(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("the interop lane runs as root so it can test both root and %s", NonRootUser)
	}
	if _, _, err := realsshd.EnsureUser(NonRootUser); err != nil {
		t.Fatal(err)
	}
}

// OpenSSH refuses SSH signal requests from root sessions; the timeout must
// still end the whole process group, as root and as another user.
func TestInteropCommandTimeoutEndsGroup(t *testing.T) {
	nonRootUser(t)
	for _, login := range []string{"", NonRootUser} {
		t.Run("user="+map[bool]string{true: "root", false: login}[login == ""], func(t *testing.T) {
			h, work := realHost(t, login)
			assertTimeoutEndsGroup(t, &Activities{}, h, work)
		})
	}
}

// A retry against real sshd takes over the running command.
func TestInteropCommandRetryTakesOver(t *testing.T) {
	nonRootUser(t)
	for _, login := range []string{"", NonRootUser} {
		t.Run("user="+map[bool]string{true: "root", false: login}[login == ""], func(t *testing.T) {
			h, work := realHost(t, login)
			a := &Activities{RemoteStateDir: filepath.Join(work, "state")}
			counter, release := filepath.Join(work, "counter"), filepath.Join(work, "release")
			in := CommandInput{Host: h, Purpose: "step stop_app", Timeout: time.Minute,
				Command: fmt.Sprintf("echo ran >> %s; while [ ! -f %s ]; do sleep 0.1; done", ShellQuote(counter), ShellQuote(release))}
			key := attemptKey{Dir: "wf/5-step", Attempt: 1}
			ctx1, stop := context.WithCancel(context.WithValue(context.Background(), leaveRunningKey{}, true))
			errc := make(chan error, 1)
			go func() { _, err := a.runCommand(ctx1, in, key); errc <- err }()
			waitForFile(t, counter)
			stop()
			<-errc
			key.Attempt = 2
			done := make(chan CommandResult, 1)
			go func() {
				r, err := a.runCommand(context.Background(), in, key)
				if err != nil {
					t.Error(err)
				}
				done <- r
			}()
			os.WriteFile(release, nil, 0o666)
			res := <-done
			if n := lines(t, counter); n != 1 || res.ExitCode != 0 || len(res.Attempts) != 2 || !res.Attempts[1].TakenOver {
				t.Fatalf("ran %d times; result %+v", n, res)
			}
		})
	}
}

// Secrets reach the remote shell on stdin through real sshd.
func TestInteropCommandSecretOverStdin(t *testing.T) {
	nonRootUser(t)
	t.Setenv("UMZUG_SECRET_db_password", testSecret)
	for _, login := range []string{"", NonRootUser} {
		t.Run("user="+map[bool]string{true: "root", false: login}[login == ""], func(t *testing.T) {
			h, work := realHost(t, login)
			assertSecretHandoff(t, &Activities{RemoteStateDir: filepath.Join(work, "state")}, h, work)
		})
	}
}

// A bash -x step through real sshd keeps its output with no form of the
// value in it.
func TestInteropBashXStepRedacted(t *testing.T) {
	nonRootUser(t)
	t.Setenv("UMZUG_SECRET_db_password", shellSecret)
	for _, login := range []string{"", NonRootUser} {
		t.Run("user="+map[bool]string{true: "root", false: login}[login == ""], func(t *testing.T) {
			h, work := realHost(t, login)
			assertBashXRedacted(t, &Activities{RemoteStateDir: filepath.Join(work, "state")}, h)
		})
	}
}
