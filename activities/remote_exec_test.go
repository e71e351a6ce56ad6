package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// waitForFile polls for a file the remote command creates; the command's
// own progress, not a clock, decides when the test goes on.
func waitForFile(t testing.TB, path string) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

func lines(t testing.TB, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// assertGroupEnded checks that no live process of the group is left: the
// command's `echo finished` can then never run. Zombies do not count: they
// run nothing, and some container inits reap them late.
func assertGroupEnded(t testing.TB, pg int) {
	t.Helper()
	if pg <= 0 {
		t.Fatalf("no process group in the result")
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		i := strings.LastIndexByte(string(b), ')')
		if err != nil || i < 0 {
			continue
		}
		f := strings.Fields(string(b)[i+1:]) // state ppid pgrp ...
		if len(f) > 2 && f[2] == strconv.Itoa(pg) && f[0] != "Z" {
			t.Fatalf("process group %d still has a live process: %s", pg, b)
		}
	}
}

// assertTimeoutEndsGroup runs the step of the finding: a command with a
// background child that outlives a 2s timeout unless its whole process
// group is ended.
func assertTimeoutEndsGroup(t *testing.T, a *Activities, h Host, dir string) {
	t.Helper()
	stopped, finished := filepath.Join(dir, "stopped"), filepath.Join(dir, "finished")
	cmd := fmt.Sprintf("(sleep 6; echo child > %s.child) & touch %s; sleep 6; echo finished > %s",
		ShellQuote(finished), ShellQuote(stopped), ShellQuote(finished))
	t0 := time.Now()
	res, err := a.RunCommand(context.Background(), CommandInput{Host: h, Command: cmd, Timeout: 2 * time.Second, Purpose: "step stop_app"})
	t.Logf("timed out and ended in %s", time.Since(t0).Round(time.Millisecond))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandTimeout || !ae.NonRetryable() {
		t.Fatalf("want non-retryable %s, got %v", contract.ErrCommandTimeout, err)
	}
	wantAll(t, err.Error(), "timed out after 2s", fmt.Sprintf("process group %d on %s ended", res.ProcessGroup, h.Name))
	if _, err := os.Stat(stopped); err != nil {
		t.Fatalf("the command never started: %v", err)
	}
	assertGroupEnded(t, res.ProcessGroup)
	for _, f := range []string{finished, finished + ".child"} {
		if _, err := os.Stat(f); err == nil {
			t.Fatalf("%s appeared: the command went on after its timeout", f)
		}
	}
	if len(res.Attempts) != 1 || res.Attempts[0].Host != h.Name || res.Attempts[0].Started.IsZero() {
		t.Fatalf("attempts %+v", res.Attempts)
	}
}

func TestRunCommandTimeoutEndsProcessGroup(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	a := &Activities{RemoteStateDir: t.TempDir()}
	assertTimeoutEndsGroup(t, a, ts.host, t.TempDir())
}

// A retry after a lost worker takes over the running command instead of
// starting it again, and the result lists both attempts.
func TestRunCommandRetryTakesOverRunningAttempt(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	counter, release := filepath.Join(dir, "counter"), filepath.Join(dir, "release")
	in := CommandInput{Host: ts.host, Purpose: "step stop_app", Timeout: time.Minute,
		Command: fmt.Sprintf("echo ran >> %s; while [ ! -f %s ]; do sleep 0.1; done; echo stopped", ShellQuote(counter), ShellQuote(release))}
	key := attemptKey{Dir: "wf/5-step_stop_app", Attempt: 1}

	// Attempt 1: its worker stops while the command runs.
	err := stopWorkerWhileRunning(t, a, in, key, counter)
	wantAll(t, fmt.Sprint(err), "worker stopping", "keeps running as process group")

	// Attempt 2 finds it running and waits for it.
	key.Attempt = 2
	done := make(chan struct{})
	var res CommandResult
	go func() { res, err = a.runCommand(context.Background(), in, key); close(done) }()
	waitForFile(t, filepath.Join(a.RemoteStateDir, key.Dir, "attempts"))
	for !strings.Contains(readFile(t, filepath.Join(a.RemoteStateDir, key.Dir, "attempts")), "2 ") {
		time.Sleep(20 * time.Millisecond)
	}
	os.WriteFile(release, nil, 0o644)
	<-done
	if err != nil || res.ExitCode != 0 || res.Stdout != "stopped\n" {
		t.Fatalf("attempt 2: %+v %v", res, err)
	}
	if n := lines(t, counter); n != 1 {
		t.Fatalf("command ran %d times", n)
	}
	if len(res.Attempts) != 2 || res.Attempts[0].Attempt != 1 || res.Attempts[0].TakenOver ||
		res.Attempts[1].Attempt != 2 || !res.Attempts[1].TakenOver ||
		res.Attempts[0].ExitCode != 0 || res.Attempts[0].Finished.IsZero() {
		t.Fatalf("attempts %+v", res.Attempts)
	}

	// Attempt 3, after it finished, returns the recorded result.
	key.Attempt = 3
	res, err = a.runCommand(context.Background(), in, key)
	if err != nil || res.ExitCode != 0 || lines(t, counter) != 1 || len(res.Attempts) != 3 {
		t.Fatalf("attempt 3: %+v %v (runs %d)", res, err, lines(t, counter))
	}
}

// Two attempts at once (a worker that lost its heartbeat but still runs)
// never start the command twice.
func TestRunCommandConcurrentAttemptsRunOnce(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	counter := filepath.Join(dir, "counter")
	in := CommandInput{Host: ts.host, Purpose: "step x", Command: fmt.Sprintf("echo ran >> %s; sleep 0.3", ShellQuote(counter))}
	var wg sync.WaitGroup
	results := make([]CommandResult, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.runCommand(context.Background(), in, attemptKey{Dir: "wf/7-step_x", Attempt: i + 1})
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	if n := lines(t, counter); n != 1 {
		t.Fatalf("command ran %d times", n)
	}
	for _, r := range results {
		if r.ExitCode != 0 {
			t.Fatalf("result %+v", r)
		}
	}
}

// A cancel from the workflow (not a stopping worker) ends the group.
func TestRunCommandCancelEndsProcessGroup(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	started := filepath.Join(dir, "started")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var res CommandResult
	go func() {
		var err error
		res, err = a.RunCommand(ctx, CommandInput{Host: ts.host, Purpose: "step y",
			Command: fmt.Sprintf("touch %s; sleep 30", ShellQuote(started))})
		errc <- err
	}()
	waitForFile(t, started)
	cancel()
	err := <-errc
	wantAll(t, fmt.Sprint(err), "was cancelled", "ended")
	assertGroupEnded(t, res.ProcessGroup)
}

// A runner that vanished (host rebooted) is reported as possibly run in
// part, never started again.
func TestRunCommandLostRunnerIsNotRerun(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	run := filepath.Join(a.RemoteStateDir, "wf", "9-step_z", "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	// A start record whose runner pid no longer exists.
	os.WriteFile(filepath.Join(run, "attempt"), []byte("1 1700000000\n"), 0o600)
	os.WriteFile(filepath.Join(run, "started"), []byte("999999 999999 1700000000\n"), 0o600)
	marker := filepath.Join(dir, "ran")
	_, err := a.runCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step z",
		Command: "touch " + ShellQuote(marker)}, attemptKey{Dir: "wf/9-step_z", Attempt: 2})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandLost || !ae.NonRetryable() {
		t.Fatalf("want %s, got %v", contract.ErrCommandLost, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran a second time")
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, _ := os.ReadFile(p)
	return string(b)
}

// The command runs with the session's umask and environment, not the
// private umask of the attempt records.
func TestRunCommandKeepsSessionUmask(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{Env: []string{"UMZUG_TEST_VAR=kept"}})
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	res, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: `umask; echo "$UMZUG_TEST_VAR"; env | grep -c UMZUG_EXPORTS`, Purpose: "step x"})
	if err != nil || res.Stdout != "0022\nkept\n0\n" {
		t.Fatalf("%q %v", res.Stdout, err)
	}
}

