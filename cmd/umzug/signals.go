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

	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/workflows"

	"github.com/umzug-dev/umzug/activities/contract"
)

func init() {
	register(newApproveCmd)
	register(newRejectCmd)
	register(newRollbackCmd)
	register(newCommitCmd)
	register(newRescheduleCmd)
}

// sendUpdate sends one of the move's decisions as an Update, so the
// workflow's validator can refuse it at once with the reason.
func sendUpdate(cmd *cobra.Command, id, name string, arg any, identity string) error {
	c, err := dialFromEnv(cmd.Context(), strings.TrimSpace(identity)+"@umzug-cli")
	if err != nil {
		return err
	}
	defer c.Close()
	return sendVia(cmd, c, id, name, arg)
}

// sendVia sends one decision on an open client and reports its outcome.
func sendVia(cmd *cobra.Command, c client.Client, id, name string, arg any) error {
	st, err := decide(cmd.Context(), c, id, name, arg)
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return &exitError{code: 1, err: fmt.Errorf("no running move %s: %w (see `umzug status`)", id, err)}
	case err != nil:
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.Type() == contract.ErrRefused {
			// The reason alone; the workflow recorded it.
			return &exitError{code: 1, err: fmt.Errorf("%s of %s refused (recorded in its history): %s", name, id, app.Message())}
		}
		return &exitError{code: 1, err: fmt.Errorf("%s of %s refused: %w", name, id, err)}
	}
	fmt.Fprint(cmd.OutOrStdout(), decisionOutcome(name, id, st, time.Now()))
	return nil
}

// decisionOutcome says what an accepted decision changed and what comes
// next: more approvals needed, or the quorum reached and when the cutover
// starts.
func decisionOutcome(name, id string, st workflows.Status, now time.Time) string {
	head := fmt.Sprintf("%s accepted for %s", name, id)
	if name != workflows.SignalApprove {
		return fmt.Sprintf("%s; phase %s\n", head, st.Phase)
	}
	if st.ApprovalsNeeded > 0 {
		return fmt.Sprintf("%s; still needed: %d more approval(s) from %s\n",
			head, st.ApprovalsNeeded, strings.Join(st.PendingApprovers, ", "))
	}
	next := approvedNext(id, st, now)
	if st.Phase != workflows.PhaseAwaitingApproval {
		next = "phase " + st.Phase
	}
	return fmt.Sprintf("%s; quorum reached (approved by %s): %s\n", head, strings.Join(st.Approvals, ", "), next)
}

// approvedNext says what the reached quorum starts, by the window as it
// stands at now: the workflow starts the cutover only inside the window
// and when the predicted cutover fits in what is left of it.
func approvedNext(id string, st workflows.Status, now time.Time) string {
	w := st.Window
	if w == nil {
		return "the cutover starts now"
	}
	end := w.NotBefore.Add(w.Duration)
	switch {
	case now.Before(w.NotBefore):
		return fmt.Sprintf("the cutover starts when the window opens at %s (it closes %s)",
			w.NotBefore.Local().Format(time.RFC3339), end.Local().Format(time.RFC3339))
	case now.Before(end):
		return fmt.Sprintf("the cutover starts now if its predicted duration fits in the %s left of the window; `umzug status %s` shows the prediction",
			units.Duration(end.Sub(now).Round(time.Minute)), id)
	}
	return fmt.Sprintf("nothing starts: the window %s–%s has passed. Set a new window with "+
		"`umzug reschedule %s --as USER --not-before TIME --duration DUR` (the approvals are then asked for again), or end the move with `umzug reject %s`",
		w.NotBefore.Local().Format(time.RFC3339), end.Local().Format(time.RFC3339), id, id)
}

// decide sends one decision as an Update and waits for its outcome. The
// workflow records every decision it handles, refused and malformed ones
// too, and a refusal comes back as a Refused application error with the
// reason. Any other failure (no such update on an older worker, the
// server unreachable) reached no workflow and is only reported here. The
// CLI and the demo both decide through here.
func decide(ctx context.Context, c client.Client, id, name string, arg any) (workflows.Status, error) {
	var st workflows.Status
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	return st, err
}

// reviewed computes what an approval is bound to from the plan the
// approver reviewed: the plan SHA-256 (files) and the run digest (files
// and the variable values given with --var, --var-file, UMZUG_VAR_*).
// Both are "" when no plan was given.
func reviewed(cmd *cobra.Command, paths []string, vf *varFlags) (planSHA, runDigest string, err error) {
	if len(paths) == 0 {
		return "", "", nil
	}
	p, err := loadPlan(cmd, paths, vf)
	if err != nil {
		return "", "", err
	}
	return p.SHA256, p.RunDigest(), nil
}

