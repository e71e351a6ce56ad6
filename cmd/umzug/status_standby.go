package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/workflows"
)

// standbyRecordOf reads the record ID from a standby schedule's action:
// `umzug status umzug/<plan>/<app>/standby` names the schedule.
func standbyRecordOf(ctx context.Context, c client.Client, scheduleID string) (string, bool) {
	d, err := c.ScheduleClient().GetHandle(ctx, scheduleID).Describe(ctx)
	if err != nil {
		return "", false
	}
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || a.Workflow != workflows.StandbySyncWorkflow || len(a.Args) == 0 {
		return "", false
	}
	var in workflows.StandbySyncInput
	p, ok := a.Args[0].(*commonpb.Payload)
	if !ok || converter.GetDefaultDataConverter().FromPayload(p, &in) != nil || in.RecordID == "" {
		return "", false
	}
	return in.RecordID, true
}

// showStandby prints a standby record's status with a fresh estimate of
// the bytes pending. Without the plan's file at hand, the re-arm command
// it may print names the plan as PLAN.
func showStandby(cmd *cobra.Command, c client.Client, id, output string) error {
	return showStandbyOf(cmd, c, id, output, "PLAN")
}

// showStandbyOf is showStandby with the plan arguments to print in the
// re-arm command. It first tells the record what the schedule says of
// itself: a pause made on the Web UI's Schedules page is recorded there.
func showStandbyOf(cmd *cobra.Command, c client.Client, id, output, plan string) error {
	var st workflows.StandbyStatus
	if err := queryStatus(cmd, c, id, &st); err != nil {
		return err
	}
	ctx := cmd.Context()
	sched := scheduleStateOf(ctx, c, strings.TrimSuffix(id, "/record"))
	var schedErr error
	if sched != nil && scheduleDiffers(st, sched) {
		var got workflows.StandbyStatus
		got, schedErr = standbyUpdate(ctx, c, id, workflows.UpdateScheduleState,
			workflows.ScheduleState{Paused: sched.Paused, Note: sched.Note, SeenBy: currentUser()})
		if schedErr == nil {
			st = got
		}
	}
	est := freshEstimate(ctx, c, id)
	fb := failbackOf(ctx, c, st)
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), struct {
			workflows.StandbyStatus
			Lag      string                    `json:"lag,omitempty"`
			Estimate workflows.StandbyEstimate `json:"estimate"`
			Schedule *scheduleState            `json:"schedule,omitempty"`
			Failback *failbackState            `json:"failback,omitempty"`
		}{st, standbyLag(st, time.Now()).String(), est, sched, fb})
	}
	printStandby(cmd.OutOrStdout(), id, st, est, time.Now())
	printStandbyFailover(cmd.OutOrStdout(), st, fb, plan)
	if sched != nil && sched.Paused && !st.Paused {
		fmt.Fprintf(cmd.OutOrStdout(), "SCHEDULE    paused outside umzug (the Web UI's Schedules page or the temporal CLI), not recorded as a decision (%v): %q; "+
			"record it with `umzug standby pause` or undo it with `umzug standby resume`\n", schedErr, sched.Note)
	}
	return nil
}

// scheduleDiffers reports whether the schedule's pause state is news to
// the record: paused while the record syncs, or unpaused while the record
// holds a pause it read from the schedule.
func scheduleDiffers(st workflows.StandbyStatus, sched *scheduleState) bool {
	if st.FailedOver != "" {
		return false
	}
	return (sched.Paused && !st.Paused) || (!sched.Paused && st.Paused && st.PausedVia == workflows.ViaSchedule)
}

// failbackState is what the failback of a standby's failover says.
type failbackState struct {
	ID    string    `json:"id"`
	Phase string    `json:"phase,omitempty"`
	At    time.Time `json:"at,omitempty"`
	Error string    `json:"error,omitempty"`
}

