package workflows

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/proto"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/identity"
)

// A decision is one signal/update pair (approve, reject, rollback, commit,
// reschedule). The signal (Web UI's Send a Signal) and the update (the CLI,
// the Web UI's Send an Update) share one handler: every decision, accepted
// or refused, is recorded in the move's state. Updates have no validator,
// because a validator's refusal leaves no trace in history; a refused
// update is accepted and completes with the refusal as its failure.
type decision[T any] struct {
	name, desc string
	// ident fills identity, comment and digests of the record.
	ident func(T) SignalRecord
	// check returns why p is refused now, or "". It must not mutate.
	check func(p T) string
	apply func(p T)
	// maxPayload bounds the argument as it arrived; 0 is MaxPayloadBytes.
	maxPayload int
	// signed returns what the decision's statement is built from; nil
	// for decisions that are never signed.
	signed func(T) signedFields
}

// Descriptions show in the Web UI's signal dialog, with the JSON to send.
const (
	descApprove = `Approve the cutover (phase awaiting_approval, which opens after seed; listed approvers only, four-eyes). ` +
		`JSON: {"approver": "b.schulz", "comment": "CHG-4711"} ` +
		`optional "plan_sha256" and "run_digest": the digests you reviewed (Current Details, umzug plan).`
	descReject = `Reject the cutover: the move ends as rejected, nothing changed (phase awaiting_approval; listed approvers). ` +
		`JSON: {"approver": "b.schulz", "reason": "not this weekend"}`
	descRollback = `During soak: undo the cutover, run the source again (the plan's operators, else its approvers). ` +
		`JSON: {"by": "a.meier", "reason": "reports broken"}`
	descCommit = `During soak: end the soak now and keep the target (the plan's operators, else its approvers). ` +
		`JSON: {"by": "a.meier"}`
	descReschedule = `Set a new cutover window (awaiting approval or window; listed approvers). ` +
		`JSON: {"by": "a.meier", "not_before": "2026-12-12T18:00:00+01:00", "duration": "4h", "comment": "CHG-4712"}`
	descRehearsed = `Internal: a rehearsal of this application sends it when it succeeded; approvals that need a recent rehearsal count from then.`
	descRefused   = `Not accepted: sent by umzug CLIs of earlier releases. Recorded as refused under no one's name; it changes nothing.`
)

func (m *move) registerHandlers(ctx workflow.Context) error {
	m.initDecisions(ctx)
	m.initSigning(ctx)
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (Status, error) { return m.st, nil },
		workflow.QueryHandlerOptions{Description: "phase, approvals, window, steps and rollback of this move"}); err != nil {
		return err
	}
	regs := []func(workflow.Context, *move) error{
		decision[ApproveSignal]{name: SignalApprove, desc: descApprove,
			ident: func(p ApproveSignal) SignalRecord {
				return SignalRecord{Identity: p.Approver, Comment: p.Comment, PlanSHA256: p.PlanSHA256, RunDigest: p.RunDigest}
			},
			check: m.checkApprove, apply: m.applyApprove,
			signed: func(p ApproveSignal) signedFields {
				return signedFields{p.Approver, p.Comment, p.Signature, p.SignedAt}
			}}.listen,
		decision[RejectSignal]{name: SignalReject, desc: descReject,
			ident: func(p RejectSignal) SignalRecord {
				return SignalRecord{Identity: p.Approver, Comment: p.Reason, PlanSHA256: p.PlanSHA256}
			},
			check: m.checkReject, apply: func(p RejectSignal) { m.rejected = &p },
			signed: func(p RejectSignal) signedFields {
				return signedFields{p.Approver, p.Reason, p.Signature, p.SignedAt}
			}}.listen,
		decision[RollbackSignal]{name: SignalRollback, desc: descRollback,
			ident: func(p RollbackSignal) SignalRecord { return SignalRecord{Identity: p.By, Comment: p.Reason} },
			check: func(p RollbackSignal) string { return m.checkSoak(SignalRollback, p.By) }, apply: func(p RollbackSignal) { m.rollbackReq = &p },
			signed: func(p RollbackSignal) signedFields { return signedFields{p.By, p.Reason, p.Signature, p.SignedAt} }}.listen,
		decision[CommitSignal]{name: SignalCommit, desc: descCommit,
			ident: func(p CommitSignal) SignalRecord { return SignalRecord{Identity: p.By} },
			check: func(p CommitSignal) string { return m.checkSoak(SignalCommit, p.By) }, apply: func(p CommitSignal) { m.commitReq = &p },
			signed: func(p CommitSignal) signedFields { return signedFields{p.By, "", p.Signature, p.SignedAt} }}.listen,
		decision[RescheduleSignal]{name: SignalReschedule, desc: descReschedule,
			ident: func(p RescheduleSignal) SignalRecord {
				return SignalRecord{Identity: p.By, Comment: strings.TrimSpace(fmt.Sprintf("%s %s %s",
					p.NotBefore.Format("2006-01-02T15:04:05Z07:00"), p.Duration, p.Comment))}
			},
			check: m.checkReschedule, apply: m.applyReschedule}.listen,
		decision[RehearsalRecord]{name: SignalRehearsed, desc: descRehearsed,
			ident: func(p RehearsalRecord) SignalRecord { return SignalRecord{Identity: p.ID} },
			check: m.checkRehearsedSignal, maxPayload: MaxRehearsalBytes,
			apply: func(p RehearsalRecord) { p.Cleanup = clip(p.Cleanup, MaxTextBytes); m.st.Rehearsed = &p }}.listen,
	}
	if m.in.Mode == ModeFailover {
		regs = append(regs, m.confirmDecision())
	}
	for _, r := range regs {
		if err := r(ctx, m); err != nil {
			return err
		}
	}
	// refused_update (earlier CLIs) reports what anyone claims: it is
	// recorded as arrived and refused, under no one's name.
	readSignals(ctx, m.dctx, SignalRefusedUpdate, descRefused, &m.drainers, func(raw converter.RawValue) {
		var pre string
		size := 0
		if pl := raw.Payload(); pl != nil {
			size = proto.Size(pl)
			p, _ := identity.Prefix(string(pl.GetData()), ReceivedPrefixBytes)
			pre = strconv.Quote(p)
		}
		m.record(SignalRecord{Name: SignalRefusedUpdate, Via: "signal", Sender: SenderUnknown, Size: size, Received: pre,
			Reason: "not accepted: anyone can send " + SignalRefusedUpdate + ", so what it reports is not recorded as anyone's decision; " +
				"refused updates are recorded by the workflow itself"})
	})
	return nil
}

