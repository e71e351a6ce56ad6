package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
)

// DetailsDecisions is how many of the latest decisions Current Details lists.
const DetailsDecisions = 5

// localTime shows a window time in the offset the plan wrote it with
// (RFC 3339 keeps it), so "18:00 +01:00" reads as agreed.
const localTime = "Mon 2006-01-02 15:04 -07:00"

// detailsText is the markdown of the Web UI's Current Details: what an
// approver needs to decide (window, fit, steps per host, seed result, run
// digest, latest decisions) and, later, soak and rollback state.
func (m *move) detailsText() string {
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**%s** %s → %s: **%s**\n\n", m.in.Application, m.in.Source.Name, m.in.Target.Name, m.st.Phase))
	for _, h := range m.st.Hosts {
		fp := ""
		if h.Fingerprint != "" {
			fp = ", key " + h.Fingerprint
		}
		b.WriteString(fmt.Sprintf("- host %s (%s%s)\n", h.Name, strings.Join(h.Roles, ", "), fp))
	}
	switch m.st.Phase {
	case "", PhasePreflight, PhaseSeed:
		if m.in.Cutover.Approval != nil {
			b.WriteString("- approval opens after seed: approvals sent now are refused; approve when the phase is awaiting_approval\n")
		}
	case PhaseAwaitingApproval:
		m.approvalLines(&b)
		m.windowLines(&b)
		m.stepLines(&b)
		m.seedLines(&b)
	case PhaseCutover:
		m.approvalLines(&b)
		if m.st.WindowNote != "" {
			b.WriteString(fmt.Sprintf("- window: %s\n", m.st.WindowNote))
		}
		m.resultLines(&b)
	case PhaseSoak:
		if m.st.SoakUntil != nil {
			b.WriteString(fmt.Sprintf("- soak until %s (signal `commit` or `rollback`", m.st.SoakUntil.Format(time.RFC3339)))
			if r := m.in.Cutover.Approval; r != nil && m.dec.strict {
				b.WriteString(fmt.Sprintf("; may decide: %s", strings.Join(operators(r), ", ")))
			}
			b.WriteString(")\n")
		}
		m.resultLines(&b)
	default:
		m.resultLines(&b)
	}
	if m.st.RunDigest != "" {
		b.WriteString(fmt.Sprintf("- run digest: `%s` (plan sha256 `%.16s…`)\n", m.st.RunDigest, m.st.PlanSHA256))
	}
	if g := m.st.Signing; g != nil {
		b.WriteString(fmt.Sprintf("- decisions must be signed (namespace `%s`): statement fields move `%s`, run `%s`, run-digest `%s`; "+
			"`umzug approve %s --as NAME --print-statement` prints the statement to sign, send its signature as \"signature\" with \"signed_at\"\n",
			g.Namespace, g.MoveID, g.RunID, g.RunDigest, g.MoveID))
	}
	m.decisionLines(&b)
	for _, r := range m.st.Refusals {
		verdict := "all accepted by the plan"
		if r.Unaccepted > 0 {
			verdict = fmt.Sprintf("**%d not accepted**", r.Unaccepted)
		}
		b.WriteString(fmt.Sprintf("- refused in %s %s: %d, %s (`umzug status` lists them)\n", r.Set, r.Phase, r.Total, verdict))
	}
	if m.st.Error != "" {
		b.WriteString(fmt.Sprintf("- error: %s\n", m.st.Error))
	}
	for _, s := range m.st.ManualAttention {
		b.WriteString(fmt.Sprintf("- **manual attention:** %s\n", s))
	}
	return b.String()
}

func (m *move) approvalLines(b *strings.Builder) {
	r := m.in.Cutover.Approval
	if r == nil {
		return
	}
	b.WriteString(fmt.Sprintf("- approvals: %d of %d", len(m.st.Approvals), quorum(r)))
	if len(m.st.Approvals) > 0 {
		b.WriteString(fmt.Sprintf(" (%s)", strings.Join(m.st.Approvals, ", ")))
	}
	if m.st.Phase == PhaseAwaitingApproval && m.st.ApprovalsNeeded > 0 {
		b.WriteString(fmt.Sprintf("; may approve: %s", strings.Join(m.st.PendingApprovers, ", ")))
	}
	b.WriteString("\n")
	if r.RequireRunDigest && m.st.Phase == PhaseAwaitingApproval {
		b.WriteString("- approvals must carry the run digest below (`umzug approve --plan FILE --var …`, or \"run_digest\" in the signal)\n")
	}
	if m.st.ApprovalDeadline != nil && m.st.Phase == PhaseAwaitingApproval {
		dl := *m.st.ApprovalDeadline
		if w := m.st.Window; w != nil {
			dl = dl.In(w.NotBefore.Location()) // the plan's offset, like the window
		}
		b.WriteString(fmt.Sprintf("- approval deadline: %s\n", dl.Format(localTime)))
	}
}

