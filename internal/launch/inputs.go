package launch

import (
	"fmt"
	"strings"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// HostInput converts a plan host into the activity's host description:
// addresses and key paths only, never key material.
func HostInput(h *plans.Host) contract.Host {
	out := contract.Host{
		Name:         h.Name,
		Address:      h.Address,
		User:         h.User,
		IdentityFile: h.IdentityFile,
		Agent:        h.Agent,
		KnownHosts:   h.KnownHosts,
		AgentPath:    h.AgentPath,
		Become:       h.Become,
	}
	if h.Datacenter != nil {
		out.Datacenter = h.Datacenter.Name
		out.Queue = h.Datacenter.WorkerQueue
	}
	if h.Jump != nil {
		j := HostInput(h.Jump)
		out.Jump = &j
	}
	return out
}

// MoveInput builds the workflow input for one application of a plan.
func MoveInput(p *plans.Plan, app *plans.Application, startedBy string) workflows.MoveInput {
	in := workflows.MoveInput{
		Subject: workflows.Subject{
			PlanName:    p.Name,
			PlanSHA256:  p.SHA256,
			Application: app.Name,
			StartedBy:   startedBy,
			Source:      HostInput(app.Source),
			Target:      HostInput(app.Target),
		},
		Description: app.Description,
		Soak:        app.Soak,
	}
	for _, d := range app.DependsOn {
		in.DependsOn = append(in.DependsOn, d.Name)
	}
	for _, c := range app.Copies {
		in.Copies = append(in.Copies, contract.CopySet{
			Name:                 c.Name,
			From:                 c.From,
			To:                   c.To,
			Exclude:              c.Exclude,
			Include:              c.Include,
			Verify:               c.Verify,
			Delete:               c.Delete,
			BandwidthBytesPerSec: c.Bandwidth,
			Concurrency:          c.Concurrency,
			AcceptRefusals:       c.AcceptRefusals,
			Rehash:               c.Rehash,
			Owners:               c.Owners,
			OwnerMap:             c.OwnerMap,
			SELinux:              c.SELinux,
			SourceHost:           ownHost(c.Source, app.Source),
			TargetHost:           ownHost(c.Target, app.Target),
		})
	}
	for _, h := range app.Hosts() {
		if h != app.Source && h != app.Target {
			in.Hosts = append(in.Hosts, HostInput(h))
		}
	}
	if co := app.Cutover; co != nil {
		if co.Window != nil {
			in.Cutover.Window = &workflows.Window{NotBefore: co.Window.NotBefore, Duration: co.Window.Duration}
		}
		if a := co.Approval; a != nil {
			in.Cutover.Approval = &workflows.ApprovalRule{
				Approvers: a.Approvers, Quorum: a.Quorum, FourEyes: a.FourEyes, Timeout: a.Timeout,
			}
		}
		for _, b := range co.Blocks {
			in.Cutover.Blocks = append(in.Cutover.Blocks, blockInput(b))
		}
	}
	addFailbackAndRehearsal(&in, app)
	return in
}

// ownHost is the name of a copy set's own host, "" when it has none or
// names the application's.
func ownHost(own, app *plans.Host) string {
	if own == nil || own == app {
		return ""
	}
	return own.Name
}

// Selection picks applications by name; empty names means all of them.
func Selection(p *plans.Plan, names []string) ([]*plans.Application, error) {
	if len(names) == 0 {
		return p.Applications, nil
	}
	var out []*plans.Application
	var unknown []string
	for _, n := range names {
		if a := p.Application(n); a != nil {
			out = append(out, a)
		} else {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		var have []string
		for _, a := range p.Applications {
			have = append(have, a.Name)
		}
		return nil, fmt.Errorf("plan %s has no application %s; it has: %s",
			p.Name, strings.Join(unknown, ", "), strings.Join(have, ", "))
	}
	return out, nil
}
