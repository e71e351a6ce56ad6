//go:build record

package workflows

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/devserver"
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
	srv, err := devserver.Start(devserver.Options{FrontendPort: 0, UIPort: 0})
	if err != nil {
		t.Fatalf("start embedded server: %v", err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(), Identity: "recorder"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, recordQueue, worker.Options{})
	Register(w)
	w.RegisterActivityWithOptions(recPreflight, activity.RegisterOptions{Name: contract.NamePreflight})
	w.RegisterActivityWithOptions(recCopy, activity.RegisterOptions{Name: contract.NameCopyTree})
	w.RegisterActivityWithOptions(recEstimate, activity.RegisterOptions{Name: contract.NameEstimateDelta})
	w.RegisterActivityWithOptions(recCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &recorder{t: t, c: c, ctx: ctx}

	id := MoveID("record", "finance-decisions")
	in := recordInput("finance-decisions")
	in.SearchAttributes = false
	in.RunDigest = "c19dd468f51c7dfe13fe46029ce198af7c78a6b5908bd0f00b3edd445aab0eeb"
	in.Cutover.Approval.RequireRunDigest = true
	in.Cutover.Approval.Operators = []string{"ops.oncall"}
	in.Cutover.Window = &Window{NotBefore: time.Date(2030, 1, 5, 18, 0, 0, 0, time.UTC), Duration: 4 * time.Hour}
	in.Soak = time.Hour
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: recordQueue}, MoveWorkflow, in); err != nil {
		t.Fatal(err)
	}
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

type recorder struct {
	t   *testing.T
	c   client.Client
	ctx context.Context
}

func (r *recorder) waitPhase(id, phase string) {
	r.t.Helper()
	for r.ctx.Err() == nil {
		if v, err := r.c.QueryWorkflow(r.ctx, id, "", QueryStatus); err == nil {
			var st Status
			if v.Get(&st) == nil && st.Phase == phase {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("%s never reached %s", id, phase)
}

func (r *recorder) update(id, name string, arg any) error {
	h, err := r.c.UpdateWorkflow(r.ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	var st Status
	return h.Get(r.ctx, &st)
}

func (r *recorder) ok(id, name string, arg any) {
	r.t.Helper()
	if err := r.update(id, name, arg); err != nil {
		r.t.Fatalf("%s %+v: %v", name, arg, err)
	}
}

func (r *recorder) refused(id, name string, arg any) {
	r.t.Helper()
	var app *temporal.ApplicationError
	if err := r.update(id, name, arg); !errors.As(err, &app) || app.Type() != contract.ErrRefused {
		r.t.Fatalf("%s %+v: %v, want a Refused outcome", name, arg, err)
	}
}

func (r *recorder) finish(id, file string, result any) {
	r.t.Helper()
	if err := r.c.GetWorkflow(r.ctx, id, "").Get(r.ctx, result); err != nil {
		r.t.Fatalf("%s: %v", id, err)
	}
	h := &historypb.History{}
	it := r.c.GetWorkflowHistory(r.ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			r.t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join("testdata", file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.t.Logf("%s: %d events", file, len(h.Events))
}
