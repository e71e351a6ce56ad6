package audit

import (
	"fmt"
	"time"

	"github.com/umzug-dev/umzug/internal/identity"

	"github.com/umzug-dev/umzug/workflows"
)

// FailoverFacts is what the audit states about a failover: the emergency
// approval, the second confirmation (or that it is OVERDUE) and where the
// target's data came from.
type FailoverFacts struct {
	By           string   `json:"by"`
	Reason       string   `json:"reason,omitempty"`
	Confirmation string   `json:"confirmation"`
	Source       string   `json:"source"`
	Skipped      []string `json:"skipped,omitempty"`
}

// failoverFacts derives the facts from a failover's state at now.
func failoverFacts(f *workflows.FailoverState, now time.Time) *FailoverFacts {
	if f == nil {
		return nil
	}
	out := &FailoverFacts{By: f.By, Reason: f.Reason, Skipped: f.Skipped,
		Source: "reachable: the last delta ran before the switch"}
	due := f.ConfirmBy.UTC().Format(time.RFC3339)
	switch {
	case f.ConfirmedBy != "" && f.ConfirmedLate:
		out.Confirmation = fmt.Sprintf("confirmed LATE by %s at %s; OVERDUE since %s", f.ConfirmedBy, ts(*f.ConfirmedAt), due)
	case f.ConfirmedBy != "":
		out.Confirmation = fmt.Sprintf("confirmed by %s at %s (due by %s)", f.ConfirmedBy, ts(*f.ConfirmedAt), due)
	case f.Overdue || now.After(f.ConfirmBy):
		out.Confirmation = "OVERDUE since " + due + ": no second emergency approver confirmed"
	default:
		out.Confirmation = "pending, due by " + due
	}
	if f.SourceUnreachable {
		out.Source = fmt.Sprintf("unreachable (%s)", f.SourceError)
		if f.StandbyCopy != nil {
			out.Source += ": proceeded from " + workflows.StandbyCopyNote(f.StandbyCopy)
		}
	}
	return out
}

// checkEmergency re-checks an accepted emergency approval or confirmation
// against the failover's emergency rule; ok is false for other records.
func (r *Report) checkEmergency(s workflows.SignalRecord) (Decision, bool) {
	d := Decision{SignalRecord: s}
	if r.in == nil || r.in.Emergency == nil || (s.Name != workflows.RecordEmergencyApproval && s.Name != workflows.SignalConfirm) {
		return d, false
	}
	listed := identity.Index(r.in.Emergency.Approvers, s.Identity) >= 0
	switch {
	case !listed:
		d.Violation, d.RuleCheck = true, "RULE NOT MET: not an emergency approver"
	case s.Name == workflows.SignalConfirm && identity.LookAlike(s.Identity, r.StartedBy):
		d.Violation, d.RuleCheck = true, "RULE NOT MET: confirmed by who started the failover"
	case s.Name == workflows.SignalConfirm:
		d.RuleCheck = "emergency approver; not who started the failover"
	default:
		d.RuleCheck = "emergency approver"
	}
	return d, true
}
