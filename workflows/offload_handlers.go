package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/internal/identity"
)

const (
	descAccept = `Accept this hand-over: the partner will produce the jobs (an accept approver of the plan; not whoever started it). ` +
		`JSON: {"by": "m.huber", "comment": "CHG-4711"}`
	descRefuse = `Refuse this hand-over: every job goes back to the source's queue. JSON: {"by": "m.huber", "comment": "no capacity"}`
)

// register sets the status query and the partner's decisions, each a
// signal and an update, recorded accepted or refused.
func (o *offload) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (OffloadStatus, error) { return o.st, nil },
		workflow.QueryHandlerOptions{Description: "jobs claimed, accepted, taken in, produced and returned"}); err != nil {
		return err
	}
	for _, d := range []struct {
		name, desc string
		check      func(OffloadDecision) string
		apply      func(OffloadDecision)
	}{
		{SignalAccept, descAccept, o.checkAccept, o.applyAccept},
		{SignalRefuse, descRefuse, o.checkRefuse, func(p OffloadDecision) { o.refused = &p }},
	} {
		if err := o.listen(ctx, d.name, d.desc, d.check, d.apply); err != nil {
			return err
		}
	}
	o.details()
	return nil
}

func (o *offload) listen(ctx workflow.Context, name, desc string, check func(OffloadDecision) string, apply func(OffloadDecision)) error {
	handle := func(raw converter.RawValue, via string) string {
		p, bad := decodeBounded[OffloadDecision](raw, MaxPayloadBytes, true)
		if bad != nil {
			o.keep(SignalRecord{Name: name, Via: via, Sender: SenderUnknown, Reason: bad.reason, Size: bad.size, Received: bad.prefix})
			return bad.reason
		}
		reason := check(p)
		r := SignalRecord{Name: name, Identity: p.By, Comment: p.Comment, Via: via, Accepted: reason == "", Reason: reason}
		if reason == "" {
			fp, why := o.verifySigned(name, p)
			if why != "" {
				reason, r.Accepted, r.Reason = why, false, why
			} else if fp != "" {
				r.KeyFingerprint, r.SignedAt, r.Signature = fp, p.SignedAt, p.Signature
			}
		}
		o.keep(r)
		if reason == "" {
			apply(p)
		}
		o.details()
		return reason
	}
	readSignals(ctx, o.dctx, name, desc, &o.drainers, func(raw converter.RawValue) { handle(raw, "signal") })
	return workflow.SetUpdateHandlerWithOptions(ctx, name, func(ctx workflow.Context, raw converter.RawValue) (OffloadStatus, error) {
		if reason := handle(raw, "update"); reason != "" {
			return o.st, temporal.NewNonRetryableApplicationError(reason, contract.ErrRefused, nil)
		}
		return o.st, nil
	}, workflow.UpdateHandlerOptions{Description: desc})
}

// drain handles signals that arrived but were not read yet.
func (o *offload) drain() {
	for {
		any := false
		for _, d := range o.drainers {
			for d() {
				any = true
			}
		}
		if !any {
			return
		}
	}
}

// keep appends a record, bounded like a move's.
func (o *offload) keep(r SignalRecord) {
	r.At = workflow.Now(o.dctx)
	r.Identity = clip(r.Identity, identity.MaxRawBytes)
	r.Comment = clip(r.Comment, MaxTextBytes)
	o.st.Signals = append(o.st.Signals, r)
	if n := len(o.st.Signals); n > MaxRecords {
		o.st.Signals = append([]SignalRecord(nil), o.st.Signals[n-MaxRecords:]...)
		o.st.SignalsDropped += n - MaxRecords
	}
}

func (o *offload) commonRefusal(name string, p OffloadDecision) string {
	r := o.in.Accept
	switch {
	case strings.TrimSpace(p.By) == "":
		return fmt.Sprintf(`%s needs who decides: {"by": "m.huber", "comment": "..."}`, name)
	case identityRefusal(name, p.By) != "":
		return identityRefusal(name, p.By)
	case o.st.Phase != OffloadAwaiting:
		if o.st.Phase == OffloadClaiming || o.st.Phase == OffloadCopying || o.st.Phase == "" {
			return fmt.Sprintf("the jobs are not at the partner yet (phase %s); %s is taken once they landed, send it again then", o.st.Phase, name)
		}
		return fmt.Sprintf("the offload is in phase %s; %s is taken only in %s", o.st.Phase, name, OffloadAwaiting)
	case o.refused != nil:
		return fmt.Sprintf("the hand-over was refused already by %s", o.refused.By)
	case identity.Index(r.Approvers, p.By) < 0:
		return fmt.Sprintf("%s is not an accept approver of offload %s (approvers: %s)", p.By, o.in.Offload, strings.Join(r.Approvers, ", "))
	}
	return ""
}

func (o *offload) checkAccept(p OffloadDecision) string {
	if why := o.commonRefusal(SignalAccept, p); why != "" {
		return why
	}
	r := o.in.Accept
	switch {
	case r.FourEyes && identity.LookAlike(p.By, o.in.StartedBy):
		return fmt.Sprintf("four-eyes: %s started this offload (or looks like who did) and cannot accept it", p.By)
	case o.accepted():
		return fmt.Sprintf("quorum of %d met already (%s)", acceptQuorum(r), strings.Join(o.st.AcceptedBy, ", "))
	}
	for _, a := range o.st.AcceptedBy {
		if identity.LookAlike(a, p.By) {
			return fmt.Sprintf("%s has accepted already (as %s); one person counts once (%d of %d)", p.By, a, len(o.st.AcceptedBy), acceptQuorum(r))
		}
	}
	return ""
}

func (o *offload) checkRefuse(p OffloadDecision) string { return o.commonRefusal(SignalRefuse, p) }

// applyAccept counts an acceptance under the plan's spelling of the name.
func (o *offload) applyAccept(p OffloadDecision) {
	who := p.By
	if i := identity.Index(o.in.Accept.Approvers, who); i >= 0 {
		who = o.in.Accept.Approvers[i]
	}
	o.st.AcceptedBy = append(o.st.AcceptedBy, who)
	if o.accepted() {
		now := workflow.Now(o.dctx)
		o.st.AcceptedAt = &now
	}
}

// verifySigned checks the decision's signature when the plan's accept
// block names signers: the fingerprint, or why it is refused.
func (o *offload) verifySigned(decision string, p OffloadDecision) (fingerprint, refusal string) {
	signers := o.in.Accept.Signers
	if signers == "" || o.st.Signing == nil {
		return "", ""
	}
	if p.Signature == "" || p.SignedAt == "" {
		return "", fmt.Sprintf(`signature required: the plan names signers, so %s must carry "signature" and "signed_at"; `+
			"print the statement with `umzug offload %s ID --as NAME --print-statement` and sign it with `ssh-keygen -Y sign -n %s -f KEY`",
			decision, decision, decisionsig.Namespace)
	}
	t, err := decisionsig.ParseTime(p.SignedAt)
	if err != nil {
		return "", "signature does not verify: " + err.Error()
	}
	principal := p.By
	if i := identity.Index(o.in.Accept.Approvers, p.By); i >= 0 {
		principal = o.in.Accept.Approvers[i]
	}
	st := decisionsig.Statement{MoveID: o.id, RunID: o.st.Signing.RunID, Decision: decision, Signer: p.By, Comment: p.Comment, Time: t}
	// Verify is a pure function of its arguments (see signed.go).
	//workflowcheck:ignore
	fp, err := decisionsig.Verify([]byte(signers), st, principal, p.Signature, workflow.Now(o.dctx))
	if err != nil {
		return "", fmt.Sprintf("signature does not verify: %s as %s: %v", decision, p.By, err)
	}
	return fp, ""
}