// listen reads the signal for the whole run (so one sent in any phase is
// recorded or refused) and registers the update of the same name. Both
// take the argument raw: one over its limits or malformed is refused and
// recorded with its size and first bytes (decodeBounded), never kept.
func (d decision[T]) listen(ctx workflow.Context, m *move) error {
	handle := func(raw converter.RawValue, via, updateID string) string {
		p, bad := decodeBounded[T](raw, cmp.Or(d.maxPayload, MaxPayloadBytes), m.dec.precis)
		if bad != nil {
			m.record(SignalRecord{Name: d.name, Via: via, UpdateID: updateID, Sender: SenderUnknown,
				Reason: bad.reason, Size: bad.size, Received: bad.prefix})
			return bad.reason
		}
		rec := d.ident(p)
		rec.Name, rec.Via, rec.UpdateID, rec.Sender = d.name, via, updateID, SenderUnknown
		reason := d.check(p)
		if d.signed != nil {
			f := d.signed(p)
			rec.SignedAt = f.signedAt
			if reason == "" {
				rec.KeyFingerprint, reason = m.verifySigned(d.name, f)
				if rec.KeyFingerprint != "" {
					rec.Signature = f.signature
				}
			}
		}
		rec.Accepted, rec.Reason = reason == "", reason
		m.record(rec)
		if reason == "" {
			d.apply(p)
			m.details()
		}
		return reason
	}
	readSignals(ctx, m.dctx, d.name, d.desc, &m.drainers, func(raw converter.RawValue) { handle(raw, "signal", "") })
	return workflow.SetUpdateHandlerWithOptions(ctx, d.name,
		func(ctx workflow.Context, raw converter.RawValue) (Status, error) {
			// Recorded either way; a refusal is the update's failure, so
			// the caller (umzug approve, the Web UI) sees the reason at once.
			if reason := handle(raw, "update", workflow.GetCurrentUpdateInfo(ctx).ID); reason != "" {
				return m.st, temporal.NewNonRetryableApplicationError(reason, contract.ErrRefused, nil)
			}
			return m.st, nil
		},
		workflow.UpdateHandlerOptions{Description: d.desc})
}

// record appends one decision with the workflow time.
func (m *move) record(r SignalRecord) {
	r.At = workflow.Now(m.dctx)
	m.st.keep(r)
	// The Web UI answers every signal with "Workflow signaled."; the
	// details are where a UI user sees whether it counted.
	m.details()
}
