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
	if o.StartedBy == "" {
		return nil, errors.New("no identity to start the move as; pass --as USER (four-eyes compares approvers with it)")
	}
	if _, err := identity.Canonical(o.StartedBy); err != nil {
		return nil, fmt.Errorf("cannot start as %q: %w (four-eyes compares approvers with it)", o.StartedBy, err)
	}
	sa := hasSearchAttributes(ctx, c, o.Namespace)
	digest := p.RunDigest()

	type job struct {
		id, kind, name string
		input          any
		wf             string
		attrs          temporal.SearchAttributes
	}
	var jobs []job
	moveJob := func(app *plans.Application) job {
		in := MoveInput(p, app, o.StartedBy)
		in.SearchAttributes = sa
		BindDecisions(&in, app, digest)
		attachRehearsal(ctx, c, p, app, &in)
		j := job{id: workflows.MoveID(p.Name, app.Name), kind: "move", name: app.Name, input: in, wf: workflows.MoveWorkflow}
		if sa {
			j.attrs = temporal.NewSearchAttributes(
				temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPlan).ValueSet(p.Name),
				temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrApplication).ValueSet(app.Name),
				temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPhase).ValueSet(workflows.PhasePreflight),
			)
		}
		return j
	}
	waveJob := func(w *plans.Wave) job {
		in := workflows.WaveInput{
			PlanName: p.Name, PlanSHA256: p.SHA256, Wave: w.Name,
			MaxParallel: w.MaxParallel, StartedBy: o.StartedBy,
		}
		for _, app := range w.Applications {
			mi := MoveInput(p, app, o.StartedBy)
			mi.SearchAttributes = sa
			BindDecisions(&mi, app, digest)
			attachRehearsal(ctx, c, p, app, &mi)
			in.Moves = append(in.Moves, mi)
		}
		j := job{id: workflows.WaveID(p.Name, w.Name), kind: "wave", name: w.Name, input: in, wf: workflows.WaveWorkflow}
		if sa {
			j.attrs = temporal.NewSearchAttributes(
				temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPlan).ValueSet(p.Name),
			)
		}
		return j
	}

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
		jobs = append(jobs, waveJob(found))
	case len(o.Apps) > 0:
		apps, err := Selection(p, o.Apps)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			jobs = append(jobs, moveJob(a))
		}
	default:
		inWave := map[string]bool{}
		for _, w := range p.Waves {
			jobs = append(jobs, waveJob(w))
			for _, a := range w.Applications {
				inWave[a.Name] = true
			}
		}
		for _, a := range p.Applications {
			if !inWave[a.Name] {
				jobs = append(jobs, moveJob(a))
			}
		}
	}

	var out []Started
	for _, j := range jobs {
		opts := startOptions(j.id, j.kind, j.name, p.Name, p.SHA256, digest, o, false)
		opts.TypedSearchAttributes = j.attrs
		run, err := c.ExecuteWorkflow(ctx, opts, j.wf, j.input)
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