func newApproveCmd() *cobra.Command {
	var as, comment string
	var planFiles []string
	var vf varFlags
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "approve ID --as USER [--reason TEXT] [--plan FILE [--var NAME=VALUE …]] [--sign-key KEY | --print-statement]",
		Short: "Approve a move's cutover (the Web UI's approve signal, checked at once)",
		Long: `approve records USER's approval of the move ID. It is refused, with the
reason, when USER is not a listed approver, started the move (four-eyes),
has approved already, or the move is not awaiting approval; identities are
compared by PRECIS UsernameCaseMapped (RFC 8265), look-alike names count as
one person, and a comment is at most 1 KiB. With --plan the
approval is bound to that plan's SHA-256 and to its run digest, computed
from the plan files and the variable values given here (--var, --var-file,
UMZUG_VAR_*): it is refused if the move runs other files or other values.
A plan with require_run_digest = true refuses approvals without --plan.
A plan with signers needs the decision signed: --sign-key KEY signs it with
KEY (a private key file, or KEY.pub for the key in the SSH agent);
--print-statement prints the statement to sign with ssh-keygen instead.
Refusals are recorded in the move's history either way.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sha, run, err := reviewed(cmd, planFiles, &vf)
			if err != nil {
				return err
			}
			if run != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "binding the approval to run digest %s\n", run)
			}
			return sf.send(cmd, args[0], workflows.SignalApprove, as, comment, func(sig, at string) any {
				return workflows.ApproveSignal{Approver: as, Comment: comment, PlanSHA256: sha, RunDigest: run, Signature: sig, SignedAt: at}
			})
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "the approver, as listed in the plan")
	addReason(cmd, &comment, "why, e.g. the change number (recorded)")
	cmd.Flags().StringSliceVar(&planFiles, "plan", nil, "plan file(s) reviewed; binds the approval to their SHA-256 and the run digest")
	vf.register(cmd)
	return cmd
}

func newRejectCmd() *cobra.Command {
	var as, reason string
	var planFiles []string
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "reject ID --as USER [--reason TEXT] [--sign-key KEY | --print-statement]",
		Short: "Reject a move's cutover; the move ends as rejected, nothing changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			digest, _, err := reviewed(cmd, planFiles, nil)
			if err != nil {
				return err
			}
			return sf.send(cmd, args[0], workflows.SignalReject, as, reason, func(sig, at string) any {
				return workflows.RejectSignal{Approver: as, Reason: reason, PlanSHA256: digest, Signature: sig, SignedAt: at}
			})
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "the approver who rejects, as listed in the plan")
	addReason(cmd, &reason, "why (recorded)")
	cmd.Flags().StringSliceVar(&planFiles, "plan", nil, "plan file(s) reviewed")
	return cmd
}

func newRollbackCmd() *cobra.Command {
	var as, reason string
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "rollback ID --as USER [--reason TEXT] [--sign-key KEY | --print-statement]",
		Short: "During soak: undo the cutover and run the source again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.send(cmd, args[0], workflows.SignalRollback, as, reason, func(sig, at string) any {
				return workflows.RollbackSignal{By: as, Reason: reason, Signature: sig, SignedAt: at}
			})
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "who decides: an approver or operator of the plan")
	addReason(cmd, &reason, "why (recorded)")
	return cmd
}

func newCommitCmd() *cobra.Command {
	var as string
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "commit ID --as USER [--sign-key KEY | --print-statement]",
		Short: "During soak: end the soak now and keep the target",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.send(cmd, args[0], workflows.SignalCommit, as, "", func(sig, at string) any {
				return workflows.CommitSignal{By: as, Signature: sig, SignedAt: at}
			})
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "who decides: an approver or operator of the plan")
	return cmd
}

func newRescheduleCmd() *cobra.Command {
	var as, comment, notBefore, duration string
	cmd := &cobra.Command{
		Use:   "reschedule ID --as USER --not-before TIME --duration DUR",
		Short: "Move the cutover window of a move that awaits approval or its window",
		Long: `reschedule sets a new cutover window, e.g. when the agreed window has
passed or is too short for the predicted cutover. Only a listed approver may
reschedule. TIME is RFC 3339 (2026-12-12T18:00:00+01:00), DUR a duration (4h).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nb, err := time.Parse(time.RFC3339, notBefore)
			if err != nil {
				return fmt.Errorf("--not-before %q: use RFC 3339, e.g. 2026-12-12T18:00:00+01:00", notBefore)
			}
			if _, err := time.ParseDuration(duration); err != nil {
				return fmt.Errorf("--duration %q: use a duration such as 4h or 90m", duration)
			}
			return sendUpdate(cmd, args[0], workflows.SignalReschedule,
				workflows.RescheduleSignal{By: as, NotBefore: nb, Duration: duration, Comment: comment}, as)
		},
	}
	addDecisionAs(cmd, &as, "the approver who moves the window, as listed in the plan")
	cmd.Flags().StringVar(&notBefore, "not-before", "", "window start, RFC 3339 (required)")
	cmd.Flags().StringVar(&duration, "duration", "", "window length, e.g. 4h (required)")
	addReason(cmd, &comment, "why, e.g. the change number (recorded)")
	return cmd
}
