package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

func wantPhases(t *testing.T, st Status, want ...string) {
	t.Helper()
	if got := phases(st); !slices.Equal(got, want) {
		t.Fatalf("phases = %v, want %v (error: %s)", got, want, st.Error)
	}
}

func wantRefused(t *testing.T, st Status, name, substr string) {
	t.Helper()
	for _, r := range refusals(st, name) {
		if strings.Contains(r, substr) {
			return
		}
	}
	t.Fatalf("no refused %s containing %q; refusals: %q", name, substr, refusals(st, name))
}

// Quorum 2 needs two distinct listed approvers; the same approver twice,
// the starter (four-eyes), an unlisted person and a wrong plan digest are
// refused and recorded. Then the cutover runs and a commit ends the soak.
func TestQuorumRefusalsAndCommit(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "a.meier")
	approve(env, 3*time.Minute, "ops")
	approve(env, 4*time.Minute, "mallory")
	at(env, 5*time.Minute, func() {
		env.SignalWorkflow(SignalApprove, ApproveSignal{Approver: "b.schulz", PlanSHA256: "deadbeef"})
	})
	at(env, 6*time.Minute, func() {
		q, err := env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Errorf("query: %v", err)
			return
		}
		var st Status
		_ = q.Get(&st)
		if st.Phase != PhaseAwaitingApproval || st.ApprovalsNeeded != 1 || !slices.Equal(st.PendingApprovers, []string{"b.schulz", "c.yilmaz"}) {
			t.Errorf("after one approval: phase %s, needed %d, pending %v", st.Phase, st.ApprovalsNeeded, st.PendingApprovers)
		}
		if got := f.commands(); len(got) != 0 {
			t.Errorf("commands ran before quorum: %v", got)
		}
	})
	at(env, 7*time.Minute, func() {
		env.SignalWorkflow(SignalApprove, ApproveSignal{Approver: "b.schulz", PlanSHA256: planSHA, Comment: "CHG-4711"})
	})
	approve(env, 8*time.Minute, "c.yilmaz") // after quorum: the move is in soak
	at(env, 2*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "a.meier"}) })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)

	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if !slices.Equal(st.Approvals, []string{"a.meier", "b.schulz"}) {
		t.Fatalf("approvals = %v", st.Approvals)
	}
	wantRefused(t, st, SignalApprove, "a.meier: a.meier has approved already; already counted (1 of 2)")
	wantRefused(t, st, SignalApprove, "ops: four-eyes: ops started this move")
	wantRefused(t, st, SignalApprove, "mallory: mallory is not a listed approver")
	wantRefused(t, st, SignalApprove, "approval is for plan sha256 deadbeef, this move runs "+planSHA)
	wantRefused(t, st, SignalApprove, "c.yilmaz: move is in phase soak; approve is accepted only in awaiting_approval")
	if got := phaseAt(st, PhaseCutover); !got.Equal(t0.Add(7 * time.Minute)) {
		t.Fatalf("cutover began at %v, want at the second approval %v", got, t0.Add(7*time.Minute))
	}
	if got := phaseAt(st, PhaseCommitted); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("committed at %v, want at the commit signal", got)
	}
	wantCmds := []string{"step stop_app", "step start_app", "check health (attempt 1/3)"}
	if got := f.commands(); !slices.Equal(got, wantCmds) {
		t.Fatalf("commands = %v, want %v", got, wantCmds)
	}
	if len(st.Steps) != 4 || st.Steps[0].Host != "fin_pb" || st.Steps[1].Kind != BlockFinalSync || st.Steps[2].Command != "systemctl start finance" {
		t.Fatalf("steps = %+v", st.Steps)
	}
	if len(st.Copies) != 2 || st.Copies[0].Phase != contract.PhaseSeed || st.Copies[1].Phase != contract.PhaseFinalSync {
		t.Fatalf("copies = %+v", st.Copies)
	}
	// final_sync deletes, the seed never does; the copy runs on the target's side.
	for _, c := range f.find(contract.NameCopyTree, "") {
		if c.Host != "fin_lg" {
			t.Fatalf("copy ran for host %s", c.Host)
		}
	}
	last := st.Signals[len(st.Signals)-1]
	if last.Name != SignalCommit || !last.Accepted || last.Identity != "a.meier" || last.Via != "signal" {
		t.Fatalf("last record = %+v", last)
	}
	if st.Signals[0].Comment != "change 4711" || !st.Signals[0].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("first record = %+v", st.Signals[0])
	}
}

