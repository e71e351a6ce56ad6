package launch

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// OffloadBlock finds an application's offload block.
func OffloadBlock(p *plans.Plan, appName, set string) (*plans.Application, *plans.Offload, error) {
	app := p.Application(appName)
	if app == nil {
		return nil, nil, fmt.Errorf("plan %s has no application %q", p.Name, appName)
	}
	var names []string
	for _, o := range app.Offloads {
		if o.Name == set || (set == "" && len(app.Offloads) == 1) {
			return app, o, nil
		}
		names = append(names, o.Name)
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("application %q has no offload block; add offload \"NAME\" { ... } (docs/plan-language.md, offload)", appName)
	}
	return nil, nil, fmt.Errorf("application %q has no offload %q; its offloads: %s (name one with --set)", appName, set, strings.Join(names, ", "))
}

// OffloadInput builds the input of one hand-over; narrow is the command
// line's glob (it must be a valid relative glob).
func OffloadInput(p *plans.Plan, app *plans.Application, o *plans.Offload, narrow, startedBy string) (workflows.OffloadInput, error) {
	if narrow != "" {
		if _, err := path.Match(narrow, ""); err != nil || strings.HasPrefix(narrow, "/") {
			return workflows.OffloadInput{}, fmt.Errorf("--select %q is not a glob relative to %s", narrow, o.Copy.From)
		}
	}
	mv := MoveInput(p, app, startedBy)
	var set contract.CopySet
	for _, c := range mv.Copies {
		if c.Name == o.Copy.Name {
			set = c
		}
	}
	in := workflows.OffloadInput{
		Subject: mv.Subject, Offload: o.Name, Queue: o.Copy.From, Select: o.Select, SelectList: o.SelectList, Narrow: narrow,
		MaxJobs: o.MaxJobs, MaxBytes: o.MaxBytes, To: o.To, CopySet: set,
		Accept: workflows.ApprovalRule{Approvers: o.Accept.Approvers, Quorum: o.Accept.Quorum, FourEyes: o.Accept.FourEyes, Timeout: o.Accept.Timeout},
		Intake: blockInput(o.Intake), Done: blockInput(o.Done), Poll: o.Poll, Within: o.Within,
	}
	if o.Accept.Signers != nil {
		in.Accept.Signers = string(o.Accept.Signers.Bytes)
	}
	if r := o.Results; r != nil {
		in.ResultsFrom, in.ResultsTo = r.From, r.To
	}
	return in, nil
}

// StartOffload starts one hand-over, named by the time it starts.
func StartOffload(ctx context.Context, c client.Client, p *plans.Plan, appName, set, narrow string, o Options, now time.Time) (Started, error) {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	if err := checkStartedBy(o.StartedBy); err != nil {
		return Started{}, err
	}
	app, off, err := OffloadBlock(p, appName, set)
	if err != nil {
		return Started{}, err
	}
	in, err := OffloadInput(p, app, off, narrow, o.StartedBy)
	if err != nil {
		return Started{}, err
	}
	in.SearchAttributes = hasSearchAttributes(ctx, c, o.Namespace)
	id := workflows.OffloadID(p.Name, app.Name, now)
	opts := startOptions(id, "offload", app.Name+"/"+off.Name, p.Name, p.SHA256, p.RunDigest(), o, in.SearchAttributes)
	run, err := c.ExecuteWorkflow(ctx, opts, workflows.OffloadWorkflow, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return Started{ID: id, Kind: "offload", Name: off.Name, RunID: already.RunId, AlreadyRunning: true}, nil
	case err != nil:
		return Started{}, fmt.Errorf("start offload %s of %s (workflow %s): %w", off.Name, app.Name, id, err)
	}
	return Started{ID: id, Kind: "offload", Name: off.Name, RunID: run.GetRunID()}, nil
}
