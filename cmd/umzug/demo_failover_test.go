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
	if err := runFailoverDemo(context.Background(), out, o); err != nil {
		t.Fatalf("failover demo: %v\n%s", err, out.String())
	}
	got := out.String()
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