// The Web UI's JSON decodes into the payload types.
func TestSignalJSON(t *testing.T) {
	var a ApproveSignal
	if err := json.Unmarshal([]byte(`{"approver": "a.meier", "comment": "change 4711"}`), &a); err != nil || a.Approver != "a.meier" || a.Comment != "change 4711" {
		t.Fatalf("approve: %+v %v", a, err)
	}
	var r RescheduleSignal
	if err := json.Unmarshal([]byte(`{"by": "a.meier", "not_before": "2026-12-12T18:00:00+01:00", "duration": "4h"}`), &r); err != nil || r.Duration != "4h" || r.NotBefore.Hour() != 18 {
		t.Fatalf("reschedule: %+v %v", r, err)
	}
}

func TestRejectChangesNothing(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	at(env, 2*time.Minute, func() {
		env.SignalWorkflow(SignalReject, map[string]any{"approver": "b.schulz", "reason": "year-end closing"})
	})
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseRejected)
	if got := f.commands(); len(got) != 0 {
		t.Fatalf("commands ran on a rejected move: %v", got)
	}
	if !strings.Contains(st.Error, "rejected by b.schulz: year-end closing") {
		t.Fatalf("error = %q", st.Error)
	}
}

func TestApprovalTimeoutExpires(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseExpired)
	if got := phaseAt(st, PhaseExpired); !got.Equal(t0.Add(72 * time.Hour)) {
		t.Fatalf("expired at %v, want t0+72h", got)
	}
	if len(f.commands()) != 0 || !strings.Contains(st.Error, "1 of 2 approvals") {
		t.Fatalf("commands %v, error %q", f.commands(), st.Error)
	}
}

// Signals outside their phase are refused with the phase; an approval
// during seed is refused (not held for later).
func TestSignalsOutsidePhase(t *testing.T) {
	env, _ := newEnv(t)
	in := finance()
	in.Cutover.Approval = nil // rehearsal: no wait
	in.Soak = time.Hour
	at(env, 0, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "a.meier"}) })
	at(env, 30*time.Minute, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "a.meier"}) })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	wantRefused(t, st, SignalApprove, "a.meier: move is in phase soak; approve is accepted only in awaiting_approval")
	if r := refusals(st, SignalApprove); len(r) != 2 || !strings.Contains(r[0], "accepted only in awaiting_approval") {
		t.Fatalf("refusals = %q", r)
	}
}

// A window in the future holds the cutover until it opens.
func TestWindowDelaysCutover(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	open := t0.Add(10 * time.Hour)
	in.Cutover.Window = &Window{NotBefore: open, Duration: 4 * time.Hour}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, 5*time.Hour, func() {
		q, _ := env.QueryWorkflow(QueryStatus)
		var st Status
		_ = q.Get(&st)
		if !strings.Contains(st.WindowNote, "waiting for window opening at 2026-12-01T19:00:00Z") {
			t.Errorf("window note = %q", st.WindowNote)
		}
	})
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	first := f.find("RunCommand", "step ")
	if len(first) == 0 || first[0].At.Before(open) {
		t.Fatalf("first cutover command at %v, window opens %v", first, open)
	}
	if got := phaseAt(st, PhaseCutover); got.Before(open) {
		t.Fatalf("cutover phase at %v before window %v", got, open)
	}
	if !strings.Contains(st.WindowNote, "cutover predicted") {
		t.Fatalf("window note = %q", st.WindowNote)
	}
}

