//go:build record

package workflows

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"

	"github.com/umzug-dev/umzug/activities/contract"
)

// TestRecordStandbyRearm records a standby record under version
// standby-roles-and-schedule: a pause refused for someone the plan does
// not name, a pause read from the schedule and its unpause, a failover
// that pauses the schedule, and the re-arm after its failback.
func TestRecordStandbyRearm(t *testing.T) {
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
		reg.RegisterActivityWithOptions(func(context.Context, SchedulePause) error { return nil },
			activity.RegisterOptions{Name: ActivitySetSchedulePaused})
		reg.RegisterActivityWithOptions(func(_ context.Context, id string) (FailbackOutcome, error) {
			return FailbackOutcome{ID: id, Phase: PhaseCommitted, FailbackOf: strings.TrimSuffix(id, "/failback"),
				At: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}, nil
		}, activity.RegisterOptions{Name: ActivityFailbackOutcome})
	})
	app := "print"
	recID := StandbyRecordID("record", app)
	fo := recordInput(app)
	fo.Cutover.Approval = nil
	fo.Emergency = &EmergencyRule{Approvers: []string{"k.meier", "s.wolf"}, ConfirmWithin: time.Hour}
	in := StandbyInput{Subject: fo.Subject, Copies: fo.Copies, Interval: time.Minute, MaxLag: 3 * time.Minute,
		Operators: []string{"ops"}, Failover: &fo}
	r.start(recID, StandbyWorkflow, in)
	r.signal(recID, SignalPause, StandbyDecision{By: "x.nobody", Reason: "curious"})
	if err := r.update(recID, UpdateScheduleState, ScheduleState{Paused: true, Note: "network work", SeenBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	if err := r.update(recID, UpdateScheduleState, ScheduleState{Paused: false, Note: "done", SeenBy: "ops"}); err != nil {
		t.Fatal(err)
	}
	r.signal(recID, SignalFailover, StandbyDecision{By: "k.meier", Reason: "OWL-IT power loss"})
	foID := r.waitStandby(recID)
	if err := r.update(recID, UpdateRearm, StandbyDecision{By: "ops", Failback: FailbackID(foID), Reason: "OWL-IT back"}); err != nil {
		t.Fatal(err)
	}
	if err := r.c.CancelWorkflow(r.ctx, recID, ""); err != nil {
		t.Fatal(err)
	}
	var ss StandbyStatus
	r.finish(recID, "modes/standby_rearm.json", &ss)
	if ss.FailedOver != "" || ss.Rearmed == nil || ss.Rearmed.Failover != foID || ss.Paused {
		t.Fatalf("record: %+v", ss)
	}
}