// A claim whose launcher died before it recorded anything is waited for a
// while, then reported as lost; a fresh one is waited for.
func TestParseStatusClaimWithoutOwner(t *testing.T) {
	st, err := parseStatus("now 1700000100\nowner 0 1700000000\n")
	if err != nil || !st.Claimed || st.Owner != 0 || st.ClaimedAt != 1700000000 || st.Started {
		t.Fatalf("%+v %v", st, err)
	}
	st, err = parseStatus("now 1700000100\nalive\nstarted 42 41 1700000050\nowner 1 1700000049\nexit 3 1700000060\nsizes 10 0\nattempt 1 1700000049 ran\nattempt 2 1700000070 took_over\n")
	if err != nil || !st.Alive || st.PGID != 42 || st.RunnerPID != 41 || !st.Exited || st.ExitCode != 3 || st.StdoutSize != 10 || len(st.Log) != 2 || st.Log[1].Role != "took_over" {
		t.Fatalf("%+v %v", st, err)
	}
}

// The host enforces the timeout itself: with the worker gone, the command
// still ends at its timeout, and the attempt that takes over reports it.
func TestRunCommandTimeoutHoldsWithoutWorker(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	started, finished := filepath.Join(dir, "started"), filepath.Join(dir, "finished")
	in := CommandInput{Host: ts.host, Purpose: "step stop_app", Timeout: time.Second,
		Command: fmt.Sprintf("touch %s; sleep 6; echo finished > %s", ShellQuote(started), ShellQuote(finished))}
	key := attemptKey{Dir: "0123456789abcdef/5-step", Attempt: 1}
	stopWorkerWhileRunning(t, a, in, key, started)
	waitForFile(t, filepath.Join(a.RemoteStateDir, key.Dir, "run", "exit"))
	key.Attempt = 2
	res, err := a.runCommand(context.Background(), in, key)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandTimeout {
		t.Fatalf("want %s, got %v", contract.ErrCommandTimeout, err)
	}
	wantAll(t, err.Error(), "timed out after 1s", fmt.Sprintf("process group %d on fin_pb ended", res.ProcessGroup))
	assertGroupEnded(t, res.ProcessGroup)
	if _, err := os.Stat(finished); err == nil {
		t.Fatal("the command went on after its timeout")
	}
}

