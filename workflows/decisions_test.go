package workflows

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"

	"github.com/umzug-dev/umzug/examples"
	"github.com/umzug-dev/umzug/plans"
)

// currentDetails reads the Web UI's Current Details as the UI does: the
// built-in workflow metadata query.
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	q, err := env.QueryWorkflow("__temporal_workflow_metadata")
	if err != nil {
		t.Errorf("metadata query: %v", err)
		return ""
	}
	var md sdkpb.WorkflowMetadata
	if err := q.Get(&md); err != nil {
		t.Errorf("decode metadata: %v", err)
	}
	return md.GetCurrentDetails()
}

func records(st Status, name string) []SignalRecord {
	var out []SignalRecord
	for _, r := range st.Signals {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// Identities are compared canonically: the starter A.Meier cannot approve
// as a.meier, one person counts once however spelt, and a look-alike
// name with a Cyrillic letter is not the listed approver.
func TestCanonicalIdentities(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.StartedBy = "A.Meier"
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, " B.Schulz ")
	approve(env, 3*time.Minute, "b.schulz")
	approve(env, 4*time.Minute, "\u0441.yilmaz") // Cyrillic с
	approve(env, 5*time.Minute, "ｃ.ｙｉｌｍａｚ")      // full width: NFKC makes it c.yilmaz
	at(env, 2*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "OPS"}) })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	wantRefused(t, st, SignalApprove, `a.meier: four-eyes: "a.meier" is the same identity as A.Meier, who started this move`)
	wantRefused(t, st, SignalApprove, "b.schulz: b.schulz has approved already")
	wantRefused(t, st, SignalApprove, "с.yilmaz is not a listed approver")
	if !slices.Equal(st.Approvals, []string{"b.schulz", "c.yilmaz"}) {
		t.Fatalf("approvals = %v, want the plan's spelling", st.Approvals)
	}
	if got := phaseAt(st, PhaseCutover); !got.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("cutover at %v", got)
	}
	if c := records(st, SignalCommit); len(c) != 1 || !c[0].Accepted {
		t.Fatalf("commit by OPS (listed as ops) = %+v", c)
	}
	if len(f.commands()) != 3 {
		t.Fatalf("commands = %v", f.commands())
	}
}

// A starter whose name looks like a listed approver's (Cyrillic а) is the
// same person for four-eyes: a.meier cannot approve the move.
func TestStarterWithLookAlikeNameCannotBeApproved(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.StartedBy = "\u0430.meier" // Cyrillic а + Latin
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantRefused(t, st, SignalApprove, "a.meier: four-eyes: \"a.meier\" looks like \"\u0430.meier\" (same UTS #39 skeleton)")
	if !slices.Equal(st.Approvals, []string{"b.schulz"}) || len(f.commands()) != 0 {
		t.Fatalf("approvals %v, commands %v", st.Approvals, f.commands())
	}
}

// The quorum was reached for a window in 2030; a listed approver moves the
// window to now. The approvals are void: no cutover until the quorum
// approves the new window, and the history says who voided them.
func TestRescheduleVoidsApprovals(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Window = &Window{NotBefore: time.Date(2030, 1, 5, 18, 0, 0, 0, time.UTC), Duration: 4 * time.Hour}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, time.Hour, func() {
		env.SignalWorkflow(SignalReschedule, map[string]any{"by": "ops", "not_before": t0.Add(time.Hour).Format(time.RFC3339), "duration": "4h"})
	})
	at(env, 90*time.Minute, func() {
		if c := f.commands(); len(c) != 0 {
			t.Errorf("cutover ran on voided approvals: %v", c)
		}
		if d := currentDetails(t, env); !strings.Contains(d, "approvals voided by reschedule by ops (were: a.meier, b.schulz)") ||
			!strings.Contains(d, "approvals: 0 of 2") {
			t.Errorf("details after void:\n%s", d)
		}
	})
	approve(env, 2*time.Hour, "c.yilmaz")
	approve(env, 3*time.Hour, "a.meier")
	at(env, 5*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "a.meier"}) })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if got := phaseAt(st, PhaseCutover); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Fatalf("cutover at %v, want at the new quorum %v", got, t0.Add(3*time.Hour))
	}
	v := records(st, RecordApprovalsVoided)
	if len(v) != 1 || v[0].Identity != "ops" || !strings.Contains(v[0].Comment, "approvals voided by reschedule by ops") {
		t.Fatalf("void records = %+v", v)
	}
	if !slices.Equal(st.Approvals, []string{"c.yilmaz", "a.meier"}) || len(st.Voided) != 2 {
		t.Fatalf("approvals %v, voided %v", st.Approvals, st.Voided)
	}
}

