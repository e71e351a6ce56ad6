package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

var failoverIDRE = regexp.MustCompile(`failover (umzug/print-center/print/failover/\d{8}T\d{6}Z) started`)

// failover presses the button as who and returns the failover's ID.
func (pc *printCenter) failover(t *testing.T, who, reason string) string {
	t.Helper()
	code, out, _ := cli(t, pc.args("failover", "--app", "print", "--as", who, "--reason", reason)...)
	m := failoverIDRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("failover: exit %d %q", code, out)
	}
	return m[1]
}

func (pc *printCenter) state(t *testing.T, root string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(root, "run/print.state"))
	return strings.TrimSpace(string(b))
}

// TestFailoverSourceUnreachableUsesStandbyCopy: with the source's SSH
// server stopped, the failover skips the source's step and the final sync,
// records why, runs the target's step and check from the last verified
// standby copy, commits, and says so in status and audit. No second
// confirmation comes in time: status and audit show it OVERDUE; the one
// who pressed the button cannot confirm; another approver's late
// confirmation is recorded.
func TestFailoverSourceUnreachableUsesStandbyCopy(t *testing.T) {
	pc := startPrintCenter(t, "1h", "3s")
	sb := pc.startStandby(t)
	copyAt := sb.LastVerified.Finished.UTC().Format(time.RFC3339)
	// Refused and recorded: not an emergency approver.
	if code, _, errOut := cli(t, pc.args("failover", "--app", "print", "--as", "b.schulz")...); code != 1 || !strings.Contains(errOut, "not an emergency approver") {
		t.Fatalf("failover by b.schulz: exit %d %q", code, errOut)
	}
	jobs, err := os.Stat(filepath.Join(pc.src, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pc.src, "jobs/lost.ps"), "written after the last sync\n")
	// Only the new file differs: the directory keeps its time.
	if err := os.Chtimes(filepath.Join(pc.src, "jobs"), jobs.ModTime(), jobs.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := pc.env.Paderborn.Server.Close(); err != nil {
		t.Fatal(err)
	}
	id := pc.failover(t, "k.meier", "fire at OWL-IT")
	st := pc.result(t, id, workflows.PhaseCommitted)
	f := st.Failover
	if f == nil || !f.SourceUnreachable || f.StandbyCopy == nil || f.StandbyCopy.WorkflowID != sb.LastVerified.WorkflowID {
		t.Fatalf("failover state %+v", f)
	}
	if got := strings.Join(f.Skipped, "; "); !strings.Contains(got, "step stop_spool on owl_print: skipped, the source is unreachable") ||
		!strings.Contains(got, "final_sync on owl_print: skipped") {
		t.Fatalf("skipped: %s", got)
	}
	var ran []string
	for _, s := range st.Steps {
		ran = append(ran, s.Kind+" "+s.Name+" on "+s.Host)
	}
	if got := strings.Join(ran, ", "); got != "step start_spool on akdb_print, check spool_ok on akdb_print, check data_present on akdb_print, check tools_ready on akdb_print" {
		t.Fatalf("commands run: %s", got)
	}
	if pc.state(t, pc.akdb) != "running" || pc.state(t, pc.owl) != "running" {
		t.Fatalf("states: AKDB %s, OWL %s", pc.state(t, pc.akdb), pc.state(t, pc.owl))
	}
	if _, err := os.Stat(filepath.Join(pc.dst, "jobs/lost.ps")); !os.IsNotExist(err) {
		t.Fatalf("a file written after the last sync reached the partner: %v", err)
	}
	// The partner holds the standby copy: the source without what came later.
	if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{Skip: []string{"jobs/lost.ps"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(f.ConfirmBy) + time.Second)
	want := []string{"OVERDUE since", "proceeded from the last verified standby copy of " + copyAt, "skipped     step stop_spool"}
	pc.expectStatus(t, id, want...)
	pc.expectAudit(t, id, "OVERDUE since", "proceeded from the last verified standby copy of "+copyAt)

	if code, _, errOut := cli(t, "confirm", id, "--as", "K.Meier"); code != 1 || !strings.Contains(errOut, "started this failover") {
		t.Fatalf("confirm by the presser: exit %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "confirm", id, "--as", "a.huber", "--comment", "CHG-911"); code != 0 {
		t.Fatalf("confirm by a.huber: exit %d", code)
	}
	pc.expectStatus(t, id, "confirmed   by a.huber", "LATE: was OVERDUE since")
	var refused bool
	for _, s := range pc.status(t, id).Signals {
		if s.Name == workflows.SignalConfirm && !s.Accepted && strings.Contains(s.Reason, "started this failover") {
			refused = true
		}
	}
	if !refused {
		t.Fatal("the refused confirmation is not recorded")
	}
	pc.expectAudit(t, id, "confirmed LATE by a.huber", "emergency_approval", "refused by the workflow: K.Meier started this failover")
	if rec := pc.standby(t); rec.FailedOver != id || !rec.Paused {
		t.Fatalf("standby record after failover: %+v", rec)
	}
}

// TestFailoverSourceReachableRunsLastDelta: with the source up, the
// failover runs the source step, the last delta and the target's step and
// check, and commits with byte-identical trees; a second approver's timely
// confirmation shows who and when.
func TestFailoverSourceReachableRunsLastDelta(t *testing.T) {
	pc := startPrintCenter(t, "1h", "2h")
	pc.startStandby(t)
	writeFile(t, filepath.Join(pc.src, "jobs/last.ps"), "the last job before the switch\n")
	id := pc.failover(t, "s.wolf", "peak load at OWL-IT")
	st := pc.result(t, id, workflows.PhaseCommitted)
	var ran []string
	for _, s := range st.Steps {
		ran = append(ran, s.Kind+" "+s.Name+" on "+s.Host)
	}
	if got := strings.Join(ran, ", "); got != "step announce on owl_print, step stop_spool on owl_print, final_sync print on akdb_print, step start_spool on akdb_print, check spool_ok on akdb_print, check data_present on akdb_print, check tools_ready on akdb_print" {
		t.Fatalf("commands run: %s", got)
	}
	if st.Failover.SourceUnreachable || len(st.Failover.Skipped) > 0 {
		t.Fatalf("failover state %+v", st.Failover)
	}
	if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	if pc.state(t, pc.akdb) != "running" || pc.state(t, pc.owl) != "stopped" {
		t.Fatalf("states: AKDB %s, OWL %s", pc.state(t, pc.akdb), pc.state(t, pc.owl))
	}
	pc.expectStatus(t, id, "confirm     due by")
	if code, _, errOut := cli(t, "confirm", id, "--as", "s.wolf"); code != 1 || !strings.Contains(errOut, "started this failover") {
		t.Fatalf("confirm by the presser: exit %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "confirm", id, "--as", "k.meier"); code != 0 {
		t.Fatalf("confirm: exit %d", code)
	}
	pc.expectStatus(t, id, "confirmed   by k.meier at")
	pc.expectAudit(t, id, "confirmed by k.meier at", "Source | reachable")
	// Confirmed: the failover ends.
	if st := pc.e2e.result(t, id); st.Failover.ConfirmedBy != "k.meier" {
		t.Fatalf("final state %+v", st.Failover)
	}
}

// result waits until the failover reaches phase (it stays open for the
// confirmation afterwards).
func (pc *printCenter) result(t *testing.T, id, phase string) workflows.Status {
	t.Helper()
	return pc.waitPhase(t, id, phase)
}

func (pc *printCenter) expectStatus(t *testing.T, id string, want ...string) {
	t.Helper()
	code, out, _ := cli(t, "status", id)
	for _, w := range want {
		if code != 0 || !strings.Contains(out, w) {
			t.Fatalf("status of %s: exit %d, want %q in\n%s", id, code, w, out)
		}
	}
}

func (pc *printCenter) expectAudit(t *testing.T, id string, want ...string) {
	t.Helper()
	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", id, "--out", dir); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Fatalf("audit of %s lacks %q:\n%s", id, w, b)
		}
	}
}
