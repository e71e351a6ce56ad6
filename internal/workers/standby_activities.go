package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/workflows"
)

// standbyActivities are the standby record's calls to the Temporal
// service itself: workflow code cannot pause a schedule or read another
// workflow's outcome, so the workflow worker, which holds a client, does.
type standbyActivities struct{ c client.Client }

// registerStandbyActivities registers them on a workflow worker.
func registerStandbyActivities(r worker.ActivityRegistry, c client.Client) {
	a := standbyActivities{c}
	r.RegisterActivityWithOptions(a.SetSchedulePaused, activity.RegisterOptions{Name: workflows.ActivitySetSchedulePaused})
	r.RegisterActivityWithOptions(a.FailbackOutcome, activity.RegisterOptions{Name: workflows.ActivityFailbackOutcome})
}

// SetSchedulePaused pauses or unpauses a standby's schedule, with a note
// saying why; Trigger starts one sync at once after an unpause.
func (a standbyActivities) SetSchedulePaused(ctx context.Context, p workflows.SchedulePause) error {
	if len(p.ScheduleID) > 1000 || !strings.HasPrefix(p.ScheduleID, "umzug/") || !strings.HasSuffix(p.ScheduleID, "/standby") {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%q is not a standby schedule ID", p.ScheduleID), "BadScheduleID", nil)
	}
	h := a.c.ScheduleClient().GetHandle(ctx, p.ScheduleID)
	var err error
	if p.Paused {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: p.Note})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: p.Note})
		if err == nil && p.Trigger {
			err = h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP})
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("schedule %s does not exist", p.ScheduleID), "NoSchedule", nil)
	}
	return err
}

// FailbackOutcome reads the phase of failback id (a move workflow), and
// the move it reverses, from its status query while it runs and from its
// result once it has closed.
func (a standbyActivities) FailbackOutcome(ctx context.Context, id string) (workflows.FailbackOutcome, error) {
	out := workflows.FailbackOutcome{ID: id}
	if len(id) > 1000 || !strings.HasSuffix(id, "/failback") {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%q is not a failback ID", id), "BadFailbackID", nil)
	}
	d, err := a.c.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no workflow %s: start the failback with `umzug failback`", id), "NoFailback", nil)
	case err != nil:
		return out, err
	}
	info := d.GetWorkflowExecutionInfo()
	if name := info.GetType().GetName(); name != workflows.MoveWorkflow {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("workflow %s is a %s, not a failback move", id, name), "BadFailback", nil)
	}
	var st workflows.Status
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		v, qerr := a.c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		if qerr == nil {
			qerr = v.Get(&st)
		}
		err = qerr
	} else {
		err = a.c.GetWorkflow(ctx, id, "").Get(ctx, &st)
	}
	if err != nil {
		return out, fmt.Errorf("read the status of failback %s: %w", id, err)
	}
	out.Phase, out.FailbackOf = st.Phase, st.FailbackOf
	if st.Mode != workflows.ModeFailback {
		return out, temporal.NewNonRetryableApplicationError(fmt.Sprintf("workflow %s is a move in mode %q, not a failback", id, st.Mode), "BadFailback", nil)
	}
	for _, pc := range st.Phases {
		if pc.Phase == st.Phase {
			out.At = pc.At
		}
	}
	return out, nil
}
