package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
)

// windowOutcome is how waiting for the window ended.
type windowOutcome int

const (
	windowUsable windowOutcome = iota // the cutover may start now
	windowEnded                       // the move ended (rejected, expired, failed)
	windowVoided                      // a reschedule voided the approvals
)

// awaitWindow holds an approved move until it may start inside its window
// and the predicted cutover fits in what is left of it. Waiting for the
// window to open does not expire (the approval was given); a window that
// is too short or over waits for a reschedule, a reject, or the approval
// timeout. Reschedule and reject are accepted throughout: the phase is
// still awaiting_approval. A reschedule that voided the approvals sends
// the move back to the quorum.
func (m *move) awaitWindow(ctx workflow.Context) windowOutcome {
	for {
		if m.quorumLost() {
			return windowVoided
		}
		w := m.st.Window
		if w == nil {
			return windowUsable
		}
		gen := m.reschedules
		changed := func() bool { return m.rejected != nil || m.reschedules != gen }
		now := workflow.Now(ctx)
		end := w.NotBefore.Add(w.Duration)

		if now.Before(w.NotBefore) {
			m.st.WindowNote = fmt.Sprintf("waiting for window opening at %s (closes %s)", stamp(w.NotBefore), stamp(end))
			m.details()
			if _, err := workflow.AwaitWithTimeout(ctx, w.NotBefore.Sub(now), changed); err != nil {
				m.endBeforeCutover(PhaseRejected, "move cancelled while waiting for its window; nothing changed on the source")
				return windowEnded
			}
			if m.rejected != nil {
				m.endRejected()
				return windowEnded
			}
			continue // opened, or rescheduled: look again
		}

		var note string
		if now.Before(end) {
			predicted, breakdown, err := m.predict(ctx)
			if err != nil {
				m.endBeforeCutover(PhaseFailed, failedBefore(ctx, "final-sync estimate", err))
				return windowEnded
			}
			left := end.Sub(now)
			if predicted <= left {
				m.st.WindowNote = fmt.Sprintf("cutover predicted %s (%s), window closes in %s", units.Duration(predicted), breakdown, units.Duration(left))
				return windowUsable
			}
			note = fmt.Sprintf("predicted %s (%s), window closes in %s", units.Duration(predicted), breakdown, units.Duration(left))
		} else {
			note = fmt.Sprintf("window %s–%s has passed", stamp(w.NotBefore), stamp(end))
		}
		m.st.WindowNote = note + `: cutover not started; send reschedule {"by", "not_before", "duration"} or reject`
		m.details()
		ok, err := m.awaitDecision(ctx, changed)
		switch {
		case m.rejected != nil:
			m.endRejected()
			return windowEnded
		case err != nil:
			m.endBeforeCutover(PhaseRejected, "move cancelled while waiting for a cutover window; nothing changed on the source")
			return windowEnded
		case !ok:
			m.endBeforeCutover(PhaseExpired, fmt.Sprintf("approval timeout passed without a usable window (%s); nothing changed on the source", note))
			return windowEnded
		}
	}
}

// predict estimates how long the cutover takes now: the steps before the
// first final_sync (stop), the final sync of every copy set from a fresh
// delta estimate and the seed's measured throughput, the steps after it
// (start) and the checks (every attempt fails but the last). A step
// counts its timeout when the plan sets one, else DefaultCommandEstimate.
func (m *move) predict(ctx workflow.Context) (time.Duration, string, error) {
	if m.multi {
		return m.predictMulti(ctx)
	}
	var stop, sync, start, checks time.Duration
	synced := false
	for _, b := range m.in.Cutover.Blocks {
		switch b.Kind {
		case BlockStep:
			if synced {
				start += m.estimate(b)
			} else {
				stop += m.estimate(b)
			}
		case BlockFinalSync:
			if synced {
				continue // a second final_sync finds (almost) nothing
			}
			synced = true
			for _, set := range m.in.Copies {
				in := contract.CopyInput{MoveID: m.id, Phase: contract.PhaseFinalSync, Source: m.in.Source,
					Target: m.in.Target, Set: set, Delete: set.Delete, IdentState: m.identState[set.Name]}
				var est contract.DeltaEstimate
				if err := workflow.ExecuteActivity(estimateOptions(ctx, m.in.Target), contract.NameEstimateDelta, in).Get(ctx, &est); err != nil {
					return 0, "", fmt.Errorf("estimate delta of copy set %s: %w", set.Name, err)
				}
				sync += CopyEstimate(est, m.seedRate[set.Name])
			}
		case BlockCheck:
			checks += m.checkEstimate(b)
		}
	}
	parts := []string{}
	for _, p := range []struct {
		n string
		d time.Duration
	}{{"stop", stop}, {"final sync", sync}, {"start", start}, {"checks", checks}} {
		parts = append(parts, p.n+" "+units.Duration(p.d))
	}
	if r := m.st.Rehearsed; r != nil {
		parts = append(parts, "steps and checks as measured in rehearsal "+r.ID)
	}
	return stop + sync + start + checks, strings.Join(parts, ", "), nil
}

func commandEstimate(b Block) time.Duration {
	if b.Timeout > 0 {
		return b.Timeout
	}
	return DefaultCommandEstimate
}

// attempts is how often a check runs at most: the first try plus
// `retries` more (docs/plan-language.md), so retries = 0 runs it once.
func attempts(b Block) int { return 1 + max(0, b.Retries) }

// changeCheckRetriesExtra is the workflow.GetVersion change ID for
// "retries are attempts after the first" (before: the number of attempts).
const changeCheckRetriesExtra = "check-retries-are-extra-attempts"

func (m *move) checkReschedule(p RescheduleSignal) string {
	if p.By == "" {
		return `reschedule needs who decides: {"by": "a.meier", "not_before": "2026-12-12T18:00:00+01:00", "duration": "4h"}`
	}
	if r := m.identityProblem(p.By); r != "" {
		return r
	}
	if r := m.notInPhase(SignalReschedule, PhaseAwaitingApproval); r != "" {
		return r
	}
	if m.rejected != nil {
		return fmt.Sprintf("move was rejected by %s", m.rejected.Approver)
	}
	if r := m.checkListed(p.By); r != "" {
		return r
	}
	if p.NotBefore.IsZero() {
		return `reschedule needs "not_before" as RFC 3339, e.g. "2026-12-12T18:00:00+01:00"`
	}
	d, err := time.ParseDuration(p.Duration)
	if err != nil || d <= 0 {
		return fmt.Sprintf(`reschedule needs a positive "duration" such as "4h", got %q`, p.Duration)
	}
	return ""
}

func (m *move) applyReschedule(p RescheduleSignal) {
	d, _ := time.ParseDuration(p.Duration) // checked
	m.st.Window = &Window{NotBefore: p.NotBefore, Duration: d}
	m.st.WindowNote = fmt.Sprintf("rescheduled by %s to %s for %s", p.By, stamp(p.NotBefore), units.Duration(d))
	m.reschedules++
	m.voidApprovals(p.By)
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }
