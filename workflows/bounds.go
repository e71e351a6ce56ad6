package workflows

import (
	"fmt"
	"strconv"

	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/internal/identity"
)

// Anyone who can reach the namespace can signal a move or send it an
// update, so nothing they send is kept as it came: every field has a
// limit, checked before anything is kept, and the records kept are
// bounded in number, so the state, the status query and every update's
// reply stay far below Temporal's 2 MB payload limit.
const (
	// MaxPayloadBytes bounds one signal's or update's argument as it
	// arrived (the whole payload); a larger one is refused unread.
	MaxPayloadBytes = 8 << 10
	// MaxTextBytes bounds a comment or a reason.
	MaxTextBytes = 1 << 10
	// MaxDigestBytes bounds plan_sha256 and run_digest (64 hex digits).
	MaxDigestBytes = 128
	// MaxWordBytes bounds short fields: a reschedule's duration.
	MaxWordBytes = 64
	// MaxRehearsalIDBytes bounds a rehearsal's workflow ID; MaxMeasured
	// the durations a rehearsal record carries, and MaxRehearsalBytes the
	// whole record (its cleanup note is cut to MaxTextBytes when kept).
	MaxRehearsalIDBytes = 256
	MaxMeasured         = 256
	MaxRehearsalBytes   = 64 << 10
	// ReceivedPrefixBytes is how much of a refused payload is kept.
	ReceivedPrefixBytes = 64
	// MaxRefusedRecords refused decisions are kept (the latest), and at
	// most MaxRecords records in all; Status.SignalsDropped counts the
	// dropped ones.
	MaxRefusedRecords = 32
	MaxRecords        = 128
	// MaxVoided bounds the list of voided approvals.
	MaxVoided = 32
)

// Names are bounded by identity.MaxBytes once normalised (64 bytes) and
// identity.MaxRawBytes as typed (256 bytes).

// SenderUnknown is what a record says of its sender: a workflow does not
// see the client identity of a signal or update; its history event does
// (the audit's "received" list).
const SenderUnknown = "identity unknown to the workflow; the history event names the client"

// field is one string of a payload and its limit.
type field struct {
	name, value string
	max         int
}

func name(n, v string) field   { return field{n, v, identity.MaxRawBytes} }
func text(n, v string) field   { return field{n, v, MaxTextBytes} }
func digest(n, v string) field { return field{n, v, MaxDigestBytes} }

// overLimit names the first field over its limit, or "".
func overLimit(fields ...field) string {
	for _, f := range fields {
		if len(f.value) > f.max {
			return fmt.Sprintf("%s is %d bytes, over the limit of %d bytes (starts %s)",
				f.name, len(f.value), f.max, identity.Quote(f.value))
		}
	}
	return ""
}

// bounded is a payload that knows its limits.
type bounded interface{ overLimit() string }

func sig(v string) field      { return field{"signature", v, decisionsig.MaxSignatureBytes} }
func signedAt(v string) field { return field{"signed_at", v, MaxWordBytes} }

func (p ApproveSignal) overLimit() string {
	return overLimit(name("approver", p.Approver), text("comment", p.Comment),
		digest("plan_sha256", p.PlanSHA256), digest("run_digest", p.RunDigest), sig(p.Signature), signedAt(p.SignedAt))
}

func (p RejectSignal) overLimit() string {
	return overLimit(name("approver", p.Approver), text("reason", p.Reason), digest("plan_sha256", p.PlanSHA256),
		sig(p.Signature), signedAt(p.SignedAt))
}

func (p RollbackSignal) overLimit() string {
	return overLimit(name("by", p.By), text("reason", p.Reason), sig(p.Signature), signedAt(p.SignedAt))
}

func (p CommitSignal) overLimit() string {
	return overLimit(name("by", p.By), sig(p.Signature), signedAt(p.SignedAt))
}

func (p RescheduleSignal) overLimit() string {
	return overLimit(name("by", p.By), field{"duration", p.Duration, MaxWordBytes}, text("comment", p.Comment))
}