// failbackOf reads the failback of the record's failover; nil when the
// standby did not fail over.
func failbackOf(ctx context.Context, c client.Client, st workflows.StandbyStatus) *failbackState {
	if st.FailedOver == "" {
		return nil
	}
	fb := &failbackState{ID: workflows.FailbackID(st.FailedOver)}
	var ms workflows.Status
	v, err := c.QueryWorkflow(ctx, fb.ID, "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&ms)
	}
	if err != nil {
		fb.Error = err.Error()
		return fb
	}
	fb.Phase = ms.Phase
	for _, pc := range ms.Phases {
		if pc.Phase == ms.Phase {
			fb.At = pc.At
		}
	}
	return fb
}

// printStandbyFailover says where a standby stands after a failover and
// what brings it back: the failback, then a re-arm.
func printStandbyFailover(w io.Writer, st workflows.StandbyStatus, fb *failbackState, plan string) {
	if r := st.Rearmed; r != nil {
		fmt.Fprintf(w, "re-armed    after failback %s (committed at %s) by %s at %s; failed over %s at %s\n",
			r.Failback, r.FailbackAt.UTC().Format(time.RFC3339), r.By, r.At.UTC().Format(time.RFC3339), r.Failover, r.FailedAt.UTC().Format(time.RFC3339))
	}
	if st.ScheduleErr != "" {
		fmt.Fprintf(w, "schedule    %s\n", st.ScheduleErr)
	}
	if fb == nil {
		return
	}
	at := st.FailedOverAt.UTC().Format(time.RFC3339)
	rearm := fmt.Sprintf("umzug standby start %s --app %s --as USER", plan, st.Application)
	switch {
	case fb.Phase == workflows.PhaseCommitted:
		fmt.Fprintf(w, "next        failed over at %s; failback %s committed at %s; re-arm with: %s\n", at, fb.ID, fb.At.UTC().Format(time.RFC3339), rearm)
	case fb.Phase != "":
		fmt.Fprintf(w, "next        failed over at %s; failback %s is %s; once it commits, re-arm with: %s\n", at, fb.ID, fb.Phase, rearm)
	default:
		fmt.Fprintf(w, "next        failed over at %s; no failback yet: fail back with `umzug failback %s --as USER`, then re-arm with: %s\n", at, st.FailedOver, rearm)
	}
}

// scheduleState is what the sync schedule itself says: it can be paused
// on the Web UI's Schedules page, which the record does not see.
type scheduleState struct {
	Paused bool   `json:"paused"`
	Note   string `json:"note,omitempty"`
}

// scheduleStateOf describes the schedule; nil when it cannot be read.
func scheduleStateOf(ctx context.Context, c client.Client, scheduleID string) *scheduleState {
	d, err := c.ScheduleClient().GetHandle(ctx, scheduleID).Describe(ctx)
	if err != nil || d == nil || d.Schedule.State == nil {
		return nil
	}
	return &scheduleState{Paused: d.Schedule.State.Paused, Note: d.Schedule.State.Note}
}

// standbyLag is the age of the last verified sync (0 when none).
func standbyLag(st workflows.StandbyStatus, now time.Time) time.Duration {
	if st.LastVerified == nil {
		return 0
	}
	return now.Sub(st.LastVerified.Finished).Truncate(time.Second)
}

