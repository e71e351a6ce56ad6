package launch

import (
	"fmt"

	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// StandbyApp returns the application named app, which must have a standby
// block.
func StandbyApp(p *plans.Plan, app string) (*plans.Application, error) {
	apps, err := Selection(p, []string{app})
	if err != nil {
		return nil, err
	}
	a := apps[0]
	if a.Standby == nil {
		return nil, fmt.Errorf("application %s of plan %s has no standby block; add standby { interval = \"15m\" } to keep its target warm", a.Name, p.Name)
	}
	return a, nil
}

// StandbyInput builds the record workflow's input: the copy sets to keep
// warm and, when the plan has an emergency block, the failover move.
func StandbyInput(p *plans.Plan, app *plans.Application, startedBy string, searchAttributes bool) workflows.StandbyInput {
	mi := MoveInput(p, app, startedBy)
	in := workflows.StandbyInput{
		Subject: mi.Subject, Copies: mi.Copies, Hosts: mi.Hosts,
		Interval: app.Standby.Interval, MaxLag: app.Standby.MaxLag,
	}
	// Who may pause, resume and re-arm: the operators, else the approvers
	// (the emergency approvers may too; the record adds them).
	if a := app.Cutover; a != nil && a.Approval != nil {
		in.Operators = a.Approval.Operators
		if len(in.Operators) == 0 {
			in.Operators = a.Approval.Approvers
		}
	}
	if e := app.Emergency; e != nil && app.Cutover != nil {
		fo := mi
		fo.Mode = workflows.ModeFailover
		fo.SearchAttributes = searchAttributes
		fo.Emergency = &workflows.EmergencyRule{Approvers: e.Approvers, ConfirmWithin: e.ConfirmWithin}
		if e.Signers != nil {
			fo.Emergency.Signers = string(e.Signers.Bytes)
		}
		BindDecisions(&fo, app, p.RunDigest())
		in.Failover = &fo
	}
	return in
}

// StandbySyncInput is the schedule's argument to every sync.
func StandbySyncInput(in workflows.StandbyInput) workflows.StandbySyncInput {
	return workflows.StandbySyncInput{
		RecordID: workflows.StandbyRecordID(in.PlanName, in.Application),
		CopyID:   workflows.StandbyScheduleID(in.PlanName, in.Application),
		Source:   in.Source, Target: in.Target, Copies: in.Copies, Hosts: in.Hosts,
	}
}

// HasSearchAttributes reports whether the namespace has umzug's search
// attributes registered.
var HasSearchAttributes = hasSearchAttributes