func (p ConfirmSignal) overLimit() string {
	return overLimit(name("by", p.By), text("comment", p.Comment), sig(p.Signature), signedAt(p.SignedAt))
}

func (p StandbyDecision) overLimit() string {
	return overLimit(name("by", p.By), text("reason", p.Reason))
}

func (p RehearsalRecord) overLimit() string {
	if len(p.Durations) > MaxMeasured {
		return fmt.Sprintf("durations lists %d entries, over the limit of %d", len(p.Durations), MaxMeasured)
	}
	fs := []field{{"id", p.ID, MaxRehearsalIDBytes}}
	for _, d := range p.Durations {
		fs = append(fs, field{"durations.kind", d.Kind, MaxWordBytes}, field{"durations.name", d.Name, MaxRehearsalIDBytes})
	}
	return overLimit(fs...)
}

// badPayload is a payload refused before it was read into a decision.
type badPayload struct {
	size   int
	prefix string
	reason string
}

// decodeBounded reads one signal's or update's argument: its whole size
// first (at most maxPayload bytes), then its JSON, then each field's
// limit. Under checkSize false (runs recorded before the limits) only
// malformed payloads are refused.
func decodeBounded[T any](raw converter.RawValue, maxPayload int, checkSize bool) (T, *badPayload) {
	var p T
	pl := raw.Payload()
	if pl == nil {
		return p, &badPayload{reason: "no argument arrived; send one JSON object (see the signal's description)"}
	}
	size := proto.Size(pl)
	bad := func(reason string) *badPayload {
		pre, _ := identity.Prefix(string(pl.GetData()), ReceivedPrefixBytes)
		return &badPayload{size: size, prefix: strconv.Quote(pre), reason: reason}
	}
	if checkSize && size > maxPayload {
		return p, bad(fmt.Sprintf("payload of %d bytes is over the limit of %d bytes; only its size and first %d bytes were kept",
			size, maxPayload, ReceivedPrefixBytes))
	}
	if err := converter.GetDefaultDataConverter().FromPayload(pl, &p); err != nil {
		msg, _ := identity.Prefix(err.Error(), 200)
		return p, bad(fmt.Sprintf("malformed: cannot be read as %T: %s", p, msg))
	}
	if b, ok := any(p).(bounded); ok && checkSize {
		if r := b.overLimit(); r != "" {
			return p, bad(r)
		}
	}
	return p, nil
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	p, cut := identity.Prefix(s, n)
	if !cut {
		return s
	}
	return p + fmt.Sprintf("… (%d bytes)", len(s))
}

// keep bounds a record's fields and the list it joins: at most
// MaxRefusedRecords refused records (the latest) and MaxRecords in all,
// counting the dropped ones. It holds for every run, whatever version it
// recorded: it keeps state only and adds no command.
func (st *Status) keep(r SignalRecord) {
	r.Identity = clip(r.Identity, identity.MaxRawBytes)
	r.Comment = clip(r.Comment, MaxTextBytes)
	r.Reason = clip(r.Reason, 2*MaxTextBytes)
	r.PlanSHA256 = clip(r.PlanSHA256, MaxDigestBytes)
	r.RunDigest = clip(r.RunDigest, MaxDigestBytes)
	r.SignedAt = clip(r.SignedAt, MaxWordBytes)
	if !r.Accepted || len(r.Signature) > decisionsig.MaxSignatureBytes {
		r.Signature = "" // kept for the audit's re-check of accepted decisions only
	}
	st.Signals = append(st.Signals, r)
	refused := 0
	for _, s := range st.Signals {
		if !s.Accepted {
			refused++
		}
	}
	for i := 0; refused > MaxRefusedRecords && i < len(st.Signals); {
		if st.Signals[i].Accepted || st.Signals[i].Via == "workflow" {
			i++
			continue
		}
		st.Signals = append(st.Signals[:i], st.Signals[i+1:]...)
		refused--
		st.SignalsDropped++
	}
	if n := len(st.Signals); n > MaxRecords {
		st.Signals = append([]SignalRecord(nil), st.Signals[n-MaxRecords:]...)
		st.SignalsDropped += n - MaxRecords
	}
}
