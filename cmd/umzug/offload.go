package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newOffloadCmd) }

func newOffloadCmd() *cobra.Command {
	var vf varFlags
	var app, set, sel, as, queue string
	cmd := &cobra.Command{
		Use:   "offload PLAN --app NAME [--set OFFLOAD] [--select GLOB] --as USER",
		Short: "Hand a share of the source's jobs to the partner site for production there",
		Long: `offload starts one hand-over of an application's offload block
(workflow umzug/<plan>/<app>/offload/<UTC>): it claims the selected jobs
at the source (moved out of the queue, so they cannot be produced at home
as well), copies them to the partner verified, waits for the partner's
acceptance (umzug offload accept|refuse ID), takes each job in once,
waits until the partner produced them, copies the results back and
archives the jobs at the source with a record per job. A refusal, no
acceptance in time, a cancel or a failure puts every job the partner did
not take in back into the source's queue.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(cmd, args, &vf)
			if err != nil {
				return err
			}
			c, err := dialAs(cmd, &as)
			if err != nil {
				return err
			}
			defer c.Close()
			s, err := launch.StartOffload(cmd.Context(), c, p, app, set, sel,
				launch.Options{StartedBy: as, TaskQueue: queue, Namespace: temporalNamespace()}, time.Now())
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			note := "started"
			if s.AlreadyRunning {
				note = "already running"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "offload %s (%s)\n  %s\n  the partner accepts with `umzug offload accept %s --as USER`\n",
				s.ID, note, launch.UILink(uiBase(), temporalNamespace(), s.ID), s.ID)
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "the application (required)")
	cmd.Flags().StringVar(&set, "set", "", "the offload block (default: the application's only one)")
	cmd.Flags().StringVar(&sel, "select", "", "a glob under the queue root that every job must match as well as the plan's select")
	addDecisionAs(cmd, &as, "who starts the hand-over (four-eyes: they cannot accept it)")
	addQueueFlag(cmd, &queue, "task queue of the workflow workers")
	_ = cmd.MarkFlagRequired("app")
	for _, name := range []string{workflows.SignalAccept, workflows.SignalRefuse} {
		cmd.AddCommand(newOffloadDecisionCmd(name))
	}
	return cmd
}

func newOffloadDecisionCmd(name string) *cobra.Command {
	var as, comment string
	var sf signFlags
	short := "Accept a hand-over as a person of the partner (the offload's accept approvers)"
	if name == workflows.SignalRefuse {
		short = "Refuse a hand-over: every job goes back to the source's queue"
	}
	cmd := &cobra.Command{
		Use:   name + " ID --as USER [--reason TEXT] [--sign-key KEY | --print-statement]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return offloadDecide(cmd, &sf, args[0], name, as, comment)
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "the deciding person, as listed in the offload's accept block")
	addReason(cmd, &comment, "why (recorded)")
	return cmd
}

// offloadDecide sends accept or refuse, signed when the plan names
// signers, and prints what the offload does next.
func offloadDecide(cmd *cobra.Command, sf *signFlags, id, name, as, comment string) error {
	ctx := cmd.Context()
	c, err := dialFromEnv(ctx, strings.TrimSpace(as)+"@umzug-cli")
	if err != nil {
		return err
	}
	defer c.Close()
	p := workflows.OffloadDecision{By: as, Comment: comment}
	if sf.key != "" || sf.print {
		var st workflows.OffloadStatus
		if err := queryStatus(cmd, c, id, &st); err != nil {
			return err
		}
		if st.Signing == nil {
			return &exitError{code: 1, err: fmt.Errorf("offload %s takes unsigned decisions (its accept block names no signers); send it without --sign-key and --print-statement", id)}
		}
		at := time.Now().UTC().Truncate(time.Second)
		s := decisionsig.Statement{MoveID: st.Signing.MoveID, RunID: st.Signing.RunID, Decision: name, Signer: as, Comment: comment, Time: at}
		if sf.print {
			printStatement(cmd, s, id, name)
			return nil
		}
		signer, err := audit.LoadSigner(sf.key, fmt.Sprintf("sign the statement yourself: `umzug offload %s %s --as %s --print-statement`", name, id, as))
		if err != nil {
			return &exitError{code: 1, err: err}
		}
		if p.Signature, err = decisionsig.Sign(s, signer); err != nil {
			return &exitError{code: 1, err: err}
		}
		p.SignedAt = at.Format(decisionsig.TimeFormat)
	}
	var st workflows.OffloadStatus
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: name, Args: []any{p}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &st)
	}
	var notFound *serviceerror.NotFound
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &notFound):
		return &exitError{code: 1, err: fmt.Errorf("no running offload %s (see `umzug status %s`)", id, id)}
	case errors.As(err, &app) && app.Type() == contract.ErrRefused:
		return &exitError{code: 1, err: fmt.Errorf("%s of %s refused (recorded in its history): %s", name, id, app.Message())}
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("%s of %s: %w", name, id, err)}
	}
	out := cmd.OutOrStdout()
	if name == workflows.SignalRefuse {
		fmt.Fprintf(out, "refuse accepted for %s (recorded): every job goes back to the source's queue\n", id)
		return nil
	}
	if st.AcceptedAt != nil {
		fmt.Fprintf(out, "accept recorded for %s: accepted by %s; the partner takes the %d job(s) in now\n", id, strings.Join(st.AcceptedBy, ", "), len(st.Jobs))
	} else {
		fmt.Fprintf(out, "accept recorded for %s (%d so far: %s); more acceptances needed\n", id, len(st.AcceptedBy), strings.Join(st.AcceptedBy, ", "))
	}
	return nil
}

// showOffload prints an offload's status.
func showOffload(cmd *cobra.Command, c client.Client, id, output string) error {
	var st workflows.OffloadStatus
	if err := queryStatus(cmd, c, id, &st); err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), struct {
			workflows.OffloadStatus
			Counts workflows.OffloadCounts `json:"counts"`
		}{st, st.Counts()})
	}
	printOffload(cmd.OutOrStdout(), st)
	return nil
}

func printOffload(w io.Writer, st workflows.OffloadStatus) {
	site := func(name, dc string) string {
		if dc == "" {
			return name
		}
		return dc + " (" + name + ")"
	}
	c := st.Counts()
	fmt.Fprintf(w, "OFFLOAD     %s\n", st.ID)
	fmt.Fprintf(w, "HAND-OVER   %s of %s: %s → %s, started by %s\n", st.Offload, st.Application,
		site(st.Source, st.SourceSite), site(st.Target, st.TargetSite), st.StartedBy)
	fmt.Fprintf(w, "PHASE       %s\n", st.Phase)
	fmt.Fprintf(w, "JOBS        %d claimed, %d accepted, %d taken in, %d produced, %d returned, %d released\n",
		c.Claimed, c.Accepted, c.TakenIn, c.Produced, c.Returned, c.Released)
	if len(st.AcceptedBy) > 0 {
		fmt.Fprintf(w, "ACCEPTED    by %s\n", strings.Join(st.AcceptedBy, ", "))
	} else if st.AcceptDeadline != nil && st.Phase == workflows.OffloadAwaiting {
		fmt.Fprintf(w, "ACCEPT BY   %s\n", st.AcceptDeadline.UTC().Format(time.RFC3339))
	}
	if st.RefusedBy != "" {
		fmt.Fprintf(w, "REFUSED     by %s: %s\n", st.RefusedBy, st.RefuseReason)
	}
	if st.Overdue {
		fmt.Fprintf(w, "OVERDUE     not every job was produced by %s\n", st.ProduceBy.UTC().Format(time.RFC3339))
	}
	for _, j := range st.Jobs {
		state := "claimed"
		switch {
		case j.Archived:
			state = "archived"
		case j.Returned:
			state = "returned"
		case j.Produced != nil:
			state = "produced " + j.Produced.UTC().Format(time.RFC3339)
		case j.TakenIn != nil:
			state = "taken in " + j.TakenIn.UTC().Format(time.RFC3339)
		case j.Released:
			state = "released"
		case j.IntakeError != "":
			state = j.IntakeError
		}
		fmt.Fprintf(w, "  %-40s %8d B  sha256 %.16s  %s\n", j.ID, j.Bytes, j.SHA256, state)
	}
	for _, l := range st.Left {
		fmt.Fprintf(w, "LEFT        %s\n", l)
	}
	if st.Over > 0 {
		fmt.Fprintf(w, "LEFT        %d more selected job(s) over the limits stay in the queue\n", st.Over)
	}
	if len(st.PartnerHas) > 0 {
		fmt.Fprintf(w, "PARTNER HAS %s\n", strings.Join(st.PartnerHas, ", "))
	}
	if st.Outcome != "" {
		fmt.Fprintf(w, "OUTCOME     %s\n", st.Outcome)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "ATTENTION   %s\n", st.Error)
	}
}