// windowLines shows the window in the plan's own offset and whether the
// cutover predicted from the plan fits; the final-sync delta is measured
// once the quorum is in, so before that the prediction is a lower bound.
func (m *move) windowLines(b *strings.Builder) {
	w := m.st.Window
	if w == nil {
		b.WriteString("- window: none; the cutover starts once approved\n")
		return
	}
	end := w.NotBefore.Add(w.Duration).In(w.NotBefore.Location())
	b.WriteString(fmt.Sprintf("- window: %s – %s (%s)\n", w.NotBefore.Format(localTime), end.Format(localTime), units.Duration(w.Duration)))
	least := m.predictFloor()
	now := workflow.Now(m.dctx)
	left := min(w.Duration, end.Sub(now))
	fit := fmt.Sprintf("fits (%s of the window left)", units.Duration(left))
	switch {
	case !now.Before(end):
		fit = "the window has passed: reschedule it"
	case least > left:
		fit = fmt.Sprintf("does **not** fit the %s left: reschedule it", units.Duration(left))
	}
	b.WriteString(fmt.Sprintf("- predicted cutover: at least %s (steps, checks, final sync without its delta, which is measured once approved): %s\n", units.Duration(least), fit))
	if m.st.WindowNote != "" {
		b.WriteString(fmt.Sprintf("- window state: %s\n", m.st.WindowNote))
	}
}

// predictFloor is predict without the delta scan: command estimates and
// the fixed cost of every copy set. It runs no activity.
func (m *move) predictFloor() time.Duration {
	var d time.Duration
	blocks := m.in.Cutover.Blocks
	for i := 0; i < len(blocks); {
		group, next := m.groupAt(blocks, i)
		i = next
		var longest time.Duration
		for _, b := range group {
			var e time.Duration
			switch b.Kind {
			case BlockStep:
				e = commandEstimate(b)
			case BlockFinalSync:
				e = time.Duration(len(m.in.Copies)) * PerSetOverhead
				if m.multi {
					e = 0
					for _, g := range m.pairGroups() {
						e = max(e, time.Duration(len(g))*PerSetOverhead)
					}
				}
			case BlockCheck:
				n := attempts(b)
				e = time.Duration(n)*commandEstimate(b) + time.Duration(n-1)*b.Interval
			}
			longest = max(longest, e)
		}
		d += longest
	}
	return d
}

// stepLines lists what will run, in order, and on which host.
func (m *move) stepLines(b *strings.Builder) {
	b.WriteString("- cutover runs:\n")
	for i, blk := range m.in.Cutover.Blocks {
		switch blk.Kind {
		case BlockFinalSync:
			var sets []string
			for _, c := range m.in.Copies {
				sets = append(sets, fmt.Sprintf("%s (%s → %s, verify %s)", c.Name, c.From, c.To, c.Verify))
			}
			if m.multi {
				sets = sets[:0]
				for _, c := range m.in.Copies {
					src, tgt := m.pair(c)
					sets = append(sets, fmt.Sprintf("%s (%s:%s → %s:%s, verify %s)", c.Name, src.Name, c.From, tgt.Name, c.To, c.Verify))
				}
				b.WriteString(fmt.Sprintf("  %d. final_sync%s: %s\n", i+1, groupNote(blk), strings.Join(sets, "; ")))
				continue
			}
			b.WriteString(fmt.Sprintf("  %d. final_sync %s → %s: %s\n", i+1, m.in.Source.Name, m.in.Target.Name, strings.Join(sets, "; ")))
		case BlockCheck:
			h := m.host(blk.On)
			b.WriteString(fmt.Sprintf("  %d. check %s on %s %s (%s), up to %d attempt(s)\n", i+1, blk.Name, blk.On, h.Name, h.Address, attempts(blk)))
		default:
			h := m.host(blk.On)
			undo := "no undo"
			if blk.Undo != "" {
				undo = "undo on rollback"
			}
			b.WriteString(fmt.Sprintf("  %d. step %s on %s %s (%s), %s%s\n", i+1, blk.Name, blk.On, h.Name, h.Address, undo, groupNote(blk)))
		}
	}
}

