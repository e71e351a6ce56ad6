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
	for _, who := range []string{"a.meier", "b.schulz", "c.yilmaz"} {
		_, last, _ = cli(t, "approve", id, "--as", who, "--comment", "CHG-4711")
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
