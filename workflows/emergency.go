package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// LateConfirmWindow is how long a failover stays open for a confirmation
// after its deadline passed: a late one is still recorded (as late).
const LateConfirmWindow = 7 * 24 * time.Hour

// ConfirmSignal is the second emergency approver's confirmation.
type ConfirmSignal struct {
	By        string `json:"by"`
	Comment   string `json:"comment,omitempty"`
	Signature string `json:"signature,omitempty"`
	SignedAt  string `json:"signed_at,omitempty"`
}

const descConfirm = `Confirm this failover as a second emergency approver (not the one who started it), within the plan's confirm_within. ` +
	`JSON: {"by": "s.wolf", "comment": "CHG-911 confirmed"}`

// confirmDecision is the confirm signal and update of a failover.
func (m *move) confirmDecision() func(workflow.Context, *move) error {
	return decision[ConfirmSignal]{name: SignalConfirm, desc: descConfirm,
		ident: func(p ConfirmSignal) SignalRecord { return SignalRecord{Identity: p.By, Comment: p.Comment} },
		check: m.checkConfirm, apply: m.applyConfirm,
		signed: func(p ConfirmSignal) signedFields { return signedFields{p.By, p.Comment, p.Signature, p.SignedAt} }}.listen
}

// startEmergency records the emergency approval of whoever pressed the
// button and starts the confirmation's clock. The failover does not wait
// for it: a missing confirmation is recorded as overdue at the deadline.
func (m *move) startEmergency(ctx workflow.Context) {
	r := m.in.Emergency
	now := workflow.Now(ctx)
	f := &FailoverState{By: m.in.StartedBy, Reason: m.in.Reason, ConfirmBy: now.Add(r.ConfirmWithin)}
	m.st.Failover = f
	m.record(SignalRecord{Name: RecordEmergencyApproval, Identity: m.in.StartedBy, Comment: m.in.Reason,
		Accepted: true, Via: "failover"})
	workflow.Go(m.dctx, func(gctx workflow.Context) {
		ok, err := workflow.AwaitWithTimeout(gctx, r.ConfirmWithin, func() bool { return f.ConfirmedBy != "" })
		if ok || err != nil {
			return
		}
		f.Overdue = true
		m.record(SignalRecord{Name: RecordConfirmOverdue, Via: "workflow", Accepted: false,
			Reason: fmt.Sprintf("no second emergency approver confirmed the failover by %s (confirm_within %s); one of %s must confirm",
				f.ConfirmBy.Format(time.RFC3339), r.ConfirmWithin, strings.Join(m.pendingConfirmers(), ", "))})
	})
}

// pendingConfirmers are the emergency approvers who may still confirm.
func (m *move) pendingConfirmers() []string {
	var out []string
	for _, a := range m.in.Emergency.Approvers {
		if !m.samePerson(a, m.in.StartedBy) {
			out = append(out, a)
		}
	}
	return out
}

// awaitLateConfirmation keeps a failover open until it is confirmed or
// the late window after the deadline has passed.
func (m *move) awaitLateConfirmation(ctx workflow.Context) {
	f := m.st.Failover
	left := f.ConfirmBy.Add(LateConfirmWindow).Sub(workflow.Now(ctx))
	if f.ConfirmedBy != "" || left <= 0 {
		return
	}
	_, _ = workflow.AwaitWithTimeout(ctx, left, func() bool { return f.ConfirmedBy != "" })
}

func (m *move) checkConfirm(p ConfirmSignal) string {
	f := m.st.Failover
	return firstRefusal(
		func() string {
			if p.By == "" {
				return `confirm needs the confirming approver: {"by": "s.wolf"}`
			}
			return m.identityProblem(p.By)
		},
		func() string {
			if f == nil {
				return "this failover has not recorded its emergency approval yet; send the confirmation again"
			}
			if m.indexOf(m.in.Emergency.Approvers, p.By) < 0 {
				return fmt.Sprintf("%s is not an emergency approver of %s (emergency approvers: %s)",
					p.By, m.in.Application, strings.Join(m.in.Emergency.Approvers, ", "))
			}
			return ""
		},
		func() string {
			if m.samePerson(p.By, m.in.StartedBy) {
				return fmt.Sprintf("%s started this failover; the second confirmation must come from another emergency approver (%s)",
					p.By, strings.Join(m.pendingConfirmers(), ", "))
			}
			if f.ConfirmedBy != "" {
				return fmt.Sprintf("confirmed already by %s at %s", f.ConfirmedBy, f.ConfirmedAt.Format(time.RFC3339))
			}
			return ""
		},
	)
}

// applyConfirm records the confirmation under the plan's spelling.
func (m *move) applyConfirm(p ConfirmSignal) {
	f := m.st.Failover
	who := p.By
	if i := m.indexOf(m.in.Emergency.Approvers, who); i >= 0 {
		who = m.in.Emergency.Approvers[i]
	}
	now := workflow.Now(m.dctx)
	f.ConfirmedBy, f.ConfirmedAt, f.ConfirmedLate = who, &now, f.Overdue
}
