package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/internal/identity"
)

// changeDecisionRules is the workflow.GetVersion change ID of the decision
// rules that cannot be sidestepped: canonical identities (four-eyes,
// quorum, approver and operator lists), a reschedule voids the approvals
// given so far, only operators commit or roll back, and approvals may be
// bound to the run digest. Histories recorded before it replay with the
// exact-string rules they ran with.
//
// Version 2 compares identities by PRECIS UsernameCaseMapped (RFC 8265)
// and treats look-alike names (UTS #39 skeletons) as one person for
// four-eyes and quorum, and bounds every field of every decision
// (bounds.go). Histories recorded at version 1 replay with the rules of
// identity.CanonicalV1.
const changeDecisionRules = "decision-rules-canonical-identities"

// decisionRulesLatest is the version new runs record.
const decisionRulesLatest = 2

// decisionState is the part of a move's state the decision rules keep.
type decisionState struct {
	// strict is set when the run records changeDecisionRules version 1
	// or later; precis when it records version 2 or later.
	strict, precis bool
}

// initDecisions picks the rules this run follows; it must run before any
// handler can be called (registerHandlers calls it first).
func (m *move) initDecisions(ctx workflow.Context) {
	v := workflow.GetVersion(ctx, changeDecisionRules, workflow.DefaultVersion, decisionRulesLatest)
	m.dec.strict, m.dec.precis = v >= 1, v >= 2
	m.st.RunDigest = m.in.RunDigest
}

// same reports whether two typed names are one identity: what a list
// of the plan (approvers, operators) is matched by.
func (m *move) same(a, b string) bool {
	switch {
	case m.dec.precis:
		return identity.Same(a, b)
	case m.dec.strict:
		return identity.SameV1(a, b)
	}
	return a == b
}

// samePerson reports whether two names must count as one person: one
// identity, or (version 2) names that look alike, so a look-alike of the
// starter cannot approve and one person cannot approve twice.
func (m *move) samePerson(a, b string) bool {
	if m.dec.precis {
		return identity.LookAlike(a, b)
	}
	return m.same(a, b)
}

// personIn is the position of a name in list that is the same person as
// who, or -1.
func (m *move) personIn(list []string, who string) int {
	for i, l := range list {
		if m.samePerson(l, who) {
			return i
		}
	}
	return -1
}

// indexOf is the position of who in list (by identity), or -1.
func (m *move) indexOf(list []string, who string) int {
	for i, l := range list {
		if m.same(l, who) {
			return i
		}
	}
	return -1
}

// identityProblem refuses names that have no canonical form (invisible
// or disallowed code points, too long; version 1: mixed scripts).
func (m *move) identityProblem(who string) string {
	canonical := identity.CanonicalV1
	switch {
	case m.dec.precis:
		canonical = identity.Canonical
	case !m.dec.strict:
		return ""
	}
	if _, err := canonical(who); err != nil {
		return err.Error()
	}
	return ""
}

// operators are who may commit and roll back: the plan's operators, else
// its approvers.
func operators(r *ApprovalRule) []string {
	if len(r.Operators) > 0 {
		return r.Operators
	}
	return r.Approvers
}

// checkOperator refuses a commit or rollback by someone the plan does not
// name. A move without an approval block (a rehearsal) has no such rule.
func (m *move) checkOperator(name, by string) string {
	r := m.in.Cutover.Approval
	if !m.dec.strict || r == nil || m.indexOf(operators(r), by) >= 0 {
		return ""
	}
	list := "operators"
	if len(r.Operators) == 0 {
		list = "approvers (it lists no operators)"
	}
	return fmt.Sprintf("%s may not %s %s: the plan lets only its %s do so: %s",
		by, name, m.in.Application, list, strings.Join(operators(r), ", "))
}

// checkRunDigest refuses an approval bound to another run digest, and one
// bound to none when the plan requires it.
func (m *move) checkRunDigest(d string) string {
	r := m.in.Cutover.Approval
	switch {
	case !m.dec.strict || r == nil:
		return ""
	case d == "" && r.RequireRunDigest:
		return fmt.Sprintf("the plan requires approvals bound to the run digest (require_run_digest): approve with "+
			"`umzug approve ID --plan FILE [--var NAME=VALUE …]` using the reviewed variable values, or send "+
			`"run_digest": %q after checking it against `+"`umzug plan`", m.in.RunDigest)
	case d != "" && d != m.in.RunDigest:
		return fmt.Sprintf("approval is for run digest %s, this move runs %s: the plan files or the variable values "+
			"(--var, --var-file, UMZUG_VAR_*) differ from what was reviewed", d, m.in.RunDigest)
	}
	return ""
}

// voidApprovals drops the approvals given so far after a reschedule by
// by: they approved another window. The void is a record of its own.
func (m *move) voidApprovals(by string) {
	r := m.in.Cutover.Approval
	if !m.dec.strict || r == nil || len(m.st.Approvals) == 0 {
		return
	}
	voided := m.st.Approvals
	m.st.Approvals = nil
	for _, a := range voided {
		m.st.Voided = append(m.st.Voided, fmt.Sprintf("%s (voided by reschedule by %s)", a, by))
	}
	if n := len(m.st.Voided); n > MaxVoided {
		m.st.Voided = append([]string(nil), m.st.Voided[n-MaxVoided:]...)
	}
	m.updateApprovalState()
	m.record(SignalRecord{Name: RecordApprovalsVoided, Identity: by, Accepted: true, Via: "workflow",
		Comment: fmt.Sprintf("approvals voided by reschedule by %s (were: %s); %d approval(s) needed again for the new window",
			by, strings.Join(voided, ", "), quorum(r))})
}
