package workflows

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// Approvals that arrive before the move reaches awaiting_approval (during
// preflight or seed) are refused with the reason, as DESIGN §4 says: the
// approver has not seen the seed succeed yet, and a refused signal is
// recorded, so they know to approve again.

func quorum(r *ApprovalRule) int {
	if r.Quorum < 1 {
		return 1
	}
	return r.Quorum
}

func (m *move) awaitApproval(ctx workflow.Context) bool {
	m.setPhase(PhaseAwaitingApproval)
	if r := m.in.Cutover.Approval; r != nil {
		if r.Timeout > 0 {
			d := workflow.Now(ctx).Add(r.Timeout)
			m.st.ApprovalDeadline = &d
		}
		m.updateApprovalState()
		m.details()
		ok, err := m.awaitDecision(ctx, func() bool { return len(m.st.Approvals) >= quorum(r) || m.rejected != nil })
		switch {
		case m.rejected != nil:
			m.endRejected()
			return false
		case err != nil:
			m.endBeforeCutover(PhaseRejected, "move cancelled while awaiting approval; nothing changed on the source")
			return false
		case !ok:
			m.endBeforeCutover(PhaseExpired, fmt.Sprintf("approval timeout %s passed with %d of %d approvals; nothing changed on the source",
				r.Timeout, len(m.st.Approvals), quorum(r)))
			return false
		}
	}
	return m.awaitWindow(ctx)
}

// awaitDecision waits for cond until the approval deadline (if any). It
// returns false when the deadline passed, and an error when cancelled.
func (m *move) awaitDecision(ctx workflow.Context, cond func() bool) (bool, error) {
	if m.st.ApprovalDeadline == nil {
		return true, workflow.Await(ctx, cond)
	}
	left := m.st.ApprovalDeadline.Sub(workflow.Now(ctx))
	if left <= 0 {
		return cond(), nil
	}
	return workflow.AwaitWithTimeout(ctx, left, cond)
}

func (m *move) endRejected() {
	p := m.rejected
	why := fmt.Sprintf("rejected by %s", p.Approver)
	if p.Reason != "" {
		why += ": " + p.Reason
	}
	m.endBeforeCutover(PhaseRejected, why+"; nothing changed on the source")
}

// updateApprovalState recomputes what is still needed and from whom.
func (m *move) updateApprovalState() {
	r := m.in.Cutover.Approval
	if r == nil {
		return
	}
	m.st.ApprovalsNeeded = max(0, quorum(r)-len(m.st.Approvals))
	m.st.PendingApprovers = nil
	if m.st.ApprovalsNeeded == 0 {
		return
	}
	for _, a := range r.Approvers {
		if slices.Contains(m.st.Approvals, a) || (r.FourEyes && a == m.in.StartedBy) {
			continue
		}
		m.st.PendingApprovers = append(m.st.PendingApprovers, a)
	}
}

func (m *move) notInPhase(name, want string) string {
	if m.st.Phase == want {
		return ""
	}
	return fmt.Sprintf("move is in phase %s; %s is accepted only in %s", m.st.Phase, name, want)
}

func (m *move) checkListed(who string) string {
	r := m.in.Cutover.Approval
	if r == nil || slices.Contains(r.Approvers, who) {
		return ""
	}
	return fmt.Sprintf("%s is not a listed approver of %s (approvers: %s)", who, m.in.Application, strings.Join(r.Approvers, ", "))
}

func (m *move) checkPlan(sha string) string {
	if sha == "" || sha == m.in.PlanSHA256 {
		return ""
	}
	return fmt.Sprintf("approval is for plan sha256 %s, this move runs %s", sha, m.in.PlanSHA256)
}

func (m *move) checkApprove(p ApproveSignal) string {
	r := m.in.Cutover.Approval
	switch {
	case p.Approver == "":
		return `approve needs the approver's identity: {"approver": "b.schulz", "comment": "CHG-4711"}`
	case m.notInPhase(SignalApprove, PhaseAwaitingApproval) != "":
		return m.notInPhase(SignalApprove, PhaseAwaitingApproval)
	case m.rejected != nil:
		return fmt.Sprintf("move was rejected by %s", m.rejected.Approver)
	case r == nil:
		return "this move needs no approval (the plan has no approval block)"
	case m.checkListed(p.Approver) != "":
		return m.checkListed(p.Approver)
	case r.FourEyes && p.Approver == m.in.StartedBy:
		return fmt.Sprintf("four-eyes: %s started this move and cannot approve it", p.Approver)
	case m.checkPlan(p.PlanSHA256) != "":
		return m.checkPlan(p.PlanSHA256)
	case slices.Contains(m.st.Approvals, p.Approver):
		return fmt.Sprintf("%s has approved already; already counted (%d of %d)", p.Approver, len(m.st.Approvals), quorum(r))
	case len(m.st.Approvals) >= quorum(r):
		return fmt.Sprintf("quorum of %d already met (%s); the move waits for its window", quorum(r), strings.Join(m.st.Approvals, ", "))
	}
	return ""
}

func (m *move) applyApprove(p ApproveSignal) {
	m.st.Approvals = append(m.st.Approvals, p.Approver)
	m.updateApprovalState()
}

func (m *move) checkReject(p RejectSignal) string {
	switch {
	case p.Approver == "":
		return `reject needs the approver's identity: {"approver": "b.schulz", "reason": "..."}`
	case m.notInPhase(SignalReject, PhaseAwaitingApproval) != "":
		return m.notInPhase(SignalReject, PhaseAwaitingApproval)
	case m.rejected != nil:
		return fmt.Sprintf("move was rejected already by %s", m.rejected.Approver)
	case m.checkListed(p.Approver) != "":
		return m.checkListed(p.Approver)
	case m.checkPlan(p.PlanSHA256) != "":
		return m.checkPlan(p.PlanSHA256)
	}
	return ""
}

func (m *move) soakDecided() string {
	switch {
	case m.commitReq != nil:
		return "commit by " + m.commitReq.By
	case m.rollbackReq != nil:
		return "rollback by " + m.rollbackReq.By
	}
	return ""
}

// checkSoak checks rollback and commit: soak only, the first one wins.
func (m *move) checkSoak(name, by string) string {
	switch {
	case by == "":
		return fmt.Sprintf(`%s needs who decides: {"by": "a.meier"}`, name)
	case m.notInPhase(name, PhaseSoak) != "":
		return m.notInPhase(name, PhaseSoak)
	case m.soakDecided() != "":
		return "soak already ended by " + m.soakDecided()
	}
	return ""
}
