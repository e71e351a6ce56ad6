package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// TestFailoverDemoEndsWithBothSitesEqual plays `umzug demo --scenario
// failover --auto-approve`: a standby keeps AKDB warm, OWL-IT goes down,
// the failover proceeds from the last verified copy, AKDB takes new jobs,
// and the failback copies back only those; both sites end equal and both
// audits replay.
func TestFailoverDemoEndsWithBothSitesEqual(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{
		embedded: embeddedOptions{port: 0, noUI: true}, // any free port, bound by the server
		dir:      dir, paderbornAddr: "127.0.0.1:0", lemgoAddr: "127.0.0.1:0",
		scale: 1, autoApprove: true, scenario: "failover",
	}
	out := &lockedBuffer{}
	stderr := captureStderr(t)
	err := runFailoverDemo(context.Background(), out, o)
	errOut := stderr()
	if err != nil {
		t.Fatalf("failover demo: %v\n%s", err, out.String())
	}
	got := out.String()
	// The failover's probe of the lost site fails on purpose; the SDK's
	// report of it goes to the demo's SDK log, not into the story.
	for name, text := range map[string]string{"output": got, "stderr": errOut} {
		if strings.Contains(text, `msg="Activity error."`) {
			t.Errorf("the demo's %s holds SDK log lines:\n%s", name, text)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "temporal-sdk.log")); err != nil || !strings.Contains(string(b), `msg="Activity error."`) {
		t.Errorf("the SDK log lacks the probe's activity errors (%v):\n%s", err, b)
	}
	// A sync that started while the jobs were written may carry some of
	// them, the next one the rest.
	if !regexp.MustCompile(`standby: the next (\d )?syncs? copied 4 files`).MatchString(got) {
		t.Errorf("demo output lacks the sync of the 4 new jobs:\n%s", got)
	}
	for _, want := range []string{
		"failover committed: the source did not answer; proceeded from the last verified standby copy of",
		"step stop_spool on owl_print: skipped, the source is unreachable",
		"second confirmation by s.wolf recorded",
		"failback committed: 3 files copied back from AKDB (only what changed there)",
		"OWL-IT equals AKDB:",
		"audit-failover/report.md", "audit-failback/report.md", "replay consistent",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "replay inconsistent") {
		t.Errorf("an audit replay failed:\n%s", got)
	}
	if _, err := treecmp.Equal(filepath.Join(dir, "owl/srv/print"), filepath.Join(dir, "akdb/srv/print"), treecmp.Options{}); err != nil {
		t.Fatalf("sites differ after the demo: %v", err)
	}
	for _, f := range []string{"audit-failover/report.md", "audit-failback/report.md"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "ailback of") && !strings.Contains(string(b), "ailed back by") {
			t.Errorf("%s does not link the other move:\n%s", f, b)
		}
	}
}

// TestFailoverDemoCountsASyncThatOverlapsTheWrites: a sync that started
// just before the new jobs were written but listed the tree after them
// carries them; the sync after it copies nothing. The demo counts both.
func TestFailoverDemoCountsASyncThatOverlapsTheWrites(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 19, 20, 15, 200e6, time.UTC)
	first := workflows.StandbySync{WorkflowID: "sync-a", Started: t0.Add(-2 * time.Second), Finished: t0.Add(-time.Second), CopiedFiles: 164}
	overlap := workflows.StandbySync{WorkflowID: "sync-b", Started: t0.Add(-100 * time.Millisecond), Finished: t0.Add(time.Second), CopiedFiles: 4}
	next := workflows.StandbySync{WorkflowID: "sync-c", Started: t0.Add(5 * time.Second), Finished: t0.Add(6 * time.Second)}
	w := syncsAfter{t0: t0}
	for i, sb := range []*workflows.StandbySync{nil, &first, &overlap, &overlap, &overlap} {
		if w.add(workflows.StandbyStatus{LastVerified: sb}) {
			t.Fatalf("poll %d: done before a sync that started after the writes", i)
		}
	}
	if !w.add(workflows.StandbyStatus{LastVerified: &next}) {
		t.Fatal("a sync that started after the writes does not end the wait")
	}
	var copied int64
	for _, s := range w.syncs {
		copied += s.CopiedFiles
	}
	if len(w.syncs) != 2 || copied != 4 {
		t.Fatalf("counted %d syncs with %d files, want 2 syncs with the 4 new jobs: %+v", len(w.syncs), copied, w.syncs)
	}
}

// captureStderr sends the process's stderr to a file until the returned
// function is called, which restores it and returns what was written.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = f
	return func() string {
		os.Stderr = saved
		b, _ := os.ReadFile(f.Name())
		f.Close()
		return string(b)
	}
}

// TestFailoverDemoWaitsForTheButton: without --auto the demo loses OWL-IT
// and then waits, printing how to press failover in the Web UI and from a
// shell; the printed shell command, run as printed, presses it and the
// story goes on to the end.
func TestFailoverDemoWaitsForTheButton(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{
		embedded: embeddedOptions{port: 0, noUI: true},
		dir:      dir, paderbornAddr: "127.0.0.1:0", lemgoAddr: "127.0.0.1:0",
		scale: 1, scenario: "failover",
	}
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- runFailoverDemo(ctx, out, o) }()
	waitOutput(t, out, "The demo waits for the press")
	m := regexp.MustCompile(`(?m)^      TEMPORAL_ADDRESS=(\S+) TEMPORAL_NAMESPACE=(\S+) umzug (failover .*)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the demo printed no failover command:\n%s", out.String())
	}
	time.Sleep(2 * time.Second)
	if strings.Contains(out.String(), "failover pressed by") {
		t.Fatalf("the demo pressed the button itself:\n%s", out.String())
	}
	t.Setenv("TEMPORAL_ADDRESS", m[1])
	t.Setenv("TEMPORAL_NAMESPACE", m[2])
	if code, _, errOut := cli(t, shellWords(t, m[3])...); code != 0 {
		t.Fatalf("the printed failover command: exit %d %q", code, errOut)
	}
	waitOutput(t, out, "failover pressed by k.meier (emergency approver)")
	waitOutput(t, out, "OWL-IT equals AKDB")
	waitOutput(t, out, "The server and Web UI keep running")
	interrupt()
	if err := <-done; err != nil {
		t.Fatalf("Ctrl-C must end the demo without an error, got %v", err)
	}
}
