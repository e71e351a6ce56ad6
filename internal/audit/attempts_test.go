package audit

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

func payloads(t *testing.T, v any) *commonpb.Payloads {
	t.Helper()
	p, err := dc.ToPayloads(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ev(id int64, typ enumspb.EventType, at time.Time) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(at)}
}

// commandHistory: one step run by attempt 1 and taken over by attempt 2
// after a lost worker, and one step that timed out.
func commandHistory(t *testing.T) *historypb.History {
	t0 := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	host := contract.Host{Name: "fin_pb", Address: "10.0.0.1:22"}
	started := ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, t0)
	started.Attributes = &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{
		WorkflowType: &commonpb.WorkflowType{Name: workflows.MoveWorkflow},
		Input:        payloads(t, workflows.MoveInput{Subject: workflows.Subject{PlanName: "q4", Application: "finance", Source: host}})}}
	sched := func(id int64, purpose string) *historypb.HistoryEvent {
		e := ev(id, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, t0)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: contract.NameRunCommand},
			Input:        payloads(t, contract.CommandInput{Host: host, Command: "financectl stop", Purpose: purpose})}}
		return e
	}
	ran := contract.CommandResult{Host: "fin_pb", ExitCode: 0, Started: t0, Finished: t0.Add(20 * time.Second), Attempts: []contract.CommandAttempt{
		{Attempt: 1, Host: "fin_pb", Started: t0, Finished: t0.Add(20 * time.Second), ExitCode: 0, Note: "process group 4242"},
		{Attempt: 2, Host: "fin_pb", Started: t0.Add(75 * time.Second), Finished: t0.Add(76 * time.Second), ExitCode: 0, TakenOver: true},
	}}
	done := ev(3, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, t0.Add(76*time.Second))
	done.Attributes = &historypb.HistoryEvent_ActivityTaskCompletedEventAttributes{ActivityTaskCompletedEventAttributes: &historypb.ActivityTaskCompletedEventAttributes{
		ScheduledEventId: 2, Result: payloads(t, ran)}}
	timedOut := contract.CommandResult{Host: "fin_pb", ExitCode: -1, Stderr: "draining\nlogin with password=hunter2 failed\n", Started: t0.Add(80 * time.Second), Finished: t0.Add(83 * time.Second),
		Attempts: []contract.CommandAttempt{{Attempt: 1, Host: "fin_pb", Started: t0.Add(80 * time.Second), Finished: t0.Add(83 * time.Second), ExitCode: -1}}}
	failed := ev(5, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, t0.Add(83*time.Second))
	failed.Attributes = &historypb.HistoryEvent_ActivityTaskFailedEventAttributes{ActivityTaskFailedEventAttributes: &historypb.ActivityTaskFailedEventAttributes{
		ScheduledEventId: 4, Failure: &failurepb.Failure{Message: "timed out after 3s; process group 4343 on fin_pb ended",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{
				Type: contract.ErrCommandTimeout, NonRetryable: true, Details: payloads(t, timedOut)}}}}}
	return &historypb.History{Events: []*historypb.HistoryEvent{started, sched(2, "step stop_app"), done, sched(4, "step drain"), failed}}
}

func TestAuditListsEveryAttempt(t *testing.T) {
	r, err := Build("umzug/q4/finance", commandHistory(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Commands) != 2 || len(r.Commands[0].Attempts) != 2 || len(r.Commands[1].Attempts) != 1 {
		t.Fatalf("commands %+v", r.Commands)
	}
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| step stop_app | 1 | fin_pb | 2026-12-12 18:00:00Z | 2026-12-12 18:00:20Z | 20s | 0 | ran the command; process group 4242 |",
		"| step stop_app | 2 | fin_pb | 2026-12-12 18:01:15Z | 2026-12-12 18:01:16Z | 1s | 0 | took over |",
		"| step drain | 1 | fin_pb | 2026-12-12 18:01:20Z | 2026-12-12 18:01:23Z | 3s | none (killed or unknown) | ran the command |",
		"    login with password=(redacted) failed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "hunter2") {
		t.Error("report shows a password")
	}
	if t.Failed() {
		t.Log(md)
	}
}
