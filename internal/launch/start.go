package launch

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// Options says what to start and as whom.
type Options struct {
	// Apps selects applications; empty with no Wave means everything:
	// each wave as a wave workflow, other applications as single moves.
	Apps []string
	// Wave starts the named wave.
	Wave string
	// StartedBy is the identity four-eyes compares approvers with.
	StartedBy string
	// TaskQueue is the default queue (workflows.DefaultTaskQueue if empty).
	TaskQueue string
	// Namespace is used to look up search attributes.
	Namespace string
}

// Started is one workflow that was started (or had been already).
type Started struct {
	ID             string
	Kind           string // "move" or "wave"
	Name           string // application or wave name
	RunID          string
	AlreadyRunning bool
}

// Start starts the selected moves or waves. Starting a move whose workflow
// ID is already in use starts nothing and reports it as AlreadyRunning.
func Start(ctx context.Context, c client.Client, p *plans.Plan, o Options) ([]Started, error) {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	if err := checkStartedBy(o.StartedBy); err != nil {
		return nil, err
	}
	b := jobBuilder{ctx: ctx, c: c, p: p, o: o, sa: hasSearchAttributes(ctx, c, o.Namespace), digest: p.RunDigest()}
	jobs, err := b.selected()
	if err != nil {
		return nil, err
	}
	if err := checkTargetsFree(ctx, c, jobs); err != nil {
		return nil, err
	}
	return b.execute(jobs)
}

// checkStartedBy refuses to start without a usable identity: four-eyes
// compares every approver with it.
func checkStartedBy(startedBy string) error {
	if startedBy == "" {
		return errors.New("no identity to start the move as; pass --as USER (four-eyes compares approvers with it)")
	}
	if _, err := identity.Canonical(startedBy); err != nil {
		return fmt.Errorf("cannot start as %q: %w (four-eyes compares approvers with it)", startedBy, err)
	}
	return nil
}

// startJob is one workflow Start is about to start.
type startJob struct {
	id, kind, name string
	input          any
	wf             string
	attrs          temporal.SearchAttributes
}

// jobBuilder turns the plan and the selection in Options into workflows to
// start; sa says whether the namespace has the umzug search attributes.
type jobBuilder struct {
	ctx    context.Context
	c      client.Client
	p      *plans.Plan
	o      Options
	sa     bool
	digest string
}

// selected is the jobs the options select: one wave, the named
// applications, or every wave plus every application in no wave.
func (b jobBuilder) selected() ([]startJob, error) {
	p, o := b.p, b.o
	var jobs []startJob
	switch {
	case o.Wave != "":
		var found *plans.Wave
		for _, w := range p.Waves {
			if w.Name == o.Wave {
				found = w
			}
		}
		if found == nil {
			return nil, fmt.Errorf("plan %s has no wave %q", p.Name, o.Wave)
		}
		jobs = append(jobs, b.waveJob(found))
	case len(o.Apps) > 0:
		apps, err := Selection(p, o.Apps)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			jobs = append(jobs, b.moveJob(a))
		}
	default:
		inWave := map[string]bool{}
		for _, w := range p.Waves {
			jobs = append(jobs, b.waveJob(w))
			for _, a := range w.Applications {
				inWave[a.Name] = true
			}
		}
		for _, a := range p.Applications {
			if !inWave[a.Name] {
				jobs = append(jobs, b.moveJob(a))
			}
		}
	}
	return jobs, nil
}

// moveInput is the complete input of one application's move.
func (b jobBuilder) moveInput(app *plans.Application) workflows.MoveInput {
	in := MoveInput(b.p, app, b.o.StartedBy)
	in.SearchAttributes = b.sa
	BindDecisions(&in, app, b.digest)
	attachRehearsal(b.ctx, b.c, b.p, app, &in)
	return in
}

func (b jobBuilder) moveJob(app *plans.Application) startJob {
	p := b.p
	j := startJob{id: workflows.MoveID(p.Name, app.Name), kind: "move", name: app.Name, input: b.moveInput(app), wf: workflows.MoveWorkflow}
	if b.sa {
		j.attrs = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPlan).ValueSet(p.Name),
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrApplication).ValueSet(app.Name),
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPhase).ValueSet(workflows.PhasePreflight),
		)
	}
	return j
}

func (b jobBuilder) waveJob(w *plans.Wave) startJob {
	p := b.p
	in := workflows.WaveInput{
		PlanName: p.Name, PlanSHA256: p.SHA256, Wave: w.Name,
		MaxParallel: w.MaxParallel, StartedBy: b.o.StartedBy,
	}
	for _, app := range w.Applications {
		in.Moves = append(in.Moves, b.moveInput(app))
	}
	j := startJob{id: workflows.WaveID(p.Name, w.Name), kind: "wave", name: w.Name, input: in, wf: workflows.WaveWorkflow}
	if b.sa {
		j.attrs = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPlan).ValueSet(p.Name),
		)
	}
	return j
}

// execute starts the jobs in order and stops at the first that fails; a
// workflow ID already in use is reported as AlreadyRunning, not an error.
func (b jobBuilder) execute(jobs []startJob) ([]Started, error) {
	var out []Started
	for _, j := range jobs {
		opts := startOptions(j.id, j.kind, j.name, b.p.Name, b.p.SHA256, b.digest, b.o, false)
		opts.StaticDetails = StaticDetails(j.input)
		opts.TypedSearchAttributes = j.attrs
		run, err := b.c.ExecuteWorkflow(b.ctx, opts, j.wf, j.input)
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case errors.As(err, &already):
			out = append(out, Started{ID: j.id, Kind: j.kind, Name: j.name, RunID: already.RunId, AlreadyRunning: true})
		case err != nil:
			return out, fmt.Errorf("start %s %s (workflow %s): %w", j.kind, j.name, j.id, err)
		default:
			out = append(out, Started{ID: j.id, Kind: j.kind, Name: j.name, RunID: run.GetRunID()})
		}
	}
	return out, nil
}

// BindDecisions adds the decision rules and the run digest to a move's
// input: who may commit and roll back, whether approvals must carry the
// run digest, and the digest itself (plans.Plan.RunDigest), which the
// workflow compares with the one an approval carries.
func BindDecisions(in *workflows.MoveInput, app *plans.Application, runDigest string) {
	in.RunDigest = runDigest
	if app.Cutover == nil || app.Cutover.Approval == nil || in.Cutover.Approval == nil {
		return
	}
	a := app.Cutover.Approval
	in.Cutover.Approval.Operators = a.Operators
	in.Cutover.Approval.RequireRunDigest = a.RequireRunDigest
	if a.Signers != nil {
		in.Cutover.Approval.Signers = string(a.Signers.Bytes)
	}
}

// hasSearchAttributes reports whether the umzug search attributes exist on
// the namespace; on a cluster without them moves run without phase search.
func hasSearchAttributes(ctx context.Context, c client.Client, ns string) bool {
	if ns == "" {
		ns = "default"
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return false
	}
	for _, name := range []string{workflows.SearchAttrPlan, workflows.SearchAttrApplication, workflows.SearchAttrPhase} {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			return false
		}
	}
	return true
}

// UILink is the Web UI page of a workflow.
func UILink(uiBase, namespace, workflowID string) string {
	if uiBase == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", uiBase, url.PathEscape(namespace), url.PathEscape(workflowID))
}
