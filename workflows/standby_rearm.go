package workflows

import (
	"fmt"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// maxScheduleNote bounds what the record keeps of a schedule's note and
// of who read it: both come from outside the record.
const maxScheduleNote = 500

// registerRearm handles the record's two ways back to syncing after it
// stopped outside an ordinary pause: the re-arm after a failback, and the
// schedule's own pause state read by the CLI.
func (s *standby) registerRearm(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRearm, s.rearm, workflow.UpdateHandlerOptions{
		Description: `After the failback of this standby's failover committed: sync in the original direction again (the plan's operators or emergency approvers). ` +
			`JSON: {"by": "k.meier", "failback": "umzug/<plan>/<app>/failover/<time>/failback", "reason": "OWL-IT restored"}`,
	})
	if err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateScheduleState, s.scheduleState, workflow.UpdateHandlerOptions{
		Description: `What the schedule says of itself (sent by umzug standby status): a pause made on the Web UI's Schedules page is recorded.`,
	})
}

// checkRearm refuses a re-arm before a failover, by someone the plan does
// not name, or after another failback than the failover's.
func (s *standby) checkRearm(p StandbyDecision) string {
	switch {
	case identityRefusal(UpdateRearm, p.By) != "":
		return identityRefusal(UpdateRearm, p.By)
	case s.roleRefusalAlways("re-arm", p.By) != "":
		return s.roleRefusalAlways("re-arm", p.By)
	case s.st.FailedOver == "" || s.st.FailedOverAt == nil:
		return fmt.Sprintf("the standby of %s did not fail over; it is armed (pause and resume it instead)", s.in.Application)
	case p.Failback != FailbackID(s.st.FailedOver):
		return fmt.Sprintf("%q is not the failback of failover %s; re-arm after %s has committed", clipNote(p.Failback), s.st.FailedOver, FailbackID(s.st.FailedOver))
	}
	return ""
}

// rearm re-arms the standby after the failback of its failover committed:
// the data is back at the source, so syncing source → partner is right
// again. The record reads the failback's outcome itself (an activity)
// rather than trusting the caller. The verified copy from before the
// failover no longer describes the partner and is dropped: a failover
// without the source needs a sync after the re-arm.
func (s *standby) rearm(ctx workflow.Context, p StandbyDecision) (StandbyStatus, error) {
	reason := s.checkRearm(p)
	var out FailbackOutcome
	if reason == "" {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
		})
		if err := workflow.ExecuteActivity(actx, ActivityFailbackOutcome, p.Failback).Get(actx, &out); err != nil {
			reason = fmt.Sprintf("failback %s could not be read: %s", p.Failback, cause(err))
		} else if reason = s.checkRearm(p); reason == "" {
			switch {
			case out.FailbackOf != s.st.FailedOver:
				reason = fmt.Sprintf("workflow %s is not the failback of %s (it reverses %q)", p.Failback, s.st.FailedOver, out.FailbackOf)
			case out.Phase != PhaseCommitted:
				reason = fmt.Sprintf("failback %s is in phase %s, not committed: the standby stays stopped until it commits", p.Failback, out.Phase)
			}
		}
	}
	comment := p.Reason
	if reason == "" {
		comment = fmt.Sprintf("re-armed after failback %s by %s", p.Failback, p.By)
		if p.Reason != "" {
			comment += ": " + p.Reason
		}
	}
	s.record(SignalRecord{Name: UpdateRearm, Identity: p.By, Comment: comment, Via: "update", Accepted: reason == "", Reason: reason})
	if reason != "" {
		return s.st, temporal.NewNonRetryableApplicationError(reason, contract.ErrRefused, nil)
	}
	now := workflow.Now(ctx)
	s.st.Rearmed = &StandbyRearm{Failover: s.st.FailedOver, FailedAt: *s.st.FailedOverAt, Failback: p.Failback,
		FailbackAt: out.At, By: p.By, At: now}
	s.st.FailedOver, s.st.FailedOverAt, s.st.FailoverErr = "", nil, ""
	s.failoverReq = nil
	s.st.LastVerified = nil
	s.resume()
	s.setSchedulePaused(ctx, SchedulePause{Paused: false, Trigger: true, Note: comment})
	return s.st, nil
}

// scheduleState records a pause or unpause made on the schedule itself
// (the Web UI's Schedules page or the temporal CLI), as the CLI read it.
// It is a fact, not a request: no role is needed, and the reader is
// named. Only a difference is recorded; an unpause ends only a pause that
// came from the schedule.
func (s *standby) scheduleState(_ workflow.Context, p ScheduleState) (StandbyStatus, error) {
	note, by := clipNote(p.Note), clipNote(p.SeenBy)
	switch {
	case p.Paused && !s.st.Paused && s.st.FailedOver == "":
		why := fmt.Sprintf("paused in the Web UI's Schedules page, note: %q", note)
		s.pause("the schedule", why)
		s.st.PausedVia = ViaSchedule
		s.record(SignalRecord{Name: SignalPause, Identity: "the schedule", Comment: why + "; read by " + by, Via: ViaSchedule, Accepted: true})
	case !p.Paused && s.st.Paused && s.st.PausedVia == ViaSchedule:
		s.resume()
		s.record(SignalRecord{Name: SignalResume, Identity: "the schedule",
			Comment: fmt.Sprintf("unpaused in the Web UI's Schedules page, note: %q; read by %s", note, by), Via: ViaSchedule, Accepted: true})
	}
	return s.st, nil
}

// clipNote cuts s to maxScheduleNote bytes on a rune boundary.
func clipNote(s string) string {
	if len(s) <= maxScheduleNote {
		return s
	}
	s = s[:maxScheduleNote]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
