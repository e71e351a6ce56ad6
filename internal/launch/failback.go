package launch

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/workflows"
)

// StartFailback starts the reverse of move id (workflow ID id/failback)
// from what the move's history holds: its input and its result. It
// refuses a move that is still running or did not commit.
func StartFailback(ctx context.Context, c client.Client, id string, o Options) (Started, error) {
	if _, err := identity.Canonical(o.StartedBy); err != nil {
		return Started{}, fmt.Errorf("cannot start a failback as %q: %w (four-eyes compares approvers with it)", o.StartedBy, err)
	}
	h, err := audit.Fetch(ctx, c, id)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return Started{}, fmt.Errorf("no move %s exists on this server: `umzug status` lists the moves", id)
		}
		return Started{}, err
	}
	orig, st, running, err := audit.MoveOf(h)
	switch {
	case err != nil:
		return Started{}, fmt.Errorf("cannot fail back %s: %w", id, err)
	case running:
		return Started{}, fmt.Errorf("move %s is still running: failback reverses a committed move or failover; commit it first (or roll it back during soak)", id)
	case st == nil:
		return Started{}, fmt.Errorf("move %s did not complete (the workflow failed or was terminated): nothing to fail back; see `umzug audit %s`", id, id)
	}
	in, err := workflows.FailbackInput(orig, *st, id, o.StartedBy)
	if err != nil {
		return Started{}, err
	}
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	fid := workflows.FailbackID(id)
	opts := startOptions(fid, "failback", orig.Application, in.PlanName, in.PlanSHA256, in.RunDigest, o, in.SearchAttributes)
	opts.StaticDetails = StaticDetails(in)
	opts.Memo = map[string]any{"plan_sha256": in.PlanSHA256, "run_digest": in.RunDigest, "failback_of": id}
	opts.StaticSummary = fmt.Sprintf("failback of %s (%s → %s), started by %s", id, in.Source.Name, in.Target.Name, o.StartedBy)
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.MoveWorkflow, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return Started{ID: fid, Kind: "failback", Name: orig.Application, RunID: already.RunId, AlreadyRunning: true}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start failback of %s (workflow %s): %w", id, fid, err)
	}
	return Started{ID: fid, Kind: "failback", Name: orig.Application, RunID: run.GetRunID()}, nil
}