// A window too short for the predicted cutover does not start it; a
// reschedule to a longer window voids the approvals, and the cutover
// starts in the new window once the quorum approved again.
func TestWindowTooShortThenReschedule(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Window = &Window{NotBefore: t0, Duration: 30 * time.Minute}
	f.seedRate = 1 << 20      // 1 MiB/s measured during seed
	f.changedBytes = 10 << 30 // 10 GiB changed: ~2h50m
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	newOpen := t0.Add(24 * time.Hour)
	at(env, time.Hour, func() {
		q, _ := env.QueryWorkflow(QueryStatus)
		var st Status
		_ = q.Get(&st)
		if !strings.Contains(st.WindowNote, "predicted 2h57m30s (stop 2m, final sync 2h51m10s, start 1m, checks 3m20s)") || !strings.Contains(st.WindowNote, "window closes in 28m") {
			t.Errorf("window note = %q", st.WindowNote)
		}
		if len(f.commands()) != 0 {
			t.Errorf("cutover started in a too short window: %v", f.commands())
		}
		env.SignalWorkflow(SignalReschedule, map[string]any{"by": "mallory", "not_before": newOpen.Format(time.RFC3339), "duration": "6h"})
		env.SignalWorkflow(SignalReschedule, map[string]any{"by": "c.yilmaz", "not_before": newOpen.Format(time.RFC3339), "duration": "6h", "comment": "CHG-4712"})
	})
	approve(env, 2*time.Hour, "a.meier")
	approve(env, 3*time.Hour, "c.yilmaz")
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	wantRefused(t, st, SignalReschedule, "mallory is not a listed approver")
	if !slices.Equal(st.Approvals, []string{"a.meier", "c.yilmaz"}) {
		t.Fatalf("approvals = %v, want the ones given after the reschedule", st.Approvals)
	}
	if got := phaseAt(st, PhaseCutover); !got.Equal(newOpen) {
		t.Fatalf("cutover at %v, want at the new window %v", got, newOpen)
	}
	if st.Window == nil || st.Window.Duration != 6*time.Hour {
		t.Fatalf("window = %+v", st.Window)
	}
}

func failHealth(in contract.CommandInput) int {
	if strings.HasPrefix(in.Purpose, "check health") {
		return 7
	}
	return 0
}

func TestFailingCheckRollsBackInReverse(t *testing.T) {
	env, f := newEnv(t)
	f.exit = failHealth
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseRolledBack)
	want := []string{"step stop_app", "step start_app", "check health (attempt 1/3)", "check health (attempt 2/3)",
		"check health (attempt 3/3)", "undo start_app", "undo stop_app"}
	if got := f.commands(); !slices.Equal(got, want) {
		t.Fatalf("commands = %v, want %v", got, want)
	}
	if !slices.Equal(st.Undone, []string{"undo start_app on fin_lg: exit 0", "undo stop_app on fin_pb: exit 0"}) {
		t.Fatalf("undone = %v", st.Undone)
	}
	if !strings.Contains(st.Error, "check health on fin_lg failed all 3 attempts") || !strings.Contains(st.Error, "exited 7: curl: (7)") {
		t.Fatalf("error = %q", st.Error)
	}
	// Attempts are 10s apart in workflow time.
	checks := f.find("RunCommand", "check health")
	if d := checks[2].At.Sub(checks[0].At); d != 20*time.Second {
		t.Fatalf("attempts spread over %v, want 20s", d)
	}
	if len(st.Steps) != 8 || st.Steps[7].Kind != "undo" || st.Steps[7].Host != "fin_pb" {
		t.Fatalf("steps = %+v", st.Steps)
	}
}

// An undo that keeps failing and a step without undo go to a human.
func TestRollbackManualAttention(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Approval = nil
	in.Cutover.Blocks = slices.Insert(in.Cutover.Blocks, 1, Block{Kind: BlockStep, Name: "dns", On: "source", Run: "dnsswitch fin"})
	f.exit = func(c contract.CommandInput) int {
		if c.Purpose == "undo stop_app" {
			return 1
		}
		return failHealth(c)
	}
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	if st.Phase != PhaseRolledBack {
		t.Fatalf("phase %s", st.Phase)
	}
	if len(f.find("RunCommand", "undo stop_app")) != UndoAttempts {
		t.Fatalf("undo stop_app ran %d times", len(f.find("RunCommand", "undo stop_app")))
	}
	if !slices.Equal(st.Undone, []string{"undo start_app on fin_lg: exit 0"}) || len(st.ManualAttention) != 2 ||
		!strings.Contains(st.ManualAttention[0], "step dns has no undo") ||
		!strings.Contains(st.ManualAttention[1], "undo stop_app on fin_pb failed 3 times (exit 1") {
		t.Fatalf("undone %v, attention %q", st.Undone, st.ManualAttention)
	}
}

