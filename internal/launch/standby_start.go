package launch

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// StandbyStarted says what StartStandby found and did.
type StandbyStarted struct {
	RecordID, ScheduleID       string
	RecordRunning, ScheduleHad bool
}

// StartStandby starts the standby's record workflow and creates its
// schedule; both are idempotent (an existing one is kept and reported).
// The schedule's first sync runs at once.
func StartStandby(ctx context.Context, c client.Client, p *plans.Plan, appName string, o Options) (StandbyStarted, error) {
	var out StandbyStarted
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	if _, err := identity.Canonical(o.StartedBy); err != nil || o.StartedBy == "" {
		return out, fmt.Errorf("cannot start the standby as %q: pass --as USER with a usable identity", o.StartedBy)
	}
	app, err := StandbyApp(p, appName)
	if err != nil {
		return out, err
	}
	sa := hasSearchAttributes(ctx, c, o.Namespace)
	in := StandbyInput(p, app, o.StartedBy, sa)
	out.RecordID = workflows.StandbyRecordID(p.Name, app.Name)
	out.ScheduleID = workflows.StandbyScheduleID(p.Name, app.Name)
	if err := checkTargetsFree(ctx, c, []startJob{{id: out.RecordID, input: workflows.MoveInput{Subject: in.Subject, Copies: in.Copies}}}); err != nil {
		return out, err
	}
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: out.RecordID, TaskQueue: o.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{"plan_sha256": p.SHA256},
		StaticSummary: fmt.Sprintf("standby of %s (plan %s, every %s), started by %s; signal failover to fail over",
			app.Name, p.Name, in.Interval, o.StartedBy),
	}, workflows.StandbyWorkflow, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		out.RecordRunning = true
	case err != nil:
		return out, fmt.Errorf("start standby record %s: %w", out.RecordID, err)
	}
	_, err = c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   out.ScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: in.Interval}}},
		Action: &client.ScheduleWorkflowAction{
			ID: out.ScheduleID + "/sync", Workflow: workflows.StandbySyncWorkflow,
			Args: []any{StandbySyncInput(in)}, TaskQueue: o.TaskQueue,
		},
		// A sync still running when the next is due: the next is skipped.
		Overlap:            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		TriggerImmediately: true,
		Note:               fmt.Sprintf("standby of %s (plan %s sha256 %.12s) started by %s", app.Name, p.Name, p.SHA256, o.StartedBy),
	})
	switch {
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		out.ScheduleHad = true
	case err != nil:
		return out, fmt.Errorf("create standby schedule %s: %w", out.ScheduleID, err)
	}
	return out, nil
}
