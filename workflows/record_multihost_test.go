//go:build record

package workflows

import (
	"os"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// recordMultiHost is threeTier on the recorder's queue, with real-time-
// friendly durations.
func recordMultiHost(app string) MoveInput {
	in := threeTier()
	in.PlanName, in.Application, in.SearchAttributes = "record", app, true
	in.Soak = 3 * time.Second
	for i := range in.Hosts {
		in.Hosts[i].Queue = ""
	}
	return in
}

// TestRecordMultiHost records a multi-host move that commits and one
// whose last step fails and rolls back every host, group by group.
func TestRecordMultiHost(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	r := startRecorder(t, map[string]enumspb.IndexedValueType{
		SearchAttrPlan:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrApplication: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrPhase:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	})
	{
		id := MoveID("record", "finance-3tier")
		r.start(id, MoveWorkflow, recordMultiHost("finance-3tier"))
		r.waitPhase(id, PhaseAwaitingApproval)
		r.ok(id, SignalApprove, ApproveSignal{Approver: "a.meier", PlanSHA256: planSHA})
		r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz", PlanSHA256: planSHA})
		r.waitPhase(id, PhaseSoak)
		r.ok(id, SignalCommit, CommitSignal{By: "a.meier"})
		var st Status
		r.finish(id, "multihost/move_commit.json", &st)
		if st.Phase != PhaseCommitted || len(st.Hosts) != 5 {
			t.Fatalf("phase %s hosts %+v: %s", st.Phase, st.Hosts, st.Error)
		}
	}
	{
		id := MoveID("record", "finance-3tier-rollback")
		in := recordMultiHost("finance-3tier-rollback")
		in.Cutover.Approval = nil
		last := len(in.Cutover.Blocks) - 1
		in.Cutover.Blocks[last].Run = "dns-switch finance lg /health-broken"
		r.start(id, MoveWorkflow, in)
		var st Status
		r.finish(id, "multihost/move_rollback.json", &st)
		if st.Phase != PhaseRolledBack || len(st.Undone) != 5 {
			t.Fatalf("phase %s undone %v: %s", st.Phase, st.Undone, st.Error)
		}
	}
}
