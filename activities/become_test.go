package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// fakeSudo puts a `sudo` first on the SSH server's PATH. It records each
// call's arguments (calls reports them joined by " | "), refuses a call without
// -n, answers -l (may I?) with yes, and runs the command as the same
// user; with refuse it fails as sudo does when sudoers asks for a
// password.
func fakeSudo(t *testing.T, refuse bool) (env []string, calls func() []string) {
	t.Helper()
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "sudo.log")
	body := `[ "$1" = -n ] || { echo "fake sudo: -n missing" >&2; exit 98; }
shift
[ "$1" = -l ] && exit 0 # sudo -l: allowed, runs nothing
exec "$@"`
	if refuse {
		body = `echo "sudo: a password is required" >&2; exit 1`
	}
	// One line per call: arguments split by \x1f, newlines as \x1e.
	script := "#!/bin/sh\n( IFS=$(printf '\\037'); printf '%s' \"$*\" | tr '\\n' '\\036'; echo ) >>" + ShellQuote(log) + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, func() []string {
		b, _ := os.ReadFile(log)
		out := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i, c := range out {
			out[i] = strings.NewReplacer("\x1f", " | ", "\x1e", "\n").Replace(c)
		}
		return out
	}
}

// A step on a become host: the launch, status, tail (and the runner and
// watchdog they start) all run through `sudo -n /bin/sh -c`, and the
// secret still reaches the command over stdin, never in an argv.
func TestRunCommandBecomeSudo(t *testing.T) {
	env, calls := fakeSudo(t, false)
	ts := startTestSSH(t, "fin_pb", sshserver.Options{Env: env})
	ts.host.Become = contract.BecomeSudo
	dir := t.TempDir()
	t.Setenv("UMZUG_SECRET_db_password", testSecret)
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	assertSecretHandoff(t, a, ts.host, dir)
	got := calls()
	var launch, status, tail bool
	for _, c := range got {
		if !strings.HasPrefix(c, "-n | /bin/sh | -c | ") {
			t.Errorf("sudo called as %q, want -n /bin/sh -c SCRIPT", c)
		}
		launch = launch || strings.Contains(c, "umzug-runner")
		status = status || strings.Contains(c, `echo "now $(date +%s)"`)
		tail = tail || strings.Contains(c, `tail -c`)
		if strings.Contains(c, testSecret) {
			t.Errorf("the secret is in sudo's arguments: %q", c)
		}
	}
	if !launch || !status || !tail {
		t.Fatalf("launch %v, status %v, tail %v through sudo; calls:\n%s", launch, status, tail, strings.Join(got, "\n"))
	}
}

// The watchdog runs under sudo too: a step that outlives its timeout is
// ended, and nothing it would have done afterwards happens.
func TestRunCommandBecomeSudoTimeout(t *testing.T) {
	env, calls := fakeSudo(t, false)
	ts := startTestSSH(t, "fin_pb", sshserver.Options{Env: env})
	ts.host.Become = contract.BecomeSudo
	marker := filepath.Join(t.TempDir(), "finished")
	_, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: "sleep 3; touch " + ShellQuote(marker), Timeout: 400 * time.Millisecond, Purpose: "step slow"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandTimeout {
		t.Fatalf("want a timeout, got %v", err)
	}
	time.Sleep(3500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the step ran on after its timeout")
	}
	if len(calls()) < 2 {
		t.Fatalf("sudo calls %q", calls())
	}
}

// become = false on a step runs it as the login user: no sudo at all.
func TestRunCommandNoBecome(t *testing.T) {
	env, calls := fakeSudo(t, false)
	ts := startTestSSH(t, "fin_pb", sshserver.Options{Env: env})
	ts.host.Become = contract.BecomeSudo
	res, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: "echo plain", Purpose: "step plain", NoBecome: true})
	if err != nil || res.ExitCode != 0 || res.Stdout != "plain\n" {
		t.Fatalf("%+v %v", res, err)
	}
	if c := calls(); len(c) != 1 || c[0] != "" {
		t.Fatalf("sudo was called: %q", c)
	}
}

// sudo that wants a password fails the step at once, non-retryable,
// naming the sudoers line to add; the command does not run.
func TestRunCommandBecomeSudoRefused(t *testing.T) {
	env, _ := fakeSudo(t, true)
	ts := startTestSSH(t, "fin_pb", sshserver.Options{Env: env})
	ts.host.Become = contract.BecomeSudo
	marker := filepath.Join(t.TempDir(), "ran")
	_, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: "touch " + ShellQuote(marker), Purpose: "step x"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() {
		t.Fatalf("want a non-retryable error, got %v", err)
	}
	wantAll(t, err.Error(), "sudo: a password is required", `migrate ALL=(root) NOPASSWD: /bin/sh -c *`)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran")
	}
}

