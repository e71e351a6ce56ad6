package audit

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// builder reads a history event by event into a Report; each method
// handles one family of events and reports whether it took the event.
type builder struct {
	r         *Report
	scheduled map[int64]*historypb.ActivityTaskScheduledEventAttributes
	commands  map[int64]int  // scheduled event id -> index in r.Commands
	updates   map[string]int // update protocol id -> index in r.Received
}

// started reads the start event: workflow type, starter and input.
func (b *builder) started(ev *historypb.HistoryEvent, at time.Time) bool {
	if ev.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return false
	}
	r := b.r
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	r.WorkflowType = a.GetWorkflowType().GetName()
	r.RunID = a.GetOriginalExecutionRunId()
	r.Started = at
	r.StartIdentity = a.GetIdentity()
	switch r.WorkflowType {
	case workflows.MoveWorkflow:
		var in workflows.MoveInput
		if decode(a.GetInput(), &in) {
			r.in, r.Approval = &in, in.Cutover.Approval
			if in.Mode == workflows.ModeFailover && in.Emergency != nil {
				// A failover skips the approval wait: the emergency rule
				// is the one it ran under.
				r.Approval, r.Emergency = nil, in.Emergency
			}
			r.PlanName, r.PlanSHA256, r.StartedBy = in.PlanName, in.PlanSHA256, in.StartedBy
			r.Application, r.RunDigest = in.Application, in.RunDigest
			r.Source = fmt.Sprintf("%s (%s, %s)", in.Source.Name, in.Source.Address, in.Source.Datacenter)
			r.Target = fmt.Sprintf("%s (%s, %s)", in.Target.Name, in.Target.Address, in.Target.Datacenter)
		}
	case workflows.WaveWorkflow:
		var in workflows.WaveInput
		if decode(a.GetInput(), &in) {
			r.wave = &in
			r.PlanName, r.PlanSHA256, r.StartedBy = in.PlanName, in.PlanSHA256, in.StartedBy
		}
	}
	return true
}

// received reads signals and updates as the server recorded them.
func (b *builder) received(ev *historypb.HistoryEvent, at time.Time) bool {
	r := b.r
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		r.Received = append(r.Received, Received{At: at, Kind: "signal", Name: a.GetSignalName(),
			Identity: a.GetIdentity(), Payload: raw(a.GetInput())})
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
		a := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes()
		req := a.GetAcceptedRequest()
		r.Received = append(r.Received, Received{At: at, Kind: "update", Name: req.GetInput().GetName(),
			Identity: req.GetMeta().GetIdentity(), Payload: raw(req.GetInput().GetArgs()), Outcome: "accepted",
			UpdateID: a.GetProtocolInstanceId()})
		b.updates[a.GetProtocolInstanceId()] = len(r.Received) - 1
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
		if i, ok := b.updates[a.GetMeta().GetUpdateId()]; ok {
			if f := a.GetOutcome().GetFailure(); f != nil {
				r.Received[i].Outcome = "failed: " + f.GetMessage()
			} else {
				r.Received[i].Outcome = "completed"
			}
		}
	default:
		return false
	}
	return true
}

// activity reads commands and copies: scheduled, completed, failed.
func (b *builder) activity(ev *historypb.HistoryEvent, at time.Time) bool {
	r := b.r
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		a := ev.GetActivityTaskScheduledEventAttributes()
		b.scheduled[ev.GetEventId()] = a
		var in contract.CommandInput
		if a.GetActivityType().GetName() == contract.NameRunCommand && decode(a.GetInput(), &in) {
			r.Commands = append(r.Commands, Command{Scheduled: at, Purpose: in.Purpose,
				Host: in.Host.Name, Address: in.Host.Address, Command: in.Command})
			b.commands[ev.GetEventId()] = len(r.Commands) - 1
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		b.completed(ev.GetActivityTaskCompletedEventAttributes(), at)
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
		a := ev.GetActivityTaskFailedEventAttributes()
		if i, ok := b.commands[a.GetScheduledEventId()]; ok {
			r.Commands[i].Failure = a.GetFailure().GetMessage()
			if res, ok := failedCommandResult(a); ok {
				r.Commands[i].Started, r.Commands[i].Finished = res.Started, res.Finished
				r.Commands[i].Attempts = attemptsOf(res)
				r.Commands[i].OutputTail = outputTail(res)
			}
		}
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
		a := ev.GetActivityTaskTimedOutEventAttributes()
		if i, ok := b.commands[a.GetScheduledEventId()]; ok {
			r.Commands[i].Failure = "timed out: " + a.GetFailure().GetMessage()
		}
	default:
		return false
	}
	return true
}

// completed reads a command's exit status or a copy's result.
func (b *builder) completed(a *historypb.ActivityTaskCompletedEventAttributes, at time.Time) {
	r := b.r
	switch b.scheduled[a.GetScheduledEventId()].GetActivityType().GetName() {
	case contract.NameRunCommand:
		var res contract.CommandResult
		if i, ok := b.commands[a.GetScheduledEventId()]; ok && decode(a.GetResult(), &res) {
			code := res.ExitCode
			r.Commands[i].ExitCode = &code
			r.Commands[i].Started, r.Commands[i].Finished = res.Started, res.Finished
			r.Commands[i].Attempts = attemptsOf(res)
			if code != 0 {
				r.Commands[i].OutputTail = outputTail(res)
			}
		}
	case contract.NameCopyTree:
		var res contract.CopyResult
		if decode(a.GetResult(), &res) {
			r.Copies = append(r.Copies, res)
			r.copyEnded = append(r.copyEnded, at)
		}
	}
}

// closed reads how the workflow ended; a move's result is its Status.
func (b *builder) closed(ev *historypb.HistoryEvent, at time.Time) {
	r := b.r
	closing := map[enumspb.EventType]string{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:        "completed",
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:           "failed",
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:       "terminated",
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:         "canceled",
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:        "timed out",
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new",
	}
	state, ok := closing[ev.GetEventType()]
	if !ok {
		return
	}
	r.Closed, r.CloseState, r.ClosedAt = true, state, at
	switch ev.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		var st workflows.Status
		if r.WorkflowType == workflows.MoveWorkflow && decode(ev.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &st) {
			r.applyStatus(st)
		}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		r.Error = ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		r.Error = "terminated: " + ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
	}
}