func printStandby(w io.Writer, id string, st workflows.StandbyStatus, est workflows.StandbyEstimate, now time.Time) {
	fmt.Fprintf(w, "standby     %s\n", id)
	fmt.Fprintf(w, "plan        %s (sha256 %s)\n", st.PlanName, st.PlanSHA256)
	fmt.Fprintf(w, "from → to   %s → %s, every %s (max lag %s)\n", st.Source, st.Target, st.Interval, st.MaxLag)
	fmt.Fprintf(w, "started by  %s\n", st.StartedBy)
	if v := st.LastVerified; v != nil {
		lag := standbyLag(st, now)
		flag := "within max lag"
		switch {
		case st.FailedOver != "":
			flag = "the standby stopped at the failover"
		case lag > st.MaxLag:
			flag = fmt.Sprintf("BEHIND: older than max lag %s", st.MaxLag)
		}
		fmt.Fprintf(w, "lag         %s (last verified sync %s, %s)\n", lag, v.Finished.Format(time.RFC3339), flag)
		for _, m := range v.Manifests {
			fmt.Fprintf(w, "manifest    %s %s sha256 %s\n", m.Set, m.Path, m.SHA256)
		}
	} else {
		fmt.Fprintf(w, "lag         no verified sync yet\n")
	}
	if est.Error != "" {
		fmt.Fprintf(w, "pending     unknown (%s)\n", est.Error)
	} else {
		fmt.Fprintf(w, "pending     %s in %d files, %d to delete (estimate at %s)\n",
			units.Bytes(est.ChangedBytes), est.ChangedFiles, est.DeletedFiles, est.At.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "syncs       %d verified, %d failed, %d skipped\n", st.Syncs, st.FailedSyncs, st.Skipped)
	if l := st.LastSync; l != nil && !l.OK() {
		fmt.Fprintf(w, "last sync   %s failed: %s\n", l.WorkflowID, l.Error)
	}
	if st.Running != "" {
		fmt.Fprintf(w, "running     %s\n", st.Running)
	}
	if st.Lost != "" {
		fmt.Fprintf(w, "lost sync   %s ended without reporting (terminated or timed out); later syncs run\n", st.Lost)
	}
	if st.Paused && st.PausedVia == workflows.ViaSchedule {
		fmt.Fprintf(w, "PAUSED      on the schedule (seen at %s): %s; resume with `umzug standby resume` or unpause it there\n", st.PausedAt.Format(time.RFC3339), st.PauseReason)
	} else if st.Paused {
		fmt.Fprintf(w, "PAUSED      by %s at %s: %s\n", st.PausedBy, st.PausedAt.Format(time.RFC3339), st.PauseReason)
	} else {
		fmt.Fprintf(w, "paused      no\n")
	}
	if st.FailedOver != "" {
		fmt.Fprintf(w, "failed over %s at %s\n", st.FailedOver, st.FailedOverAt.Format(time.RFC3339))
	}
	if st.FailoverErr != "" {
		fmt.Fprintf(w, "failover    %s\n", st.FailoverErr)
	}
	for _, s := range st.Signals {
		verdict := "accepted"
		if !s.Accepted {
			verdict = "refused: " + s.Reason
		}
		fmt.Fprintf(w, "signal      %s by %s at %s (%s): %s\n", s.Name, s.Identity, s.At.Format(time.RFC3339),
			strings.TrimSpace(s.Comment), verdict)
	}
}

// printFailover shows a failover's emergency approval, its second
// confirmation and where the target's data came from.
func printFailover(w io.Writer, f *workflows.FailoverState, now time.Time) {
	if f == nil {
		return
	}
	fmt.Fprintf(w, "failover    by %s (emergency approval): %s\n", f.By, f.Reason)
	switch {
	case f.ConfirmedBy != "" && f.ConfirmedLate:
		fmt.Fprintf(w, "confirmed   by %s at %s, LATE: was OVERDUE since %s\n", f.ConfirmedBy, f.ConfirmedAt.Format(time.RFC3339), f.ConfirmBy.Format(time.RFC3339))
	case f.ConfirmedBy != "":
		fmt.Fprintf(w, "confirmed   by %s at %s (due by %s)\n", f.ConfirmedBy, f.ConfirmedAt.Format(time.RFC3339), f.ConfirmBy.Format(time.RFC3339))
	case f.Overdue || now.After(f.ConfirmBy):
		fmt.Fprintf(w, "confirm     OVERDUE since %s: no second emergency approver has confirmed (umzug confirm ID --as USER)\n", f.ConfirmBy.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "confirm     due by %s from a second emergency approver (umzug confirm ID --as USER)\n", f.ConfirmBy.Format(time.RFC3339))
	}
	if f.SourceUnreachable {
		note := "no verified standby copy"
		if f.StandbyCopy != nil {
			note = "proceeded from " + workflows.StandbyCopyNote(f.StandbyCopy)
		}
		fmt.Fprintf(w, "source      unreachable (%s): %s\n", f.SourceError, note)
	}
	for _, s := range f.Skipped {
		fmt.Fprintf(w, "skipped     %s\n", s)
	}
}