// stopWorkerWhileRunning runs attempt key of in and stops its worker once
// the command has created marker, leaving the command running on the
// host; it returns the attempt's error.
func stopWorkerWhileRunning(t *testing.T, a *Activities, in CommandInput, key attemptKey, marker string) error {
	t.Helper()
	ctx, stop := context.WithCancel(context.WithValue(context.Background(), leaveRunningKey{}, true))
	errc := make(chan error, 1)
	go func() { _, err := a.runCommand(ctx, in, key); errc <- err }()
	waitForFile(t, marker)
	stop()
	return <-errc
}

// liveProcsWith lists the live processes whose command line holds s.
func liveProcsWith(s string) []string {
	var out []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if i := strings.LastIndexByte(string(st), ')'); i > 0 && strings.HasPrefix(strings.TrimSpace(string(st)[i+1:]), "Z") {
			continue
		}
		out = append(out, strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}

// Steps that end at once leave nothing of their watchdog behind: the
// timeout's killer must not outlive the group whose id it holds.
func TestRunCommandNoWatchdogOutlivesStep(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	for range 12 {
		res, err := a.RunCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step quick", Command: "true", Timeout: time.Hour})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%+v %v", res, err)
		}
	}
	var left []string
	for range 40 { // the leader leaves at its next nap (0.2s)
		if left = liveProcsWith(a.RemoteStateDir); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("processes of finished steps still run: %q", left)
}

// startDecoy starts an unrelated process leading a process group of its
// own, as one that was given a finished step's group id; the channel is
// closed when it ends.
func startDecoy(t *testing.T) (int, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() { _ = cmd.Wait(); close(ended) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-ended })
	return cmd.Process.Pid, ended
}

// The worker's end of a step (timeout or cancel) never signals the id in
// the run record: the decoy holding that id survives, whether the step
// has ended already or still runs (then its own group is ended).
func TestRunCommandKillSignalsOnlyItsOwnGroup(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	conn, err := a.dial(context.Background(), ts.host)
	if err != nil {
		t.Fatal(err)
	}
	defer a.release(context.Background(), conn)
	recycle := func(key string) (int, <-chan struct{}) {
		run := filepath.Join(a.RemoteStateDir, key, "run")
		f := strings.Fields(readFile(t, filepath.Join(run, "started")))
		pg, ended := startDecoy(t)
		// The recorded group id now names the decoy, as a recycled id would.
		if err := os.WriteFile(filepath.Join(run, "started"), []byte(fmt.Sprintf("%d %s %s\n", pg, f[1], f[2])), 0o600); err != nil {
			t.Fatal(err)
		}
		return pg, ended
	}

	t.Run("ended", func(t *testing.T) {
		key := attemptKey{Dir: "0123456789abcdef/1-step_quick", Attempt: 1}
		res, err := a.runCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step quick", Command: "true", Timeout: time.Hour}, key)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%+v %v", res, err)
		}
		pg, ended := recycle(key.Dir)
		rr := &remoteRun{conn: conn, base: a.RemoteStateDir, key: key.Dir}
		if _, err := rr.kill(true); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ended:
			t.Fatalf("process group %d (not the step's) was signalled", pg)
		case <-time.After(300 * time.Millisecond):
		}
	})

	t.Run("running", func(t *testing.T) {
		key := attemptKey{Dir: "0123456789abcdef/2-step_slow", Attempt: 1}
		started := filepath.Join(dir, "started")
		in := CommandInput{Host: ts.host, Purpose: "step slow", Timeout: time.Hour,
			Command: fmt.Sprintf("touch %s; sleep 30", ShellQuote(started))}
		stopWorkerWhileRunning(t, a, in, key, started)
		waitForFile(t, filepath.Join(a.RemoteStateDir, key.Dir, "run", "leader"))
		st0, err := (&remoteRun{conn: conn, base: a.RemoteStateDir, key: key.Dir}).status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pg, ended := recycle(key.Dir)
		rr := &remoteRun{conn: conn, base: a.RemoteStateDir, key: key.Dir}
		if _, err := rr.kill(true); err != nil {
			t.Fatal(err)
		}
		st, err := rr.status(context.Background())
		if err != nil || !st.Exited || !st.TimedOut {
			t.Fatalf("the step did not end as timed out: %+v %v", st, err)
		}
		assertGroupEnded(t, st0.PGID)
		select {
		case <-ended:
			t.Fatalf("process group %d (not the step's) was signalled", pg)
		case <-time.After(300 * time.Millisecond):
		}
	})
}
