package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

func TestRunCommandExitCodesAndOutput(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	a := &Activities{}
	res, err := a.RunCommand(context.Background(), CommandInput{Host: ts.host, Command: "echo started; echo warn >&2; exit 3", Purpose: "step x"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.Stdout != "started\n" || res.Stderr != "warn\n" {
		t.Fatalf("result %+v", res)
	}
	if res.Host != "fin_lg" || res.Address != ts.srv.Addr() || res.Command == "" {
		t.Fatalf("identity fields %+v", res)
	}
	if res.Started.IsZero() || res.Finished.Before(res.Started) {
		t.Fatalf("times %v %v", res.Started, res.Finished)
	}

	res, err = a.RunCommand(context.Background(), CommandInput{Host: ts.host, Command: "true"})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("true: %+v %v", res, err)
	}
}

func TestRunCommandKeepsOutputTails(t *testing.T) {
	ts := startTestSSH(t, "h", sshserver.Options{})
	// 20000 numbered lines on stdout, a short stderr.
	res, err := (&Activities{}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done; echo bye >&2"})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%v %d", err, res.ExitCode)
	}
	if !strings.HasSuffix(res.Stdout, "line19998\nline19999\n") {
		t.Fatalf("stdout tail ends %q", res.Stdout[len(res.Stdout)-40:])
	}
	if !strings.HasPrefix(res.Stdout, "[... ") || !strings.Contains(res.Stdout, "earlier bytes cut]") {
		t.Fatalf("no truncation note: %q", res.Stdout[:60])
	}
	if len(res.Stdout) > outputTailBytes+64 {
		t.Fatalf("stdout kept %d bytes", len(res.Stdout))
	}
	if res.Stderr != "bye\n" {
		t.Fatalf("stderr %q", res.Stderr)
	}
}

func TestOutputTailUTF8(t *testing.T) {
	tl := newOutputTail(5)
	tl.Write([]byte("aaaa"))
	tl.Write([]byte("ü€x")) // 2+3+1 bytes; the cut lands inside a rune
	got := tl.String()
	if !strings.HasSuffix(got, "€x") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("got %q", got)
	}
}

func TestRunCommandTimeout(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	marker := filepath.Join(t.TempDir(), "finished")
	start := time.Now()
	res, err := (&Activities{}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Command: "echo begun; sleep 3; touch " + ShellQuote(marker), Timeout: 400 * time.Millisecond, Purpose: "step slow"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrCommandTimeout || !ae.NonRetryable() {
		t.Fatalf("want non-retryable %s, got %v", contract.ErrCommandTimeout, err)
	}
	wantAll(t, err.Error(), "fin_lg", "sleep 3", "timed out after 400ms")
	if res.ExitCode != -1 || res.Stdout != "begun\n" {
		t.Fatalf("result %+v", res)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("timeout took %s", time.Since(start))
	}
	time.Sleep(3 * time.Second)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("timed-out command kept running")
	}
}

func TestRunCommandDialFailures(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	h := ts.host
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	if err := sshserver.WriteKnownHosts(h.KnownHosts); err != nil {
		t.Fatal(err)
	}
	_, err := (&Activities{}).RunCommand(context.Background(), CommandInput{Host: h, Command: "true"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrHostKeyUnknown || !ae.NonRetryable() {
		t.Fatalf("unknown host key: want non-retryable %s, got %v", contract.ErrHostKeyUnknown, err)
	}
	wantAll(t, err.Error(), "is not in known_hosts file")

	ts.srv.Close()
	_, err = (&Activities{}).RunCommand(context.Background(), CommandInput{Host: ts.host, Command: "true"})
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("server down: want a plain retryable error, got %v", err)
	}
	wantAll(t, err.Error(), "fin_lg", ts.srv.Addr())
}
