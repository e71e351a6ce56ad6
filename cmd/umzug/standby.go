package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newStandbyCmd) }

// standbyFlags are shared by the standby subcommands.
type standbyFlags struct {
	vf     varFlags
	app    string
	as     string
	reason string
	queue  string
}

func newStandbyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "standby",
		Short: "Keep a partner site's copy warm on a schedule: start, pause, resume, status",
		Long: `standby manages the standby of an application with a standby block: a
Temporal Schedule (ID umzug/<plan>/<app>/standby) runs a verified delta copy
into the target each interval; the record workflow
(umzug/<plan>/<app>/standby/record) keeps the last verified sync, every
pause and resume decision, and fails over on its "failover" signal.`,
	}
	for _, sub := range []struct {
		use, short string
		run        func(*cobra.Command, *standbyFlags) error
	}{
		{"start PLAN", "Start the standby: its record and its schedule (the first sync runs at once)", runStandbyStart},
		{"pause PLAN", "Pause the syncs (recorded with who and why)", func(c *cobra.Command, f *standbyFlags) error {
			return runStandbyDecision(c, f, workflows.SignalPause)
		}},
		{"resume PLAN", "Resume the syncs (recorded with who and why)", func(c *cobra.Command, f *standbyFlags) error {
			return runStandbyDecision(c, f, workflows.SignalResume)
		}},
		{"status PLAN", "Lag, bytes pending and pause state of the standby", runStandbyStatus},
	} {
		f := &standbyFlags{}
		c := &cobra.Command{Use: sub.use, Short: sub.short, Args: cobra.MinimumNArgs(1),
			RunE: func(c *cobra.Command, _ []string) error { return sub.run(c, f) }}
		f.vf.register(c)
		c.Flags().StringVar(&f.app, "app", "", "the application (required)")
		if sub.use == "status PLAN" {
			c.Flags().StringVar(&f.as, "as", "", "who reads the status; named if it records a pause made on the schedule (default $USER)")
		} else {
			addDecisionAs(c, &f.as, "who decides: an operator or emergency approver of the plan")
			addReason(c, &f.reason, "why (recorded)")
		}
		addQueueFlag(c, &f.queue, "task queue of the workflow workers")
		_ = c.MarkFlagRequired("app")
		cmd.AddCommand(c)
	}
	return cmd
}

// standbyIDs loads the plan and names the application's standby.
func standbyIDs(cmd *cobra.Command, f *standbyFlags) (recordID, scheduleID string, err error) {
	p, err := loadPlan(cmd, cmd.Flags().Args(), &f.vf)
	if err != nil {
		return "", "", err
	}
	app, err := launch.StandbyApp(p, f.app)
	if err != nil {
		return "", "", &exitError{code: 1, err: err}
	}
	return workflows.StandbyRecordID(p.Name, app.Name), workflows.StandbyScheduleID(p.Name, app.Name), nil
}

func runStandbyStart(cmd *cobra.Command, f *standbyFlags) error {
	p, err := loadPlan(cmd, cmd.Flags().Args(), &f.vf)
	if err != nil {
		return err
	}
	c, err := dialAs(cmd, &f.as)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := cmd.Context()
	s, err := launch.StartStandby(ctx, c, p, f.app, launch.Options{StartedBy: f.as, TaskQueue: f.queue, Namespace: temporalNamespace()})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	out := cmd.OutOrStdout()
	note := func(had bool) string {
		if had {
			return "already there; kept"
		}
		return "started"
	}
	fmt.Fprintf(out, "standby record %s (%s)\n  %s\n", s.RecordID, note(s.RecordRunning), launch.UILink(uiBase(), temporalNamespace(), s.RecordID))
	fmt.Fprintf(out, "standby schedule %s (%s)\n", s.ScheduleID, note(s.ScheduleHad))
	if s.RecordRunning {
		return rearmIfFailedOver(cmd, c, s.RecordID, f)
	}
	return nil
}

// rearmIfFailedOver re-arms a standby that failed over, once the failback
// of that failover committed: `standby start` is what a lead runs to get
// the standby back, so it does not answer "kept" while nothing syncs.
// The record itself checks that the failback committed.
func rearmIfFailedOver(cmd *cobra.Command, c client.Client, recordID string, f *standbyFlags) error {
	var st workflows.StandbyStatus
	if err := queryStatus(cmd, c, recordID, &st); err != nil {
		return err
	}
	if st.FailedOver == "" {
		return nil
	}
	fo, fb := st.FailedOver, workflows.FailbackID(st.FailedOver)
	st, err := standbyUpdate(cmd.Context(), c, recordID, workflows.UpdateRearm,
		workflows.StandbyDecision{By: f.as, Reason: f.reason, Failback: fb})
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("the standby stays stopped since failover %s: %w", fo, err)}
	}
	r := st.Rearmed
	fmt.Fprintf(cmd.OutOrStdout(), "re-armed after failback %s (committed at %s) by %s: %s → %s again, schedule unpaused, a sync runs now\n",
		r.Failback, r.FailbackAt.UTC().Format(time.RFC3339), r.By, st.Source, st.Target)
	return nil
}