// Commit and rollback are the operators' (the approvers by default):
// nobody and intruder are refused and recorded.
func TestCommitAndRollbackOnlyByOperators(t *testing.T) {
	for _, c := range []struct {
		name      string
		operators []string
		ok        string
		refused   []string
	}{
		{"approvers by default", nil, "C.Yilmaz", []string{"nobody", "intruder"}},
		{"own list", []string{"ops.oncall"}, "Ops.Oncall", []string{"a.meier", "intruder"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _ := newEnv(t)
			in := finance()
			in.Cutover.Approval.Operators = c.operators
			approve(env, time.Minute, "a.meier")
			approve(env, 2*time.Minute, "b.schulz")
			at(env, time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": c.refused[0]}) })
			at(env, 2*time.Hour, func() { env.SignalWorkflow(SignalRollback, map[string]any{"by": c.refused[1], "reason": "x"}) })
			at(env, 3*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": c.ok}) })
			env.ExecuteWorkflow(MoveWorkflow, in)
			st := result(t, env)
			wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
			wantRefused(t, st, SignalCommit, c.refused[0]+": "+c.refused[0]+" may not commit finance")
			wantRefused(t, st, SignalRollback, c.refused[1]+": "+c.refused[1]+" may not rollback finance")
			if got := phaseAt(st, PhaseCommitted); !got.Equal(t0.Add(3 * time.Hour)) {
				t.Fatalf("committed at %v, want by %s at 3h", got, c.ok)
			}
		})
	}
}

// runDigest loads the demo plan with vars and returns its run digest.
func runDigest(t *testing.T, vars map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "finance.hcl")
	if err := os.WriteFile(path, examples.Finance, 0o600); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{path}, plans.LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return p.RunDigest()
}

// An approval computed from other --var values than the move runs with is
// refused; with require_run_digest one without a digest is refused too.
func TestRunDigestBindsApprovals(t *testing.T) {
	reviewed := runDigest(t, map[string]string{"window_start": "2026-12-05T18:00:00+01:00"})
	other := runDigest(t, map[string]string{"window_start": "2026-12-01T09:00:00Z"})
	if reviewed == other {
		t.Fatal("run digest ignores --var values")
	}
	env, _ := newEnv(t)
	in := finance()
	in.RunDigest = reviewed
	in.Cutover.Approval.RequireRunDigest = true
	at(env, time.Minute, func() {
		env.SignalWorkflow(SignalApprove, ApproveSignal{Approver: "a.meier", RunDigest: other})
	})
	approve(env, 2*time.Minute, "b.schulz") // no digest
	at(env, 3*time.Minute, func() {
		if d := currentDetails(t, env); !strings.Contains(d, "run digest: `"+reviewed+"`") || !strings.Contains(d, "approvals must carry the run digest") {
			t.Errorf("details do not show the run digest:\n%s", d)
		}
		env.SignalWorkflow(SignalApprove, ApproveSignal{Approver: "a.meier", RunDigest: reviewed})
		env.SignalWorkflow(SignalApprove, ApproveSignal{Approver: "b.schulz", RunDigest: reviewed})
	})
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantRefused(t, st, SignalApprove, "a.meier: approval is for run digest "+other+", this move runs "+reviewed)
	wantRefused(t, st, SignalApprove, "b.schulz: the plan requires approvals bound to the run digest")
	if !slices.Equal(st.Approvals, []string{"a.meier", "b.schulz"}) || st.RunDigest != reviewed {
		t.Fatalf("approvals %v, run digest %q", st.Approvals, st.RunDigest)
	}
	if r := records(st, SignalApprove); r[0].RunDigest != other {
		t.Fatalf("record does not keep the digest sent: %+v", r[0])
	}
}

// While the move waits, Current Details shows what is being approved;
// during preflight and seed it says approval opens after seed, and an
// approval then is refused with that reason.
func TestCurrentDetailsShowWhatIsApproved(t *testing.T) {
	env, _ := newEnv(t)
	in := finance()
	in.RunDigest = strings.Repeat("ab", 32)
	open := time.Date(2026, 12, 5, 18, 0, 0, 0, time.FixedZone("", 3600))
	in.Cutover.Window = &Window{NotBefore: open, Duration: 4 * time.Hour}
	var waiting string
	at(env, 0, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "a.meier"}) })
	at(env, time.Minute, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "mallory"}) })
	at(env, 2*time.Minute, func() { waiting = currentDetails(t, env); env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	t.Logf("current details while awaiting approval:\n%s", waiting)
	wantRefused(t, st, SignalApprove, "a.meier: approval opens after seed: the move is in phase")
	for _, p := range []string{PhasePreflight, PhaseSeed} {
		early := (&move{in: in, st: Status{Phase: p}}).detailsText()
		if !strings.Contains(early, "**"+p+"**") || !strings.Contains(early, "approval opens after seed: approvals sent now are refused") {
			t.Errorf("details during %s:\n%s", p, early)
		}
	}
	for _, want := range []string{
		"**awaiting_approval**",
		"approvals: 0 of 2; may approve: a.meier, b.schulz, c.yilmaz",
		"window: Sat 2026-12-05 18:00 +01:00 – Sat 2026-12-05 22:00 +01:00 (4h)",
		"predicted cutover: at least 6m50s", "fits (4h of the window left)",
		"1. step stop_app on source fin_pb (10.20.1.15:22), undo on rollback",
		"2. final_sync fin_pb → fin_lg: ledger (/srv/finance/data → /srv/finance/data, verify sha256)",
		"3. step start_app on target fin_lg (10.40.7.21:22)",
		"4. check health on target fin_lg (10.40.7.21:22), up to 3 attempt(s)",
		"seed ledger: 3 files, 3.0 MiB; 3 verified (sha256)",
		"run digest: `" + in.RunDigest + "`",
		"approve by a.meier via signal: **refused**: approval opens after seed",
		"approve by mallory via signal: **refused**: mallory is not a listed approver",
	} {
		if !strings.Contains(waiting, want) {
			t.Errorf("details lack %q:\n%s", want, waiting)
		}
	}
}

// During soak, Current Details shows what the cutover ran (each step and
// the health check with host and verdict, the final sync's counts), so
// whoever decides commit or rollback in the Web UI sees the results.
func TestCurrentDetailsShowResultsDuringSoak(t *testing.T) {
	env, _ := newEnv(t)
	var soaking string
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, time.Hour, func() {
		soaking = currentDetails(t, env)
		env.SignalWorkflow(SignalCommit, map[string]any{"by": "a.meier"})
	})
	env.ExecuteWorkflow(MoveWorkflow, finance())
	if st := result(t, env); st.Phase != PhaseCommitted {
		t.Fatalf("phase %s", st.Phase)
	}
	t.Logf("current details during soak:\n%s", soaking)
	for _, want := range []string{
		"**soak**",
		"- cutover results:",
		"step stop_app on source fin_pb: ok (exit 0)",
		"step start_app on target fin_lg: ok (exit 0)",
		"check health on target fin_lg: healthy (exit 0)",
		"final_sync ledger: 3 copied (3.0 MiB)",
	} {
		if !strings.Contains(soaking, want) {
			t.Errorf("details during soak lack %q", want)
		}
	}
}
