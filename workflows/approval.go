package workflows

import (
	"cmp"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// Approvals that arrive before the move reaches awaiting_approval (during
// preflight or seed) are refused with the reason: the approver has not
// seen the seed succeed yet, and a refused signal is recorded, so they
// know to approve again.

func quorum(r *ApprovalRule) int {
	if r.Quorum < 1 {
		return 1
	}
	return r.Quorum
}

// awaitApproval waits for the quorum, then for a usable window. A
// reschedule after approvals voids them (strict rules), so the quorum is
// asked for again before the new window is used.
func (m *move) awaitApproval(ctx workflow.Context) bool {
	m.setPhase(PhaseAwaitingApproval)
	start := workflow.Now(ctx)
	r := m.in.Cutover.Approval
	if r != nil && r.Timeout > 0 {
		d := workflow.Now(ctx).Add(r.Timeout)
		m.st.ApprovalDeadline = &d
	}
	for {
		if r != nil && !m.awaitQuorum(ctx, r) {
			return false
		}
		switch m.awaitWindow(ctx) {
		case windowUsable:
			m.noteWait(ctx, start)
			return true
		case windowEnded:
			return false
		}
		// windowVoided: a reschedule voided the approvals; ask again.
	}
}

// awaitQuorum waits until enough approvals are in; false ends the move.
func (m *move) awaitQuorum(ctx workflow.Context, r *ApprovalRule) bool {
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
	return true
}

// quorumLost reports whether approvals were voided below the quorum.
func (m *move) quorumLost() bool {
	r := m.in.Cutover.Approval
	return m.dec.strict && r != nil && len(m.st.Approvals) < quorum(r)
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
		if m.personIn(m.st.Approvals, a) >= 0 || (r.FourEyes && m.samePerson(a, m.in.StartedBy)) {
			continue
		}
		m.st.PendingApprovers = append(m.st.PendingApprovers, a)
	}
}

func (m *move) notInPhase(name, want string) string {
	if m.st.Phase == want {
		return ""
	}
	if want == PhaseAwaitingApproval && m.dec.strict && beforeApproval(m.st.Phase) {
		return fmt.Sprintf("approval opens after seed: the move is in phase %s; %s is accepted only in %s, send it again then",
			cmp.Or(m.st.Phase, "starting"), name, want)
	}
	return fmt.Sprintf("move is in phase %s; %s is accepted only in %s", m.st.Phase, name, want)
}

// beforeApproval reports whether a phase comes before awaiting_approval.
func beforeApproval(phase string) bool {
	return phase == "" || phase == PhasePreflight || phase == PhaseSeed
}

func (m *move) checkListed(who string) string {
	r := m.in.Cutover.Approval
	if r == nil || m.indexOf(r.Approvers, who) >= 0 {
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

// firstRefusal returns the first non-empty reason; checks run in order.
func firstRefusal(checks ...func() string) string {
	for _, c := range checks {
		if r := c(); r != "" {
			return r
		}
	}
	return ""
}

func (m *move) checkApprove(p ApproveSignal) string {
	r := m.in.Cutover.Approval
	return firstRefusal(
		func() string {
			if p.Approver == "" {
				return `approve needs the approver's identity: {"approver": "b.schulz", "comment": "CHG-4711"}`
			}
			return m.identityProblem(p.Approver)
		},
		func() string { return m.notInPhase(SignalApprove, PhaseAwaitingApproval) },
		func() string {
			switch {
			case m.rejected != nil:
				return fmt.Sprintf("move was rejected by %s", m.rejected.Approver)
			case r == nil:
				return "this move needs no approval (the plan has no approval block)"
			}
			return m.checkListed(p.Approver)
		},
		m.checkRehearsed,
		func() string {
			switch {
			case r.FourEyes && m.dec.strict && m.identityProblem(m.in.StartedBy) != "":
				return fmt.Sprintf("four-eyes cannot be checked: the starter's identity is not usable (%s); start the move as a valid identity",
					m.identityProblem(m.in.StartedBy))
			case r.FourEyes && p.Approver == m.in.StartedBy:
				return fmt.Sprintf("four-eyes: %s started this move and cannot approve it", p.Approver)
			case r.FourEyes && m.same(p.Approver, m.in.StartedBy):
				return fmt.Sprintf("four-eyes: %q is the same identity as %s, who started this move and cannot approve it", p.Approver, m.in.StartedBy)
			case r.FourEyes && m.samePerson(p.Approver, m.in.StartedBy):
				return fmt.Sprintf("four-eyes: %q looks like %q (same UTS #39 skeleton), who started this move; it counts as the same person and cannot approve it",
					p.Approver, m.in.StartedBy)
			}
			return m.checkPlan(p.PlanSHA256)
		},
		func() string { return m.checkRunDigest(p.RunDigest) },
		func() string {
			if i := m.personIn(m.st.Approvals, p.Approver); i >= 0 {
				if !m.same(m.st.Approvals[i], p.Approver) {
					return fmt.Sprintf("%s looks like %s (same UTS #39 skeleton), who has approved already; one person counts once (%d of %d)",
						p.Approver, m.st.Approvals[i], len(m.st.Approvals), quorum(r))
				}
				return fmt.Sprintf("%s has approved already; already counted (%d of %d)", p.Approver, len(m.st.Approvals), quorum(r))
			}
			if len(m.st.Approvals) >= quorum(r) {
				return fmt.Sprintf("quorum of %d already met (%s); the move waits for its window", quorum(r), strings.Join(m.st.Approvals, ", "))
			}
			return ""
		},
	)
}

// applyApprove counts an approval under the plan's spelling of the name.
func (m *move) applyApprove(p ApproveSignal) {
	who := p.Approver
	if r := m.in.Cutover.Approval; r != nil && m.dec.strict {
		if i := m.indexOf(r.Approvers, who); i >= 0 {
			who = r.Approvers[i]
		}
	}
	m.st.Approvals = append(m.st.Approvals, who)
	m.updateApprovalState()
}

func (m *move) checkReject(p RejectSignal) string {
	return firstRefusal(
		func() string {
			if p.Approver == "" {
				return `reject needs the approver's identity: {"approver": "b.schulz", "reason": "..."}`
			}
			return m.identityProblem(p.Approver)
		},
		func() string { return m.notInPhase(SignalReject, PhaseAwaitingApproval) },
		func() string {
			if m.rejected != nil {
				return fmt.Sprintf("move was rejected already by %s", m.rejected.Approver)
			}
			return m.checkListed(p.Approver)
		},
		func() string { return m.checkPlan(p.PlanSHA256) },
	)
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

// checkSoak checks rollback and commit: operators only, soak only, the
// first one wins.
func (m *move) checkSoak(name, by string) string {
	return firstRefusal(
		func() string {
			if by == "" {
				return fmt.Sprintf(`%s needs who decides: {"by": "a.meier"}`, name)
			}
			return m.identityProblem(by)
		},
		func() string { return m.checkOperator(name, by) },
		func() string { return m.notInPhase(name, PhaseSoak) },
		func() string {
			if d := m.soakDecided(); d != "" {
				return "soak already ended by " + d
			}
			return ""
		},
	)
}