func TestFailedFinalSyncRollsBack(t *testing.T) {
	env, f := newEnv(t)
	f.copyErr = func(in contract.CopyInput) error {
		if in.Phase == contract.PhaseFinalSync {
			return nonRetryable("sha256 mismatch after recopy: /srv/finance/data/ledger.db")
		}
		return nil
	}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseRolledBack)
	if got := f.commands(); !slices.Equal(got, []string{"step stop_app", "undo stop_app"}) {
		t.Fatalf("commands = %v", got)
	}
	if !strings.Contains(st.Error, "final_sync of copy set ledger to fin_lg failed") || !slices.Equal(st.Undone, []string{"undo stop_app on fin_pb: exit 0"}) {
		t.Fatalf("error %q undone %v", st.Error, st.Undone)
	}
}

func TestSeedFailureChangesNothing(t *testing.T) {
	env, f := newEnv(t)
	f.copyErr = func(in contract.CopyInput) error { return nonRetryable("target fin_lg has 1 GiB free") }
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseFailed)
	if len(f.commands()) != 0 || strings.Contains(st.Error, "activity error") || !strings.Contains(st.Error, "seed of copy set ledger (/srv/finance/data on fin_pb → /srv/finance/data on fin_lg) failed: target fin_lg has 1 GiB free") || !strings.Contains(st.Error, "nothing changed on the source") {
		t.Fatalf("commands %v error %q", f.commands(), st.Error)
	}
}

func TestManualRollbackDuringSoak(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{}) }) // no identity: refused
	at(env, 3*time.Hour, func() {
		env.SignalWorkflow(SignalRollback, map[string]any{"by": "a.meier", "reason": "invoices print blank"})
	})
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseRolledBack)
	if got := phaseAt(st, PhaseRolledBack); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Fatalf("rolled back at %v", got)
	}
	if !slices.Equal(st.Undone, []string{"undo start_app on fin_lg: exit 0", "undo stop_app on fin_pb: exit 0"}) ||
		st.Error != "manual rollback by a.meier during soak: invoices print blank" {
		t.Fatalf("undone %v error %q", st.Undone, st.Error)
	}
	wantRefused(t, st, SignalCommit, `commit needs who decides`)
	if st.SoakUntil == nil || !st.SoakUntil.Equal(t0.Add(2*time.Minute+24*time.Hour)) {
		t.Fatalf("soak until %v", st.SoakUntil)
	}
	_ = f
}

func TestSoakEndsCommitted(t *testing.T) {
	env, _ := newEnv(t)
	in := finance()
	in.Cutover.Approval = nil
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if got := phaseAt(st, PhaseCommitted); !got.Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("committed at %v", got)
	}
}

func TestCancelDuringSoakRollsBack(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Approval = nil
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseRolledBack)
	if got := f.commands(); !slices.Equal(got[len(got)-2:], []string{"undo start_app", "undo stop_app"}) || st.Error != "move cancelled during soak" {
		t.Fatalf("commands %v error %q", got, st.Error)
	}
}

func TestCancelWhileAwaitingApproval(t *testing.T) {
	env, f := newEnv(t)
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseRejected)
	if len(f.commands()) != 0 || !strings.Contains(st.Error, "cancelled") {
		t.Fatalf("commands %v error %q", f.commands(), st.Error)
	}
}

