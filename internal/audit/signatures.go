package audit

import (
	"time"

	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/workflows"
)

// checkSignature re-checks a decision the workflow accepted as signed:
// its statement is rebuilt from the record (name, comment, signed_at)
// and the move's input (ID, run, run digest, signers) and verified
// offline, with the record's time as the clock. Only a signature that
// verifies to the recorded key makes the decision authenticated; one
// that does not is a violation, which `umzug audit verify` reports.
func (r *Report) checkSignature(d *Decision) {
	s := d.SignalRecord
	if !s.Accepted || !signedKind(s.Name) {
		return
	}
	signers := r.signersFor(s.Name)
	problem := ""
	switch {
	case s.KeyFingerprint == "" && signers == "":
		return // unsigned, and no signature was asked for
	case s.KeyFingerprint == "":
		problem = "accepted without a signature, though the move's input names signers"
	case signers == "":
		problem = "records key " + s.KeyFingerprint + ", but the move's input names no signers"
	case s.Signature == "":
		problem = "records key " + s.KeyFingerprint + " without its signature"
	default:
		t, err := decisionsig.ParseTime(s.SignedAt)
		if err == nil {
			st := decisionsig.Statement{MoveID: r.WorkflowID, RunID: r.RunID, RunDigest: r.in.RunDigest,
				Decision: s.Name, Signer: s.Identity, Comment: s.Comment, Time: t}
			var fp string
			fp, err = decisionsig.Verify([]byte(signers), st, r.principal(s.Identity), s.Signature, s.At)
			if err == nil && fp != s.KeyFingerprint {
				problem = "signed by " + fp + ", the record names " + s.KeyFingerprint
			}
		}
		if err != nil {
			problem = err.Error()
		}
	}
	if problem != "" {
		d.Violation = true
		d.SignatureProblem = "signature does not re-verify: " + problem
		d.RuleCheck = "RULE NOT MET: " + d.SignatureProblem + " (" + d.RuleCheck + ")"
		return
	}
	d.KeyFingerprint, d.Authenticated = s.KeyFingerprint, true
	d.RuleCheck += "; signature verified (" + s.KeyFingerprint + ", signed " + signedTime(s.SignedAt) + ")"
}

func signedTime(s string) string {
	if t, err := time.Parse(decisionsig.TimeFormat, s); err == nil {
		return ts(t)
	}
	return s
}

// signedKind reports whether a record is a decision signers must sign.
func signedKind(name string) bool {
	switch name {
	case workflows.SignalApprove, workflows.SignalReject, workflows.SignalCommit, workflows.SignalRollback, workflows.SignalConfirm:
		return true
	}
	return false
}

// signersFor is the allowed_signers content the workflow checked a
// decision against.
func (r *Report) signersFor(name string) string {
	if r.in == nil {
		return ""
	}
	if name == workflows.SignalConfirm {
		if r.in.Emergency != nil {
			return r.in.Emergency.Signers
		}
		return ""
	}
	if a := r.in.Cutover.Approval; a != nil {
		return a.Signers
	}
	return ""
}

// principal is the plan's spelling of who, as the workflow matched it.
func (r *Report) principal(who string) string {
	var lists [][]string
	if a := r.in.Cutover.Approval; a != nil {
		lists = append(lists, a.Approvers, a.Operators)
	}
	if r.in.Emergency != nil {
		lists = append(lists, r.in.Emergency.Approvers)
	}
	for _, l := range lists {
		if i := identity.Index(l, who); i >= 0 {
			return l[i]
		}
	}
	return who
}
