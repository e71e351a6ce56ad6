//go:build record

package workflows

import (
	"os"
	"testing"
	"time"
)

// TestRecordDecisions records a move under the decision rules of
// changeDecisionRules: a refused update, a run-digest-bound approval, a
// reschedule that voids the quorum, approvals again, a commit refused to
// a non-operator and one by an operator spelt differently.
//
//	UMZUG_RECORD=1 go test -tags record -run TestRecordDecisions -v ./workflows/
func TestRecordDecisions(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	r := startRecorder(t, nil)

	id := MoveID("record", "finance-decisions")
	in := recordInput("finance-decisions")
	in.SearchAttributes = false
	in.RunDigest = "c19dd468f51c7dfe13fe46029ce198af7c78a6b5908bd0f00b3edd445aab0eeb"
	in.Cutover.Approval.RequireRunDigest = true
	in.Cutover.Approval.Operators = []string{"ops.oncall"}
	in.Cutover.Window = &Window{NotBefore: time.Date(2030, 1, 5, 18, 0, 0, 0, time.UTC), Duration: 4 * time.Hour}
	in.Soak = time.Hour
	r.start(id, MoveWorkflow, in)
	r.waitPhase(id, PhaseAwaitingApproval)
	r.refused(id, SignalApprove, ApproveSignal{Approver: "OPS", RunDigest: in.RunDigest})
	r.refused(id, SignalApprove, ApproveSignal{Approver: "a.meier"}) // no run digest
	r.ok(id, SignalApprove, ApproveSignal{Approver: "A.Meier", RunDigest: in.RunDigest})
	r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz", RunDigest: in.RunDigest})
	r.ok(id, SignalReschedule, RescheduleSignal{By: "c.yilmaz", NotBefore: time.Now().Add(-time.Minute), Duration: "4h"})
	r.ok(id, SignalApprove, ApproveSignal{Approver: "a.meier", RunDigest: in.RunDigest})
	r.ok(id, SignalApprove, ApproveSignal{Approver: "c.yilmaz", RunDigest: in.RunDigest})
	r.waitPhase(id, PhaseSoak)
	r.refused(id, SignalCommit, CommitSignal{By: "a.meier"})
	r.ok(id, SignalCommit, CommitSignal{By: "Ops.Oncall"})
	var st Status
	r.finish(id, "decisions/move_decisions.json", &st)
	if st.Phase != PhaseCommitted || len(st.Voided) != 2 {
		t.Fatalf("phase %s, voided %v: %s", st.Phase, st.Voided, st.Error)
	}
}