// The CLI's updates (and the Web UI's Send an Update): a refused update is
// accepted, recorded by the workflow and completes with the reason as a
// Refused failure; an accepted update returns the status.
func TestUpdates(t *testing.T) {
	env, _ := newEnv(t)
	var refused error
	var accepted Status
	at(env, time.Minute, func() {
		env.UpdateWorkflow(SignalApprove, "u1", &testsuiteCallbacks{
			reject: func(err error) { t.Errorf("validator rejected (leaves no history): %v", err) },
			done:   func(_ any, err error) { refused = err },
		}, ApproveSignal{Approver: "ops"})
	})
	at(env, 3*time.Minute, func() {
		env.UpdateWorkflow(SignalApprove, "u2", &testsuiteCallbacks{
			reject: func(err error) { t.Errorf("a.meier refused: %v", err) },
			done: func(v any, err error) {
				if err != nil {
					t.Errorf("update failed: %v", err)
					return
				}
				accepted = v.(Status)
			},
		}, ApproveSignal{Approver: "a.meier", Comment: "CHG-4711"})
	})
	at(env, 4*time.Minute, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	var app *temporal.ApplicationError
	if !errors.As(refused, &app) || app.Type() != contract.ErrRefused || !strings.Contains(app.Error(), "four-eyes: ops started this move") {
		t.Fatalf("refused update outcome = %v", refused)
	}
	if !slices.Equal(accepted.Approvals, []string{"a.meier"}) || accepted.ApprovalsNeeded != 1 {
		t.Fatalf("update result = %+v", accepted)
	}
	if len(st.Signals) != 2 {
		t.Fatalf("records = %+v", st.Signals)
	}
	r0, r1 := st.Signals[0], st.Signals[1]
	if r0.Accepted || r0.Via != "update" || r0.Identity != "ops" || !strings.Contains(r0.Reason, "four-eyes") ||
		!r1.Accepted || r1.Via != "update" || r1.Comment != "CHG-4711" {
		t.Fatalf("records = %+v", st.Signals)
	}
}

// testsuiteCallbacks adapts closures to testsuite.UpdateCallbacks.
type testsuiteCallbacks struct {
	reject func(error)
	done   func(any, error)
}

func (c *testsuiteCallbacks) Accept() {}
func (c *testsuiteCallbacks) Reject(err error) {
	if c.reject != nil {
		c.reject(err)
	}
}
func (c *testsuiteCallbacks) Complete(v any, err error) {
	if c.done != nil {
		c.done(v, err)
	}
}

// The identity state each seed reports reaches that set's window estimate
// and final sync unchanged: the final sync trusts the state file on the
// target only when it hashes to what the seed wrote into history.
func TestFinalSyncGetsTheSeedsIdentState(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Window = &Window{NotBefore: t0, Duration: 6 * time.Hour}
	states := map[string]*contract.IdentState{}
	f.seedState = func(ci contract.CopyInput) *contract.IdentState {
		sum := sha256.Sum256([]byte("state of " + ci.Set.Name))
		s := &contract.IdentState{SHA256: hex.EncodeToString(sum[:]), Records: int64(len(ci.Set.Name))}
		states[ci.Set.Name] = s
		return s
	}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	var finals, estimates int
	for _, c := range f.calls {
		switch {
		case c.Name == contract.NameCopyTree && c.Phase == contract.PhaseSeed:
			if c.IdentState != nil {
				t.Errorf("seed of %s was given state %+v", c.Purpose, c.IdentState)
			}
		case c.Name == contract.NameCopyTree && c.Phase == contract.PhaseFinalSync, c.Name == contract.NameEstimateDelta:
			want := states[c.Purpose]
			if want == nil || c.IdentState == nil || *c.IdentState != *want {
				t.Errorf("%s of %s was given state %+v, want the seed's %+v", c.Name, c.Purpose, c.IdentState, want)
			}
			if c.Name == contract.NameEstimateDelta {
				estimates++
			} else {
				finals++
			}
		}
	}
	if finals != len(in.Copies) || estimates != len(in.Copies) || len(states) != len(in.Copies) {
		t.Fatalf("%d final syncs, %d estimates, %d seeds reported states; want %d each", finals, estimates, len(states), len(in.Copies))
	}
	for _, c := range st.Copies {
		if c.Phase == contract.PhaseSeed && (c.IdentState == nil || *c.IdentState != *states[c.Set]) {
			t.Errorf("status keeps seed state %+v of %s, want %+v", c.IdentState, c.Set, states[c.Set])
		}
	}
}
