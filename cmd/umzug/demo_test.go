package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// lockedBuffer is the interactive demo's terminal, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitOutput(t *testing.T, out *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("demo never printed %q; output:\n%s", want, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInteractiveDemoRollbackStaysUp drives the interactive demo as a
// person would from a second shell: each decision shows in the demo's
// terminal, quorum is announced, and a rolled-back move still gets its
// audit report while the server stays up until Ctrl-C, which exits 0.
func TestInteractiveDemoRollbackStaysUp(t *testing.T) {
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	dir := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{
		embedded: embeddedOptions{port: 0, noUI: true}, // the demo prints the bound address
		dir:      dir, paderbornAddr: "127.0.0.1:0", lemgoAddr: "127.0.0.1:0",
		scale: 1, as: "a.meier",
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, out, o) }()

	const id = "umzug/finance/finance"
	waitOutput(t, out, "awaiting_approval:")
	addr := regexp.MustCompile(`Temporal +(127\.0\.0\.1:[1-9][0-9]*) `).FindStringSubmatch(out.String())
	if addr == nil {
		t.Fatalf("the demo printed no Temporal address:\n%s", out.String())
	}
	t.Setenv("TEMPORAL_ADDRESS", addr[1])
	var last string
	for _, who := range []string{"a.meier", "b.schulz"} {
		_, last, _ = cli(t, "approve", id, "--as", who, "--comment", "CHG-4711")
	}
	// The last approval as the demo prints it, bound to the run digest:
	// --plan with the demo's own variables loads the plan that runs.
	bound := regexp.MustCompile(`(?m)^    umzug (approve .* --plan .*)$`).FindStringSubmatch(out.String())
	if bound == nil {
		t.Fatalf("the demo printed no approve line with --plan:\n%s", out.String())
	}
	args := shellWords(t, bound[1])
	for i := range args {
		if i > 0 && args[i-1] == "--as" {
			args[i] = "c.yilmaz"
		}
	}
	code, last, errOut := cli(t, args...)
	if code != 0 {
		t.Fatalf("the printed --plan approval was refused: exit %d %q", code, errOut)
	}
	c, err := dialTemporal(context.Background(), addr[1], "default", "demo-test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var digest string
	for _, s := range statusOf[workflows.Status](t, c, id).Signals {
		if s.Identity == "c.yilmaz" && s.Accepted {
			digest = s.RunDigest
		}
	}
	if digest == "" {
		t.Fatal("the approval sent with --plan carries no run digest")
	}
	if !strings.Contains(last, "quorum reached (approved by b.schulz, c.yilmaz): the cutover starts") {
		t.Errorf("the last needed approval must say the quorum is reached and what follows: %q", last)
	}
	waitOutput(t, out, "approve by a.meier (update): refused")
	waitOutput(t, out, "approve by c.yilmaz (update): accepted")
	waitOutput(t, out, "quorum reached: approved by b.schulz, c.yilmaz")
	waitOutput(t, out, "soak:")
	if code, _, _ := cli(t, "rollback", id, "--as", "b.schulz", "--reason", "demo test"); code != 0 {
		t.Fatalf("rollback exit %d", code)
	}
	waitOutput(t, out, "The server and Web UI keep running")
	for _, f := range []string{"report.md", "report.html", "SHA256SUMS"} {
		if _, err := os.Stat(filepath.Join(dir, "audit", f)); err != nil {
			t.Fatalf("a rolled-back demo must still write its audit report: %v", err)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the demo ended before Ctrl-C (%v), taking the Web UI away", err)
	case <-time.After(time.Second):
	}
	if code, _, _ := cli(t, "status", id); code != 0 {
		t.Fatalf("status after rollback: exit %d; the server must still answer", code)
	}
	waitListedPhase(t, id, "rolled_back")
	interrupt()
	if err := <-done; err != nil {
		t.Fatalf("Ctrl-C must end the demo without an error, got %v", err)
	}
	if !strings.Contains(out.String(), "rolled_back") {
		t.Fatalf("output lacks the rolled_back phase:\n%s", out.String())
	}
}

// waitListedPhase waits until `umzug status` (the list, read from the
// server's visibility store like the Web UI's list) shows id in phase:
// the UmzugPhase search attribute follows every phase change.
func waitListedPhase(t *testing.T, id, phase string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, out, _ := cli(t, "status", "-o", "json")
		if strings.Contains(out, `"id": "`+id+`",`) && strings.Contains(out, `"phase": "`+phase+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the move list never showed %s in phase %s:\n%s", id, phase, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shellWords splits a command line as a POSIX shell would for the words
// the demo prints: plain words and single-quoted ones.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	in, any := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			in, any = !in, true
		case r == ' ' && !in:
			if any {
				words = append(words, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if in {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if any {
		words = append(words, cur.String())
	}
	return words
}