// runStandbyDecision records a pause or resume in the record, then
// pauses or unpauses the schedule to match (the record refuses syncs
// while paused either way).
func runStandbyDecision(cmd *cobra.Command, f *standbyFlags, name string) error {
	d, err := sendStandbyDecision(cmd, f, name)
	if err != nil {
		return err
	}
	c, recordID, scheduleID := d.c, d.recordID, d.scheduleID
	defer c.Close()
	ctx := cmd.Context()
	h := c.ScheduleClient().GetHandle(ctx, scheduleID)
	note := fmt.Sprintf("%s by %s: %s", name, f.as, f.reason)
	if name == workflows.SignalPause {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s accepted for %s (recorded)\n", name, recordID)
	if err != nil {
		fmt.Fprintf(out, "schedule %s not changed (%v); the record skips syncs while paused anyway\n", scheduleID, err)
	}
	return nil
}

// sentDecision is a decision the standby record accepted, with the
// client that sent it (the caller closes it) and the IDs it went to.
type sentDecision struct {
	c                    client.Client
	st                   workflows.StandbyStatus
	recordID, scheduleID string
}

// sendStandbyDecision sends decision name (pause, resume, failover) as
// f.as (default $USER) to the standby record of the application f names.
// A refusal is exit 1 with the record's reason.
func sendStandbyDecision(cmd *cobra.Command, f *standbyFlags, name string) (sentDecision, error) {
	recordID, scheduleID, err := standbyIDs(cmd, f)
	if err != nil {
		return sentDecision{}, err
	}
	if f.as == "" {
		f.as = currentUser()
	}
	ctx := cmd.Context()
	c, err := dialFromEnv(ctx, strings.TrimSpace(f.as)+"@umzug-cli")
	if err != nil {
		return sentDecision{}, err
	}
	st, err := standbyUpdate(ctx, c, recordID, name, workflows.StandbyDecision{By: f.as, Reason: f.reason})
	if err != nil {
		c.Close()
		return sentDecision{}, &exitError{code: 1, err: err}
	}
	return sentDecision{c: c, st: st, recordID: recordID, scheduleID: scheduleID}, nil
}

// standbyUpdate sends a decision to a standby record; a refusal comes
// back with the reason (and is recorded there).
func standbyUpdate(ctx context.Context, c client.Client, id, name string, arg any) (workflows.StandbyStatus, error) {
	var st workflows.StandbyStatus
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	var notFound *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		return st, fmt.Errorf("no running standby %s: start it with `umzug standby start PLAN --app NAME`", id)
	case errors.As(err, &app) && app.Type() == contract.ErrRefused:
		return st, fmt.Errorf("%s of %s refused (recorded in its history): %s", name, id, app.Message())
	case err != nil:
		return st, fmt.Errorf("%s of %s: %w", name, id, err)
	}
	return st, nil
}

func runStandbyStatus(cmd *cobra.Command, f *standbyFlags) error {
	recordID, _, err := standbyIDs(cmd, f)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	c, err := dialFromEnv(ctx, currentUser()+"@umzug-cli")
	if err != nil {
		return err
	}
	defer c.Close()
	return showStandbyOf(cmd, c, recordID, "text", planArgs(cmd))
}

// planArgs is how the command named its plan, for commands it prints:
// the plan files, and a reminder of the variables (their values may be
// secrets, so they are not repeated).
func planArgs(cmd *cobra.Command) string {
	s := strings.Join(cmd.Flags().Args(), " ")
	vs, _ := cmd.Flags().GetStringArray("var")
	fs, _ := cmd.Flags().GetStringArray("var-file")
	if len(vs)+len(fs) > 0 {
		s += " [the same --var/--var-file flags]"
	}
	return s
}

// freshEstimate asks the record for a dry delta scan, bounded in time.
func freshEstimate(ctx context.Context, c client.Client, id string) workflows.StandbyEstimate {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var e workflows.StandbyEstimate
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateEstimate, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &e)
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}
