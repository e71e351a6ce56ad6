//go:build record

package workflows

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// TestRecordBounds records a move under decision rules version 2: a
// payload over its limit, a wrong-typed signal, a malformed update, a
// refused_update report, a look-alike and an invisible-character
// approval, then the quorum, soak and a rollback by update.
//
//	UMZUG_RECORD=1 go test -tags record -run TestRecordBounds -v ./workflows/
func TestRecordBounds(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	r := startRecorder(t, nil)
	c, ctx := r.c, r.ctx
	id := MoveID("record", "finance-bounds")
	in := recordInput("finance-bounds")
	in.SearchAttributes = false
	in.Soak = time.Hour
	r.start(id, MoveWorkflow, in)
	r.waitPhase(id, PhaseAwaitingApproval)
	for _, s := range []struct {
		name string
		arg  any
	}{
		{SignalApprove, map[string]any{"approver": "mallory", "comment": strings.Repeat("m", 20<<10)}},
		{SignalApprove, "a.meier please"},
		{SignalRefusedUpdate, map[string]any{"name": SignalApprove, "identity": "c.yilmaz", "reason": "planted"}},
		{SignalApprove, map[string]any{"approver": "\u0430.meier"}},
	} {
		if err := c.SignalWorkflow(ctx, id, "", s.name, s.arg); err != nil {
			t.Fatal(err)
		}
	}
	r.refused(id, SignalReject, 42)
	r.ok(id, SignalApprove, ApproveSignal{Approver: "a.meier"})
	r.refused(id, SignalApprove, ApproveSignal{Approver: "a.me\u00adier"})
	r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz"})
	r.waitPhase(id, PhaseSoak)
	r.refused(id, SignalRollback, RollbackSignal{By: "mallory"})
	r.ok(id, SignalRollback, RollbackSignal{By: "c.yilmaz", Reason: "reports broken"})
	var st Status
	r.finish(id, "bounds/move_bounds.json", &st)
	if st.Phase != PhaseRolledBack || len(st.Approvals) != 2 {
		t.Fatalf("phase %s, approvals %v: %s", st.Phase, st.Approvals, st.Error)
	}
	for _, rec := range st.Signals {
		if rec.Identity == "c.yilmaz" && rec.Name != SignalRollback {
			t.Fatalf("planted record %+v", rec)
		}
	}
}

// TestFloodOnServer sends 100 approve signals of 400 KiB each (100 of
// 1 MB would pass the server's 50 MB history limit, which terminates any
// workflow) from someone who is no approver while the move soaks, on the
// embedded Temporal server: every workflow task still completes, the
// status query answers, and a rollback by update completes.
//
//	UMZUG_RECORD=1 go test -tags record -run TestFloodOnServer -v ./workflows/
func TestFloodOnServer(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to run against the embedded server")
	}
	r := startRecorder(t, nil)
	c, ctx := r.c, r.ctx
	id := MoveID("record", "finance-flood")
	in := recordInput("finance-flood")
	in.SearchAttributes = false
	in.Soak = time.Hour
	r.start(id, MoveWorkflow, in)
	r.waitPhase(id, PhaseAwaitingApproval)
	r.ok(id, SignalApprove, ApproveSignal{Approver: "a.meier"})
	r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz"})
	r.waitPhase(id, PhaseSoak)
	big := strings.Repeat("x", 400<<10)
	for range 100 {
		if err := c.SignalWorkflow(ctx, id, "", SignalApprove, map[string]any{"approver": "mallory", "comment": big}); err != nil {
			t.Fatal(err)
		}
	}
	v, err := c.QueryWorkflow(ctx, id, "", QueryStatus)
	if err != nil {
		t.Fatalf("status query after the flood: %v", err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	p, _ := converter.GetDefaultDataConverter().ToPayload(st)
	t.Logf("status after the flood: %d bytes, %d records kept, %d dropped", proto.Size(p), len(st.Signals), st.SignalsDropped)
	if proto.Size(p) > 256<<10 || st.Phase != PhaseSoak {
		t.Fatalf("status after the flood: %d bytes, phase %s", proto.Size(p), st.Phase)
	}
	r.ok(id, SignalRollback, RollbackSignal{By: "a.meier", Reason: "after the flood"})
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil || st.Phase != PhaseRolledBack {
		t.Fatalf("after rollback: phase %s, %v", st.Phase, err)
	}
}
