package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/workflows"
)

// fakeServer answers describe and query for one workflow; every other
// client call panics (the embedded nil interface), so a test sees what
// status asks.
type fakeServer struct {
	client.Client
	id, typ string
	status  any
}

func (f *fakeServer) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	if id != f.id {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Type: &commonpb.WorkflowType{Name: f.typ},
	}}, nil
}

func (f *fakeServer) QueryWorkflow(_ context.Context, id, _, _ string, _ ...any) (converter.EncodedValue, error) {
	if id != f.id {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	p, err := converter.GetDefaultDataConverter().ToPayloads(f.status)
	if err != nil {
		return nil, err
	}
	return encodedValue{p}, nil
}

type encodedValue struct{ p *commonpb.Payloads }

func (e encodedValue) HasValue() bool { return e.p != nil }
func (e encodedValue) Get(v any) error {
	return converter.GetDefaultDataConverter().FromPayloads(e.p, v)
}

func statusCmd(t *testing.T) (*cobra.Command, *bytes.Buffer) {
	t.Helper()
	cmd := &cobra.Command{}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetContext(context.Background())
	return cmd, &out
}

// TestStatusMoveOfPlanNamedWave shows a move whose ID contains "/wave/"
// (examples/wave.hcl is a plan named wave) as a move: the workflow type
// decides, not the ID.
func TestStatusMoveOfPlanNamedWave(t *testing.T) {
	const id = "umzug/wave/finance"
	f := &fakeServer{id: id, typ: workflows.MoveWorkflow, status: workflows.Status{
		Phase: workflows.PhaseAwaitingApproval, PlanName: "wave", Approvals: []string{"c.yilmaz"},
	}}
	cmd, out := statusCmd(t)
	if err := showStatus(cmd, f, id, "json", false); err != nil {
		t.Fatalf("status %s: %v", id, err)
	}
	if !strings.Contains(out.String(), `"plan_name": "wave"`) || !strings.Contains(out.String(), `"phase": "awaiting_approval"`) {
		t.Fatalf("status of the move printed:\n%s", out)
	}
}

// TestStatusUnknownMove says the move does not exist and how to list
// moves, instead of blaming a missing worker.
func TestStatusUnknownMove(t *testing.T) {
	f := &fakeServer{id: "umzug/finance/finance", typ: workflows.MoveWorkflow}
	cmd, _ := statusCmd(t)
	err := showStatus(cmd, f, "nope/nope", "text", false)
	if err == nil {
		t.Fatal("status of an unknown move succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "worker") || !strings.Contains(msg, "no move or wave nope/nope exists") ||
		!strings.Contains(msg, "`umzug status` (without ID) lists the moves") {
		t.Fatalf("status nope/nope: %s", msg)
	}
}

// TestStatusSoakHidesCutoverPrediction: once the cutover ran, the window
// and its prediction are history, not what the operator needs.
func TestStatusSoakHidesCutoverPrediction(t *testing.T) {
	now := time.Now()
	st := workflows.Status{
		Phase:      workflows.PhaseSoak,
		Phases:     []workflows.PhaseChange{{Phase: workflows.PhaseCutover, At: now}, {Phase: workflows.PhaseSoak, At: now}},
		Window:     &workflows.Window{NotBefore: now, Duration: time.Hour},
		WindowNote: "cutover predicted 1s (final sync 1s), window closes in 59m",
		SoakUntil:  &now,
	}
	var out bytes.Buffer
	printStatus(&out, "umzug/finance/finance", st, nil)
	if s := out.String(); strings.Contains(s, "predicted") || strings.Contains(s, "window closes") || strings.Contains(s, "window  ") {
		t.Fatalf("status during soak shows the cutover window:\n%s", s)
	}
	st.Phase, st.Phases = workflows.PhaseAwaitingApproval, nil
	out.Reset()
	printStatus(&out, "umzug/finance/finance", st, nil)
	if !strings.Contains(out.String(), "cutover predicted") {
		t.Fatalf("status before cutover lacks the prediction:\n%s", out.String())
	}
}

// TestApproveOutcome: the last needed approval says the quorum is reached
// and when the cutover starts; lists print as "a, b", not "[a b]".
func TestApproveOutcome(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	id := "umzug/finance/finance"
	more := decisionOutcome(workflows.SignalApprove, id, workflows.Status{
		Phase: workflows.PhaseAwaitingApproval, ApprovalsNeeded: 1, PendingApprovers: []string{"c.yilmaz", "d.x"},
	}, now)
	if !strings.Contains(more, "1 more approval(s) from c.yilmaz, d.x") || strings.Contains(more, "[") {
		t.Fatalf("approve with one more needed: %q", more)
	}
	st := workflows.Status{Phase: workflows.PhaseAwaitingApproval, Approvals: []string{"b.schulz", "c.yilmaz"}}
	if got := decisionOutcome(workflows.SignalApprove, id, st, now); !strings.Contains(got, "quorum reached (approved by b.schulz, c.yilmaz): the cutover starts now") {
		t.Fatalf("last approval, window open: %q", got)
	}
	st.Window = &workflows.Window{NotBefore: now.Add(time.Hour), Duration: time.Hour}
	if got := decisionOutcome(workflows.SignalApprove, id, st, now); !strings.Contains(got, "quorum reached") ||
		!strings.Contains(got, "the cutover starts when the window opens at ") {
		t.Fatalf("last approval, window ahead: %q", got)
	}
	st.Window = &workflows.Window{NotBefore: now.Add(-time.Hour), Duration: 2 * time.Hour}
	if got := decisionOutcome(workflows.SignalApprove, id, st, now); !strings.Contains(got, "the cutover starts now if its predicted duration fits in the 1h left of the window") {
		t.Fatalf("last approval, window open: %q", got)
	}
	st.Window = &workflows.Window{NotBefore: now.Add(-5 * time.Hour), Duration: 4 * time.Hour}
	got := decisionOutcome(workflows.SignalApprove, id, st, now)
	if strings.Contains(got, "starts now") || !strings.Contains(got, "nothing starts: the window ") ||
		!strings.Contains(got, "has passed") || !strings.Contains(got, "umzug reschedule "+id+" --as USER") {
		t.Fatalf("last approval, window passed: %q", got)
	}
}

// Status of an approved move waiting for its window says the quorum is
// reached, not "0 more needed from ".
func TestStatusQuorumReached(t *testing.T) {
	now := time.Now()
	st := workflows.Status{
		Phase: workflows.PhaseAwaitingApproval, Approvals: []string{"b.schulz", "c.yilmaz"},
		Window:     &workflows.Window{NotBefore: now.Add(-5 * time.Hour), Duration: 4 * time.Hour},
		WindowNote: "window has passed: cutover not started",
	}
	var out bytes.Buffer
	printStatus(&out, "umzug/finance/finance", st, nil)
	s := out.String()
	if strings.Contains(s, "more needed") || !strings.Contains(s, "approvals   b.schulz, c.yilmaz; quorum reached; the window below decides") {
		t.Fatalf("status of an approved move:\n%s", s)
	}
	st.ApprovalsNeeded, st.PendingApprovers = 1, []string{"d.x"}
	out.Reset()
	printStatus(&out, "umzug/finance/finance", st, nil)
	if !strings.Contains(out.String(), "1 more needed from d.x\n") {
		t.Fatalf("status of a move needing one more approval:\n%s", out.String())
	}
}

// ScheduleClient answers that no schedule exists: the fake server has
// workflows only.
func (f *fakeServer) ScheduleClient() client.ScheduleClient { return noSchedules{} }

type noSchedules struct{ client.ScheduleClient }

func (noSchedules) GetHandle(_ context.Context, id string) client.ScheduleHandle {
	return noSchedule{id: id}
}

type noSchedule struct {
	client.ScheduleHandle
	id string
}

func (s noSchedule) Describe(context.Context) (*client.ScheduleDescription, error) {
	return nil, serviceerror.NewNotFound("schedule not found: " + s.id)
}

// A copy that kept files verified by identity says what that means.
func TestStatusExplainsIdentity(t *testing.T) {
	st := workflows.Status{Phase: workflows.PhaseSoak, Copies: []contract.CopyResult{
		{Set: "ledger", Phase: contract.PhaseFinalSync, Files: 10, Verified: 10, Kept: 10, VerifiedBy: "identity"},
	}}
	var out bytes.Buffer
	printStatus(&out, "umzug/finance/finance", st, nil)
	if !strings.Contains(out.String(), "verified 10 by identity\n            "+identityMeaning+"\n") {
		t.Fatalf("status lacks the meaning of identity:\n%s", out.String())
	}
	st.Copies[0].Kept, st.Copies[0].VerifiedBy = 0, "sha256sum"
	out.Reset()
	printStatus(&out, "umzug/finance/finance", st, nil)
	if strings.Contains(out.String(), identityMeaning) {
		t.Fatalf("status explains identity where no file was verified by it:\n%s", out.String())
	}
}

// audit names the bundle's directory as a full path: the default one is
// relative to wherever it ran.
func TestAuditPrintsItsDirectory(t *testing.T) {
	var out bytes.Buffer
	printBundle(&out, "umzug/finance/finance", "audit-umzug_finance_finance", &audit.Evidence{Report: &audit.Report{}}, nil)
	abs, err := filepath.Abs("audit-umzug_finance_finance")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "audit of umzug/finance/finance written to directory "+abs+":") ||
		!strings.Contains(out.String(), "umzug audit verify "+abs) {
		t.Fatalf("audit output:\n%s", out.String())
	}
}