// Preflight on a become host checks sudo and walks the source through an
// sftp-server started by sudo; it names the missing sudoers line when
// sudo asks for a password, and refuses copies on the classic engine.
func TestPreflightBecomeSudo(t *testing.T) {
	okEnv, okCalls := fakeSudo(t, false)
	badEnv, _ := fakeSudo(t, true)
	from := filepath.Join(t.TempDir(), "data")
	testkit.Tree{"a.txt": "12345", "d/b.txt": "abc"}.Write(t, from)
	to := filepath.Join(t.TempDir(), "data")
	copies := []CopySet{{Name: "ledger", From: from, To: to}}

	src := startTestSSH(t, "fin_pb", sshserver.Options{Env: okEnv})
	dst := startTestSSH(t, "fin_lg", sshserver.Options{Env: okEnv})
	src.host.Become, dst.host.Become = contract.BecomeSudo, contract.BecomeSudo
	a := &Activities{CopyEngine: CopyEngineAgent}
	res, err := a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: src.host, Target: dst.host, Copies: copies,
		SourceCommands: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceFiles != 2 || res.SourceBytes != 8 {
		t.Fatalf("counted %d files, %d bytes through sudo's sftp-server", res.SourceFiles, res.SourceBytes)
	}
	all := strings.Join(okCalls(), "\n")
	wantAll(t, all, "sftp-server", "-n | /bin/sh | -c | true", "command -v")
	// An uploaded agent would run from the login user's home: warned.
	wantAll(t, strings.Join(res.Warnings, "\n"), `target fin_lg has become = "sudo" and no agent_path`)

	// With agent_path, preflight asks sudo whether it would start it.
	pinned := dst.host
	pinned.AgentPath = "/opt/umzug/umzug-agent"
	if _, err := a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: src.host, Target: pinned, Copies: copies}); err != nil {
		t.Fatal(err)
	}
	wantAll(t, strings.Join(okCalls(), "\n"), "-n | -l | /opt/umzug/umzug-agent | serve")

	// The classic engine cannot copy as root.
	_, err = (&Activities{CopyEngine: CopyEngineClassic}).Preflight(context.Background(), PreflightInput{MoveID: "m", Source: src.host, Target: dst.host, Copies: copies})
	if err == nil {
		t.Fatal("classic engine with become hosts passed preflight")
	}
	wantAll(t, err.Error(), `source fin_pb has become = "sudo"`, "--copy-engine agent")

	// The re-hash after the switch reads as the login user: refused.
	rehash := []CopySet{{Name: "ledger", From: from, To: to, Rehash: "after_switch"}}
	_, err = a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: src.host, Target: dst.host, Copies: rehash})
	if err == nil {
		t.Fatal("rehash on become hosts passed preflight")
	}
	wantAll(t, err.Error(), `copy set ledger: rehash = "after_switch" is not available`)

	// sudo asks for a password on the target.
	bad := startTestSSH(t, "fin_lg", sshserver.Options{Env: badEnv})
	bad.host.Become = contract.BecomeSudo
	bad.host.AgentPath = "/opt/umzug/umzug-agent"
	_, err = a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: src.host, Target: bad.host, Copies: copies})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrPreflightFailed {
		t.Fatalf("want PreflightFailed, got %v", err)
	}
	wantAll(t, err.Error(), "target fin_lg", "sudo: a password is required",
		`migrate ALL=(root) NOPASSWD: /opt/umzug/umzug-agent serve, /bin/sh -c *`)
	// The SFTP session, started through the same sudo, says why it failed.
	wantAll(t, err.Error(), "open SFTP session: sftp-server through `sudo -n` on fin_lg", "password is required; the host's sudoers")
}

// CheckSecrets names every secret this worker lacks, and no value.
func TestCheckSecrets(t *testing.T) {
	t.Setenv("UMZUG_SECRET_present", testSecret)
	t.Setenv(SecretsFileEnv, "")
	a := &Activities{}
	if err := a.CheckSecrets(context.Background(), contract.CheckSecretsInput{Side: "source", Host: Host{Name: "fin_pb"}, Names: []string{"present"}}); err != nil {
		t.Fatal(err)
	}
	err := a.CheckSecrets(context.Background(), contract.CheckSecretsInput{Side: "source", Host: Host{Name: "fin_pb"},
		Names: []string{"absent_a", "present", "absent_b"}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrSecretMissing || !ae.NonRetryable() {
		t.Fatalf("want SecretMissing, got %v", err)
	}
	wantAll(t, err.Error(), "source fin_pb", "UMZUG_SECRET_absent_a", "UMZUG_SECRET_absent_b")
	if strings.Contains(err.Error(), "UMZUG_SECRET_present") || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error names a present secret or a value: %v", err)
	}
}

// Free inodes count like free space: a target file system with fewer
// free inodes than the copy sets have entries fails preflight.
func TestPreflightInodes(t *testing.T) {
	in := PreflightInput{Target: Host{Name: "fin_lg"}, Copies: []CopySet{{Name: "a"}, {Name: "b"}}}
	sf := sourceFindings{checked: true, sets: []setSource{{files: 3, bytes: 10, entries: 4}, {files: 3, bytes: 10, entries: 5}}}
	tf := targetFindings{sets: []setTarget{
		{ancestor: "/srv", free: 1 << 30, freeInodes: 8, haveEntries: 0},
		{ancestor: "/srv", free: 1 << 30, freeInodes: 8, haveEntries: 0},
	}}
	var res PreflightResult
	res.TargetFreeBytes = -1
	problems := mergeFindings(&res, in, sf, tf)
	if len(problems) != 1 || !strings.Contains(problems[0], "8 free inodes at /srv, needs 9 for a, b") {
		t.Fatalf("problems %q", problems)
	}
	tf.sets[1].haveEntries = 1 // already there: needs no new inode
	if problems := mergeFindings(&res, in, sf, tf); len(problems) != 0 {
		t.Fatalf("problems %q", problems)
	}
	tf.sets[0].freeInodes, tf.sets[1].freeInodes = -1, -1 // not reported
	tf.sets[1].haveEntries = 0
	if problems := mergeFindings(&res, in, sf, tf); len(problems) != 0 {
		t.Fatalf("problems %q", problems)
	}
}
