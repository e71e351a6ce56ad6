package workflows

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// refusingCopy makes CopyTree report, per phase, the refusals given; the
// copy itself succeeds, as a copy whose kinds the engine accepted does.
func refusingCopy(f *fakes, byPhase map[string][]contract.Refusal) {
	f.env.OnActivity(contract.NameCopyTree, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in contract.CopyInput) (contract.CopyResult, error) {
			res, err := f.copyTree(ctx, in)
			for _, r := range byPhase[in.Phase] {
				if res.RefusedByKind == nil {
					res.RefusedByKind = map[string]int64{}
				}
				res.RefusedByKind[r.Kind]++
				res.Refused++
				r.Accepted = slices.Contains(in.Set.AcceptRefusals, r.Kind)
				res.RefusalList = append(res.RefusalList, r)
			}
			return res, err
		})
}

var pipe = contract.Refusal{Path: "run/app.fifo", Kind: contract.RefusalFIFO, Reason: "named pipe"}

// approveAndCommit drives a move through approval and soak.
func approveAndCommit(env interface {
	SignalWorkflow(string, interface{})
}, sched func(time.Duration, func())) {
	sched(time.Minute, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "a.meier"}) })
	sched(2*time.Minute, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": "b.schulz"}) })
	sched(time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "a.meier"}) })
}

// A seed that left out an entry the plan does not accept fails the move
// before approval: nothing ran on the source, and status names the path.
func TestUnacceptedSeedRefusalFailsBeforeApproval(t *testing.T) {
	env, f := newEnv(t)
	refusingCopy(f, map[string][]contract.Refusal{contract.PhaseSeed: {pipe}})
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)

	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseFailed)
	if got := f.commands(); len(got) != 0 {
		t.Fatalf("commands ran on a refused seed: %v", got)
	}
	for _, want := range []string{"run/app.fifo (fifo)", "accept_refusals", "nothing changed on the source"} {
		if !strings.Contains(st.Error, want) {
			t.Fatalf("error %q does not contain %q", st.Error, want)
		}
	}
	if len(st.Refusals) != 1 || st.Refusals[0].Unaccepted != 1 || st.Refusals[0].Paths[0].Path != pipe.Path || st.Refusals[0].Paths[0].Accepted {
		t.Fatalf("status refusals = %+v, want the fifo, not accepted", st.Refusals)
	}
}

// Accepted kinds do not stop the move; status lists them as accepted.
func TestAcceptedRefusalsCommitAndAreListed(t *testing.T) {
	env, f := newEnv(t)
	refusingCopy(f, map[string][]contract.Refusal{contract.PhaseSeed: {pipe}, contract.PhaseFinalSync: {pipe}})
	approveAndCommit(env, func(d time.Duration, fn func()) { at(env, d, fn) })
	in := finance()
	in.Copies[0].AcceptRefusals = []string{contract.RefusalFIFO}
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)

	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if len(st.Refusals) != 2 {
		t.Fatalf("status refusals = %+v, want one per phase", st.Refusals)
	}
	for _, r := range st.Refusals {
		if r.Unaccepted != 0 || r.Total != 1 || r.ByKind[contract.RefusalFIFO] != 1 || !r.Paths[0].Accepted {
			t.Fatalf("refusals of %s = %+v, want the fifo accepted", r.Phase, r)
		}
	}
}

// An unaccepted refusal in final_sync rolls the cutover back: the source
// application is started again and the move never commits.
func TestUnacceptedFinalSyncRefusalRollsBack(t *testing.T) {
	env, f := newEnv(t)
	unreadable := contract.Refusal{Path: "payroll-2026", Kind: contract.RefusalUnreadable, Reason: "permission denied"}
	refusingCopy(f, map[string][]contract.Refusal{contract.PhaseFinalSync: {unreadable}})
	approveAndCommit(env, func(d time.Duration, fn func()) { at(env, d, fn) })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)

	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseRolledBack)
	if got := f.commands(); !slices.Equal(got, []string{"step stop_app", "undo stop_app"}) {
		t.Fatalf("commands = %v, want stop then its undo", got)
	}
	if !strings.Contains(st.Error, "payroll-2026 (unreadable)") {
		t.Fatalf("error %q does not name the refused directory", st.Error)
	}
}

// A seed accepts entries that changed while listed (final_sync copies
// them with the application stopped); a final_sync does not.
func TestChangedIsAcceptedOnlyBySeed(t *testing.T) {
	env, f := newEnv(t)
	changed := contract.Refusal{Path: "ledger.db", Kind: contract.RefusalChanged, Reason: "size changed while copying"}
	refusingCopy(f, map[string][]contract.Refusal{contract.PhaseSeed: {changed}, contract.PhaseFinalSync: {changed}})
	approveAndCommit(env, func(d time.Duration, fn func()) { at(env, d, fn) })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)

	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseRolledBack)
	if len(st.Refusals) != 2 || st.Refusals[0].Unaccepted != 0 || st.Refusals[1].Unaccepted != 1 {
		t.Fatalf("status refusals = %+v", st.Refusals)
	}
}

// An engine that counts refusals without kinds is never trusted to have
// left out only harmless entries.
func TestUnclassifiedRefusalsFail(t *testing.T) {
	env, f := newEnv(t)
	f.env.OnActivity(contract.NameCopyTree, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in contract.CopyInput) (contract.CopyResult, error) {
			res, err := f.copyTree(ctx, in)
			res.Refused, res.Refusals = 1, []string{"dev/sda: device"}
			return res, err
		})
	in := finance()
	in.Copies[0].AcceptRefusals = contract.RefusalKinds
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseFailed)
	if st.Refusals[0].ByKind[refusalKindUnclassified] != 1 {
		t.Fatalf("status refusals = %+v", st.Refusals)
	}
}

// When the copy activity itself fails a refused copy, the refused paths
// it returns as error details reach the status.
func TestRefusedCopyErrorDetailsReachStatus(t *testing.T) {
	env, f := newEnv(t)
	f.copyErr = func(in contract.CopyInput) error {
		res := contract.CopyResult{Set: in.Set.Name, Phase: in.Phase, Refused: 1,
			RefusedByKind: map[string]int64{contract.RefusalSocket: 1},
			RefusalList:   []contract.Refusal{{Path: "run/app.sock", Kind: contract.RefusalSocket, Reason: "socket"}}}
		return temporal.NewNonRetryableApplicationError("copy set ledger: refused 1 entry: run/app.sock (socket)", contract.ErrCopyRefused, nil, res)
	}
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseFailed)
	if len(st.Refusals) != 1 || st.Refusals[0].Paths[0].Path != "run/app.sock" || st.Refusals[0].Unaccepted != 1 {
		t.Fatalf("status refusals = %+v, want run/app.sock", st.Refusals)
	}
	if !strings.Contains(st.Error, "run/app.sock") {
		t.Fatalf("error %q does not name the path", st.Error)
	}
}
