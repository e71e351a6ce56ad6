//go:build interop

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// A committed move over real OpenSSH is failed back: only the files
// changed at the partner cross back, the undo commands run in reverse
// order, and the source ends equal to the partner.
func TestInteropFailbackCopiesBackOnlyTheChanges(t *testing.T) {
	it := startInterop(t)
	plan := it.plan(t, true)
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "  soak = \"2s\"\n}", "  failback {\n    from_undo = true\n  }\n  soak = \"2s\"\n}", 1)
	if src == string(b) {
		t.Fatal("plan has no soak line to put the failback block before")
	}
	if err := os.WriteFile(plan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli(t, "run", plan, "--as", "ops.one"); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	it.e.waitPhase(t, payrollID, workflows.PhaseAwaitingApproval)
	if code, _, _ := cli(t, "approve", payrollID, "--as", "ops.two"); code != 0 {
		t.Fatalf("approve: exit %d", code)
	}
	if st := it.e.result(t, payrollID); st.Phase != workflows.PhaseCommitted {
		t.Fatalf("move: phase %s: %s", st.Phase, st.Error)
	}
	// Production ran at the partner for a while.
	if err := os.WriteFile(filepath.Join(it.dstData, "db/journal/2026-11.log"), []byte("written at the partner\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(it.dstData, "exports/partner.csv"), []byte("a;b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fid := workflows.FailbackID(payrollID)
	if code, _, _ := cli(t, "failback", payrollID, "--as", "ops.one"); code != 0 {
		t.Fatalf("failback: exit %d", code)
	}
	it.e.waitPhase(t, fid, workflows.PhaseAwaitingApproval)
	if code, _, _ := cli(t, "approve", fid, "--as", "ops.two"); code != 0 {
		t.Fatalf("approve failback: exit %d", code)
	}
	st := it.e.result(t, fid)
	if st.Phase != workflows.PhaseCommitted || st.FailbackOf != payrollID {
		t.Fatalf("failback: phase %s, of %q: %s", st.Phase, st.FailbackOf, st.Error)
	}
	var copied int64
	for _, c := range st.Copies {
		copied += c.CopiedFiles
	}
	if copied != 2 {
		t.Fatalf("failback copied %d files, want the 2 changed at the partner: %+v", copied, st.Copies)
	}
	if _, err := treecmp.Equal(it.dstData, it.srcData, treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, s := range st.Steps {
		ran = append(ran, s.Kind+" "+s.Name)
	}
	if got := strings.Join(ran, ", "); got != "step undo_start, final_sync data, step undo_stop" {
		t.Fatalf("failback ran %s", got)
	}
	if state(t, it.srcState) != "running" || state(t, it.dstState) != "stopped" {
		t.Fatalf("after failback: source %s, partner %s", state(t, it.srcState), state(t, it.dstState))
	}
}
