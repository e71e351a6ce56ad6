package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// fifoName is a named pipe in the finance share: the copy engine refuses
// it (kind fifo), since its contents are not a file's.
const fifoName = "ledger/feed.fifo"

func makeFIFO(t *testing.T, e *e2e) {
	t.Helper()
	if err := syscall.Mkfifo(filepath.Join(e.env.SourceData(), fifoName), 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

// TestUnacceptedRefusalFailsSeed: without accept_refusals, a FIFO in the
// source fails the seed; the move ends failed before approval with the
// source application untouched, and `umzug status` names the path.
func TestUnacceptedRefusalFailsSeed(t *testing.T) {
	e := startE2E(t)
	makeFIFO(t, e)
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseFailed {
		t.Fatalf("phase %s, want failed (error %q)", st.Phase, st.Error)
	}
	for _, p := range st.Phases {
		if p.Phase == workflows.PhaseAwaitingApproval {
			t.Fatal("a refused seed reached awaiting_approval")
		}
	}
	if len(st.Steps) != 0 {
		t.Fatalf("steps ran after a refused seed: %+v", st.Steps)
	}
	if got := readState(t, e.env.Paderborn); got != "running" {
		t.Fatalf("source app %s, want running", got)
	}
	code, out, _ := cli(t, "status", financeID)
	if code != 0 {
		t.Fatalf("status: exit %d", code)
	}
	for _, want := range []string{"phase       failed", "refused     ledger seed: 1 (fifo 1, not accepted)", fifoName + "  fifo:", "NOT ACCEPTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	code, out, _ = cli(t, "status", financeID, "-o", "json")
	if code != 0 || !strings.Contains(out, `"path": "`+fifoName+`"`) || !strings.Contains(out, `"unaccepted": 1`) {
		t.Fatalf("status -o json: exit %d, lacks the refused path", code)
	}
}

// TestAcceptedRefusalCommitsAndIsAudited: with accept_refusals = ["fifo"]
// the same move commits, the FIFO is left out, and status and the audit
// report list it as accepted.
func TestAcceptedRefusalCommitsAndIsAudited(t *testing.T) {
	e := startE2E(t)
	makeFIFO(t, e)
	plan, err := os.ReadFile(e.env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	accepting := strings.Replace(string(plan), "    delete  = true\n", "    delete  = true\n    accept_refusals = [\"fifo\"]\n", 1)
	if accepting == string(plan) {
		t.Fatal("copy block of the demo plan not found")
	}
	if err := os.WriteFile(e.env.PlanFile, []byte(accepting), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	approveAndCommit(t, e, financeID, "b.schulz")
	if st := e.result(t, financeID); st.Phase != workflows.PhaseCommitted {
		t.Fatalf("phase %s, want committed (error %q)", st.Phase, st.Error)
	}
	if _, err := os.Lstat(filepath.Join(e.env.TargetData(), fifoName)); !os.IsNotExist(err) {
		t.Fatalf("the refused FIFO exists on the target: %v", err)
	}
	skip := append([]string{fifoName}, e.env.Excluded...)
	if _, err := treecmp.Equal(e.env.SourceData(), e.env.TargetData(), treecmp.Options{Skip: skip}); err != nil {
		t.Fatal(err)
	}
	_, out, _ := cli(t, "status", financeID)
	for _, want := range []string{"refused     ledger seed: 1 (fifo 1)", "refused     ledger final_sync: 1 (fifo 1)", fifoName + "  fifo:", "(accepted)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q", want)
		}
	}
	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", financeID, "--out", dir); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	for _, f := range []string{"report.md", "report.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"report.md": "| ledger | final_sync | `" + fifoName + "` | fifo |", "report.json": `"path": "` + fifoName + `"`}[f]
		if !strings.Contains(string(b), want) && !strings.Contains(string(b), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("%s lacks %q", f, want)
		}
	}
}