// DetailsResults bounds the step, check and final-sync results Current
// Details lists (the latest; `umzug status` and the audit list all).
const DetailsResults = 12

// resultLines shows what the cutover ran so far: each step and check in
// the order run, with host, verdict and duration, then each final sync's
// counts,
// so whoever decides commit or rollback in the Web UI sees them.
func (m *move) resultLines(b *strings.Builder) {
	var lines []string
	for _, r := range m.st.Steps {
		if r.Kind == BlockFinalSync {
			continue // its counts come from the copy results below
		}
		verdict := fmt.Sprintf("exit %d", r.ExitCode)
		switch {
		case r.Error != "":
			verdict = "**failed**: " + firstLine(r.Error)
		case r.ExitCode == 0 && r.Kind == BlockCheck:
			verdict = "healthy (exit 0)"
		case r.ExitCode == 0:
			verdict = "ok (exit 0)"
		}
		took := ""
		if !r.Finished.IsZero() && !r.Started.IsZero() {
			took = ", " + units.Duration(r.Finished.Sub(r.Started))
		}
		lines = append(lines, fmt.Sprintf("  - %s %s on %s %s: %s%s\n", r.Kind, r.Name, r.On, r.Host, verdict, took))
	}
	for _, c := range m.st.Copies {
		if c.Phase != contract.PhaseFinalSync {
			continue
		}
		how := c.Verify
		if c.VerifiedBy != "" {
			how += " by " + c.VerifiedBy
		}
		lines = append(lines, fmt.Sprintf("  - final_sync %s: %d copied (%s), %d deleted, %d unchanged; %d verified (%s), %d kept verified by identity; %d refused\n",
			c.Set, c.CopiedFiles, units.Bytes(c.CopiedBytes), c.Deleted, c.Unchanged, c.Verified, how, c.Kept, c.Refused))
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("- cutover results:\n")
	if len(lines) > DetailsResults {
		b.WriteString(fmt.Sprintf("  - … %d earlier results (`umzug status` lists all)\n", len(lines)-DetailsResults))
		lines = lines[len(lines)-DetailsResults:]
	}
	for _, l := range lines {
		b.WriteString(l)
	}
}

// firstLine is s up to its first line break, for one-line verdicts.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// seedLines shows what the seed copied and how it was verified.
func (m *move) seedLines(b *strings.Builder) {
	for _, c := range m.st.Copies {
		if c.Phase != contract.PhaseSeed {
			continue
		}
		how := c.Verify
		if c.VerifiedBy != "" {
			how += " by " + c.VerifiedBy
		}
		b.WriteString(fmt.Sprintf("- seed %s: %d files, %s; %d verified (%s); %d refused; manifest sha256 `%.16s…`\n",
			c.Set, c.Files, units.Bytes(c.Bytes), c.Verified, how, c.Refused, c.ManifestSHA256))
	}
}

// decisionLines lists the latest decisions, newest last.
func (m *move) decisionLines(b *strings.Builder) {
	recs := m.st.Signals
	if len(recs) == 0 {
		return
	}
	b.WriteString(fmt.Sprintf("- last decisions (%d in all):\n", len(recs)))
	for _, r := range recs[max(0, len(recs)-DetailsDecisions):] {
		verdict := "accepted"
		switch {
		case r.Name == RecordApprovalsVoided:
			verdict = r.Comment
		case !r.Accepted:
			verdict = "**refused**: " + r.Reason
		case r.KeyFingerprint != "":
			verdict = "accepted, signed by key " + r.KeyFingerprint
		}
		b.WriteString(fmt.Sprintf("  - %s %s by %s via %s: %s\n", r.At.UTC().Format("15:04:05Z"), r.Name, r.Who(), r.Via, verdict))
	}
	if m.st.SignalsDropped > 0 {
		b.WriteString(fmt.Sprintf("  - %d older refused records dropped (the latest %d refused are kept)\n", m.st.SignalsDropped, MaxRefusedRecords))
	}
}

// Who is the name a record was sent under, or says it carried none.
func (r SignalRecord) Who() string {
	if r.Identity == "" {
		return "no name"
	}
	return r.Identity
}

// Arrived describes a payload refused unread: its size and first bytes.
func (r SignalRecord) Arrived() string {
	if r.Size == 0 && r.Received == "" {
		return ""
	}
	return fmt.Sprintf("%d bytes arrived, starting %s", r.Size, r.Received)
}

// groupNote marks a block of a parallel group in the details.
func groupNote(b Block) string {
	if b.Group == 0 {
		return ""
	}
	return fmt.Sprintf(" [parallel group %d]", b.Group)
}
