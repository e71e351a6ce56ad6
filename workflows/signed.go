package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/internal/decisionsig"
)

// A plan that names signers (allowed_signers) makes every decision carry
// a signature by its sender's own SSH key over the decision's statement
// (decisionsig): the name in a payload is then proven, not only claimed.
// Verification is pure computation over the payload and the signers in
// the input, so it adds no command and replays unchanged; a run whose
// input names no signers checks nothing.

// signedFields are the parts of a payload its statement is built from.
type signedFields struct {
	signer, comment, signature, signedAt string
}

// signersFor returns the allowed_signers content that must sign decision.
func (m *move) signersFor(decision string) string {
	if decision == SignalConfirm {
		if m.in.Emergency != nil {
			return m.in.Emergency.Signers
		}
		return ""
	}
	if r := m.in.Cutover.Approval; r != nil {
		return r.Signers
	}
	return ""
}

// initSigning shows the statement fields a signer needs (Status.Signing,
// the Current Details) when the plan names signers. The run is named by
// its original run ID, which a reset keeps, so a reset run replays the
// same verdicts.
func (m *move) initSigning(ctx workflow.Context) {
	if m.signersFor(SignalApprove) == "" && m.signersFor(SignalConfirm) == "" {
		return
	}
	m.st.Signing = &Signing{Namespace: decisionsig.Namespace, MoveID: m.id,
		RunID: workflow.GetInfo(ctx).OriginalRunID, RunDigest: m.in.RunDigest}
}

// principal is the plan's spelling of who: allowed_signers principals
// are matched as written, like the plan's lists.
func (m *move) principal(who string) string {
	lists := [][]string{}
	if r := m.in.Cutover.Approval; r != nil {
		lists = append(lists, r.Approvers, r.Operators)
	}
	if m.in.Emergency != nil {
		lists = append(lists, m.in.Emergency.Approvers)
	}
	for _, l := range lists {
		if i := m.indexOf(l, who); i >= 0 {
			return l[i]
		}
	}
	return who
}

// verifySigned checks a decision's signature when the plan names
// signers: it returns the key's fingerprint, or why it is refused.
func (m *move) verifySigned(decision string, f signedFields) (fingerprint, refusal string) {
	signers := m.signersFor(decision)
	if signers == "" || m.st.Signing == nil {
		return "", ""
	}
	if f.signature == "" || f.signedAt == "" {
		return "", fmt.Sprintf(`signature required: the plan names signers, so %s must carry "signature" (armored SSH signature) and "signed_at"; `+
			"sign with `umzug %s %s --as NAME --sign-key KEY`, or print the statement with --print-statement and sign it with `ssh-keygen -Y sign -n %s -f KEY`",
			decision, decision, m.id, decisionsig.Namespace)
	}
	t, err := decisionsig.ParseTime(f.signedAt)
	if err != nil {
		return "", "signature does not verify: " + err.Error()
	}
	st := decisionsig.Statement{MoveID: m.id, RunID: m.st.Signing.RunID, RunDigest: m.in.RunDigest,
		Decision: decision, Signer: f.signer, Comment: f.comment, Time: t}
	// Verify is a pure function of its arguments: the signers file's bytes
	// from the input (validity times without Z read as UTC, not the
	// worker's zone), the statement, the signature and the workflow's
	// clock. workflowcheck cannot see that through the key parsers (a map
	// of certificate options built and only looked up).
	//workflowcheck:ignore
	fp, err := decisionsig.Verify([]byte(signers), st, m.principal(f.signer), f.signature, workflow.Now(m.dctx))
	if err != nil {
		return "", fmt.Sprintf("signature does not verify: %s as %s: %v", decision, f.signer, err)
	}
	return fp, ""
}
