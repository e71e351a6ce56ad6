//go:build record

package workflows

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// recProbe finds every source unreachable: the failover recorded here
// proceeds from the standby copy.
func recProbe(ctx context.Context, h contract.Host) (contract.ProbeResult, error) {
	return contract.ProbeResult{}, temporal.NewNonRetryableApplicationError(
		h.Name+" ("+h.Address+") does not answer: connect: connection refused", contract.ErrPreflightFailed, errors.New("refused"))
}

func recCleanup(ctx context.Context, in contract.CleanupInput) (contract.CleanupResult, error) {
	return contract.CleanupResult{Removed: in.Targets, Entries: 4}, nil
}

// TestRecordModes records a rehearsal, a failback, and a standby record
// whose sync and failover run to the failover's confirmation.
func TestRecordModes(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	attrs := map[string]enumspb.IndexedValueType{
		SearchAttrPlan:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrApplication: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrPhase:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
	r := startRecorder(t, attrs, func(reg activityRegistrar) {
		reg.RegisterActivityWithOptions(recProbe, activity.RegisterOptions{Name: contract.NameProbeHost})
		reg.RegisterActivityWithOptions(recCleanup, activity.RegisterOptions{Name: contract.NameCleanupRehearsal})
	})

	// 1. Rehearsal: re-rooted copies, measured, cleaned up.
	{
		id := RehearsalIDPrefix("record", "finance") + "20261201T100000Z"
		in := recordInput("finance")
		in.Mode, in.RehearsalRoot, in.Cutover.Approval, in.Soak = ModeRehearsal, "/scratch/umzug", nil, time.Second
		in.Copies[0].To = "/scratch/umzug/srv/finance/data"
		r.start(id, MoveWorkflow, in)
		var st Status
		r.finish(id, "modes/rehearsal.json", &st)
		if st.Phase != PhaseCommitted || st.Rehearsal == nil || !st.Rehearsal.Succeeded {
			t.Fatalf("rehearsal: phase %s rehearsal %+v: %s", st.Phase, st.Rehearsal, st.Error)
		}
	}
	// 2. Failback of a committed move, approved and committed.
	{
		orig := recordInput("finance")
		orig.FailbackBlocks = orig.Cutover.Blocks
		in, err := FailbackInput(orig, Status{Phase: PhaseCommitted}, MoveID("record", "finance"), "a.meier")
		if err != nil {
			t.Fatal(err)
		}
		in.Soak = 2 * time.Second
		id := FailbackID(MoveID("record", "finance-fb"))
		r.start(id, MoveWorkflow, in)
		r.waitPhase(id, PhaseAwaitingApproval)
		r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz", Comment: "back home"})
		r.ok(id, SignalApprove, ApproveSignal{Approver: "c.yilmaz"})
		var st Status
		r.finish(id, "modes/failback.json", &st)
		if st.Phase != PhaseCommitted || st.Mode != ModeFailback {
			t.Fatalf("failback: phase %s mode %s: %s", st.Phase, st.Mode, st.Error)
		}
	}
	// 3. Standby: a sync, a pause and a resume, then a failover from the
	// standby copy (source unreachable), confirmed by a second approver.
	{
		app := "print"
		recID := StandbyRecordID("record", app)
		fo := recordInput(app)
		fo.Cutover.Approval = nil
		fo.Emergency = &EmergencyRule{Approvers: []string{"k.meier", "s.wolf"}, ConfirmWithin: time.Hour}
		in := StandbyInput{Subject: fo.Subject, Copies: fo.Copies, Interval: time.Minute, MaxLag: 3 * time.Minute, Failover: &fo}
		r.start(recID, StandbyWorkflow, in)
		syncID := StandbyScheduleID("record", app) + "-sync-1"
		r.start(syncID, StandbySyncWorkflow, StandbySyncInput{RecordID: recID, CopyID: StandbyScheduleID("record", app),
			Source: fo.Source, Target: fo.Target, Copies: fo.Copies})
		var sync StandbySync
		r.finish(syncID, "modes/standby_sync.json", &sync)
		if !sync.OK() {
			t.Fatalf("sync: %+v", sync)
		}
		r.signal(recID, SignalPause, StandbyDecision{By: "s.wolf", Reason: "AKDB maintenance"})
		r.signal(recID, SignalResume, StandbyDecision{By: "k.meier", Reason: "done"})
		r.signal(recID, SignalFailover, StandbyDecision{By: "k.meier", Reason: "OWL-IT power loss"})
		foID := r.waitStandby(recID)
		r.waitPhase(foID, PhaseCommitted)
		r.refused(foID, SignalConfirm, ConfirmSignal{By: "k.meier"})
		r.ok(foID, SignalConfirm, ConfirmSignal{By: "s.wolf", Comment: "CHG-911"})
		var st Status
		r.finish(foID, "modes/failover.json", &st)
		if st.Failover == nil || !st.Failover.SourceUnreachable || st.Failover.ConfirmedBy != "s.wolf" {
			t.Fatalf("failover: %+v", st.Failover)
		}
		if err := r.c.CancelWorkflow(r.ctx, recID, ""); err != nil {
			t.Fatal(err)
		}
		var ss StandbyStatus
		r.finish(recID, "modes/standby.json", &ss)
		if ss.FailedOver != foID {
			t.Fatalf("record: failed over %q, want %q", ss.FailedOver, foID)
		}
	}
}

func (r *recorder) signal(id, name string, arg any) {
	r.t.Helper()
	if err := r.c.SignalWorkflow(r.ctx, id, "", name, arg); err != nil {
		r.t.Fatalf("signal %s to %s: %v", name, id, err)
	}
}

// waitStandby waits until the record has started its failover and
// returns the failover's ID.
func (r *recorder) waitStandby(id string) string {
	r.t.Helper()
	for r.ctx.Err() == nil {
		if v, err := r.c.QueryWorkflow(r.ctx, id, "", QueryStatus); err == nil {
			var st StandbyStatus
			if v.Get(&st) == nil && st.FailedOver != "" {
				return st.FailedOver
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("%s never started its failover", id)
	return ""
}
