package launch

import (
	"context"
	"fmt"
	"path"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// RehearsalInput builds the input of a rehearsal of app: the scratch host
// as target, every copy's `to` under the scratch root, only the steps
// with rehearse = true and the checks without rehearse = false, no
// approval, no window and no soak.
func RehearsalInput(p *plans.Plan, app *plans.Application, startedBy string) (workflows.MoveInput, error) {
	r := app.Rehearsal
	if r == nil {
		return workflows.MoveInput{}, fmt.Errorf("application %s of plan %s has no rehearsal block; add one with the scratch root (docs/plan-language.md, rehearsal)", app.Name, p.Name)
	}
	in := MoveInput(p, app, startedBy)
	in.Mode = workflows.ModeRehearsal
	in.RehearsalRoot = r.Root
	in.RehearsalRequired, in.FailbackBlocks, in.Soak = 0, nil, 0
	if r.Target != nil {
		in.Target = HostInput(r.Target)
	}
	for i := range in.Copies {
		c := &in.Copies[i]
		if r.Target != nil && c.TargetHost != "" {
			// One scratch host for every set: each set's own target
			// gets its own directory under the root.
			c.To, c.TargetHost = path.Join(r.Root, c.TargetHost, c.To), ""
			continue
		}
		c.To = path.Join(r.Root, c.To)
	}
	in.Cutover.Window, in.Cutover.Approval = nil, nil
	var blocks []workflows.Block
	if app.Cutover != nil {
		for i, b := range app.Cutover.Blocks {
			if b.Kind == plans.KindFinalSync || b.Rehearse {
				blocks = append(blocks, in.Cutover.Blocks[i])
			}
		}
	}
	in.Cutover.Blocks = blocks
	return in, nil
}

// StartRehearsal starts a rehearsal of each selected application (all
// that have a rehearsal block when none is named).
func StartRehearsal(ctx context.Context, c client.Client, p *plans.Plan, o Options) ([]Started, error) {
	if _, err := identity.Canonical(o.StartedBy); err != nil {
		return nil, fmt.Errorf("cannot start a rehearsal as %q: %w", o.StartedBy, err)
	}
	apps, err := Selection(p, o.Apps)
	if err != nil {
		return nil, err
	}
	if len(o.Apps) == 0 {
		apps = nil
		for _, a := range p.Applications {
			if a.Rehearsal != nil {
				apps = append(apps, a)
			}
		}
		if len(apps) == 0 {
			return nil, fmt.Errorf("plan %s has no application with a rehearsal block", p.Name)
		}
	}
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	sa := hasSearchAttributes(ctx, c, o.Namespace)
	var out []Started
	for _, app := range apps {
		in, err := RehearsalInput(p, app, o.StartedBy)
		if err != nil {
			return out, err
		}
		in.SearchAttributes = sa
		in.RunDigest = p.RunDigest()
		id := workflows.RehearsalID(p.Name, app.Name, time.Now())
		opts := startOptions(id, "rehearsal", app.Name, p.Name, p.SHA256, in.RunDigest, o, sa)
		opts.StaticDetails = StaticDetails(in)
		run, err := c.ExecuteWorkflow(ctx, opts, workflows.MoveWorkflow, in)
		if err != nil {
			return out, fmt.Errorf("start rehearsal of %s (workflow %s): %w", app.Name, id, err)
		}
		out = append(out, Started{ID: id, Kind: "rehearsal", Name: app.Name, RunID: run.GetRunID()})
	}
	return out, nil
}

// LatestRehearsal finds the newest successful rehearsal of an application
// among the completed rehearsal workflows; nil when there is none.
func LatestRehearsal(ctx context.Context, c client.Client, plan, app string) (*workflows.RehearsalRecord, error) {
	q := fmt.Sprintf(`WorkflowId STARTS_WITH %q AND ExecutionStatus = "Completed"`, workflows.RehearsalIDPrefix(plan, app))
	var best *workflows.RehearsalRecord
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list rehearsals of %s: %w", app, err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED || e.GetType().GetName() != workflows.MoveWorkflow {
				continue
			}
			var st workflows.Status
			if err := c.GetWorkflow(ctx, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()).Get(ctx, &st); err != nil {
				return nil, fmt.Errorf("read rehearsal %s: %w", e.GetExecution().GetWorkflowId(), err)
			}
			r := st.Rehearsal
			if st.Mode == workflows.ModeRehearsal && r != nil && r.Succeeded && (best == nil || r.Finished.After(best.Finished)) {
				best = r
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return best, nil
		}
	}
}

// attachRehearsal gives a move with a rehearsal block the latest
// successful rehearsal: its durations feed the window predictor and it
// vouches for approvals. A failed lookup leaves the move without one; the
// move then waits for a rehearsal's signal if the plan requires one.
func attachRehearsal(ctx context.Context, c client.Client, p *plans.Plan, app *plans.Application, in *workflows.MoveInput) {
	if app.Rehearsal == nil {
		return
	}
	if r, err := LatestRehearsal(ctx, c, p.Name, app.Name); err == nil {
		in.Rehearsed = r
	}
}

// startOptions are the options every umzug workflow starts with: a
// duplicate ID starts nothing, and the memo and summary show the plan.
func startOptions(id, kind, name, planName, sha, digest string, o Options, sa bool) client.StartWorkflowOptions {
	opts := client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                o.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// The memo shows in the Web UI and `temporal workflow describe`.
		Memo: map[string]any{"plan_sha256": sha, "run_digest": digest},
		StaticSummary: fmt.Sprintf("%s %s of plan %s (sha256 %.12s, run digest %.12s), started by %s",
			kind, name, planName, sha, digest, o.StartedBy),
	}
	if sa {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPlan).ValueSet(planName),
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrApplication).ValueSet(name),
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPhase).ValueSet(workflows.PhasePreflight),
		)
	}
	return opts
}
