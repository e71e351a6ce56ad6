package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	var (
		output outputFlag
		watch  bool
	)
	cmd := &cobra.Command{
		Use:   "status [ID]",
		Short: "Phase, progress and pending approvals of a move; without ID, list the moves",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := output.resolve()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := dialFromEnv(ctx, currentUser()+"@umzug-cli")
			if err != nil {
				return err
			}
			defer c.Close()
			if len(args) == 0 {
				return listMoves(cmd, c, format)
			}
			return showStatus(cmd, c, args[0], format, watch)
		},
	}
	output.register(cmd)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the move: phase changes and a copy progress bar, until it ends")
	return cmd
}

// showStatus prints one move or wave. Which one it is comes from the
// workflow's type: a move's ID may contain "/wave/" (a plan named wave).
func showStatus(cmd *cobra.Command, c client.Client, id, output string, watch bool) error {
	out := cmd.OutOrStdout()
	kind, err := workflowType(cmd.Context(), c, id)
	var none *noWorkflowError
	if errors.As(err, &none) {
		if rec, ok := standbyRecordOf(cmd.Context(), c, id); ok {
			id = rec // a standby's schedule: show its record
			kind, err = workflowType(cmd.Context(), c, id)
		}
	}
	if err != nil {
		return err
	}
	if kind == workflows.StandbyWorkflow {
		return showStandby(cmd, c, id, output)
	}
	if kind == workflows.OffloadWorkflow {
		return showOffload(cmd, c, id, output)
	}
	if kind == workflows.WaveWorkflow {
		var ws workflows.WaveStatus
		if err := queryStatus(cmd, c, id, &ws); err != nil {
			return err
		}
		if output == "json" {
			return writeJSON(out, ws)
		}
		printWave(out, id, ws)
		return nil
	}
	if watch {
		return watchMove(cmd, c, id)
	}
	var st workflows.Status
	if err := queryStatus(cmd, c, id, &st); err != nil {
		return err
	}
	progress := copyProgress(cmd, c, id)
	if output == "json" {
		return writeJSON(out, struct {
			workflows.Status
			Progress []contract.CopyProgress `json:"progress,omitempty"`
		}{st, progress})
	}
	printStatus(out, id, st, progress)
	printRehearsalAndFailback(out, st, failedBackBy(cmd.Context(), c, id))
	printQueueWaits(cmd.Context(), out, c, id)
	return nil
}

// workflowType names the type of workflow id runs (umzug.Move or
// umzug.Wave); an unknown ID is reported as such, not as a missing worker.
// noWorkflowError: no workflow has the ID (it may name a schedule).
type noWorkflowError struct{ id string }

func (e *noWorkflowError) Error() string {
	return fmt.Sprintf("no move or wave %s exists on this server: `umzug status` (without ID) lists the moves", e.id)
}

func workflowType(ctx context.Context, c client.Client, id string) (string, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return "", &noWorkflowError{id: id}
	}
	if err != nil {
		return "", fmt.Errorf("describe %s: %w (is the Temporal server reachable? see TEMPORAL_ADDRESS)", id, err)
	}
	return d.GetWorkflowExecutionInfo().GetType().GetName(), nil
}

// queryAttempts bounds how often a status query that timed out is asked
// again: a worker busy with a burst of signals answers late, not never.
const queryAttempts = 4

func queryStatus(cmd *cobra.Command, c client.Client, id string, into any) error {
	var v converter.EncodedValue
	var err error
	for i := range queryAttempts {
		if v, err = c.QueryWorkflow(cmd.Context(), id, "", workflows.QueryStatus); err == nil || !queryTimedOut(err) || i == queryAttempts-1 {
			break
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "umzug: the status query of %s got no answer in time (the worker may be busy); asking again\n", id)
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(time.Duration(i+1) * time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("query status of %s: %w (is a worker running? `umzug dev` or `umzug worker`)", id, err)
	}
	if err := v.Get(into); err != nil {
		return fmt.Errorf("decode status of %s: %w", id, err)
	}
	return nil
}

// copyProgress reads the heartbeat details of running copies: progress is
// heartbeated, not written to history.
func copyProgress(cmd *cobra.Command, c client.Client, id string) []contract.CopyProgress {
	return pendingCopies(cmd.Context(), c, id)
}

func pendingCopies(ctx context.Context, c client.Client, id string) []contract.CopyProgress {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil
	}
	var out []contract.CopyProgress
	dc := converter.GetDefaultDataConverter()
	for _, pa := range d.GetPendingActivities() {
		if pa.GetActivityType().GetName() != contract.NameCopyTree || pa.GetHeartbeatDetails() == nil {
			continue
		}
		var p contract.CopyProgress
		if err := dc.FromPayloads(pa.GetHeartbeatDetails(), &p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStatus(w io.Writer, id string, st workflows.Status, progress []contract.CopyProgress) {
	fmt.Fprintf(w, "move        %s\n", id)
	fmt.Fprintf(w, "phase       %s\n", st.Phase)
	fmt.Fprintf(w, "plan        %s (sha256 %s)\n", st.PlanName, st.PlanSHA256)
	fmt.Fprintf(w, "from → to   %s → %s\n", st.Source, st.Target)
	for _, h := range st.Hosts {
		fp := ""
		if h.Fingerprint != "" {
			fp = ", key " + h.Fingerprint
		}
		fmt.Fprintf(w, "host        %s (%s%s)\n", h.Name, strings.Join(h.Roles, ", "), fp)
	}
	fmt.Fprintf(w, "started by  %s\n", st.StartedBy)
	printDecisionBinding(w, st)
	for _, p := range progress {
		fmt.Fprintf(w, "copying     %s\n", progressLine(p))
	}
	if st.Phase == workflows.PhaseAwaitingApproval {
		got := "none yet"
		if len(st.Approvals) > 0 {
			got = strings.Join(st.Approvals, ", ")
		}
		fmt.Fprintf(w, "approvals   %s; %s\n", got, approvalsLeft(st))
		if st.ApprovalDeadline != nil {
			fmt.Fprintf(w, "expires     %s\n", st.ApprovalDeadline.Format(time.RFC3339))
		}
	}
	if !st.PastCutover() {
		printWindow(w, st)
	}
	if st.SoakUntil != nil && st.Phase == workflows.PhaseSoak {
		fmt.Fprintf(w, "soak until  %s (umzug commit / umzug rollback)\n", st.SoakUntil.Format(time.RFC3339))
	}
	for _, cr := range st.Copies {
		fmt.Fprintf(w, "copy        %s %s: %d files, %s; copied %d files (%s), verified %d by %s\n",
			cr.Set, cr.Phase, cr.Files, units.Bytes(cr.Bytes), cr.CopiedFiles, units.Bytes(cr.CopiedBytes), cr.Verified, cr.VerifiedBy)
		if cr.IdentStateNote != "" {
			fmt.Fprintf(w, "            %s\n", cr.IdentStateNote)
		}
	}
	if identityVerified(st.Copies) {
		fmt.Fprintf(w, "            %s\n", identityMeaning)
	}
	printRefusals(w, st.Refusals)
	printFailover(w, st.Failover, time.Now())
	for _, s := range st.Steps {
		fmt.Fprintf(w, "%-11s %s on %s (%s): exit %d\n", s.Kind, s.Name, s.Host, s.Command, s.ExitCode)
	}
	for _, s := range st.Signals {
		verdict := "accepted"
		if !s.Accepted {
			verdict = "refused: " + s.Reason
		}
		if a := s.Arrived(); a != "" {
			verdict += " (" + a + ")"
		}
		fmt.Fprintf(w, "signal      %s by %s via %s at %s: %s\n", s.Name, s.Who(), s.Via, s.At.Format(time.RFC3339), verdict)
	}
	if st.SignalsDropped > 0 {
		fmt.Fprintf(w, "signal      %d older refused records dropped; the audit lists every signal and update as received\n", st.SignalsDropped)
	}
	if len(st.Undone) > 0 {
		fmt.Fprintf(w, "undone      %s\n", strings.Join(st.Undone, ", "))
	}
	for _, m := range st.ManualAttention {
		fmt.Fprintf(w, "ATTENTION   %s\n", m)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error       %s\n", st.Error)
	}
}

func printWave(w io.Writer, id string, ws workflows.WaveStatus) {
	fmt.Fprintf(w, "wave %s (%s)\n", ws.Wave, id)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for app, ph := range ws.Phases {
		extra := ""
		if b := ws.BlockedBy[app]; b != "" {
			extra = "blocked by " + b
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", app, ph, extra)
	}
	tw.Flush()
}

func listMoves(cmd *cobra.Command, c client.Client, output string) error {
	resp, err := c.ListWorkflow(cmd.Context(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: `WorkflowId STARTS_WITH "umzug/"`,
	})
	if err != nil {
		return fmt.Errorf("list moves: %w", err)
	}
	type row struct {
		ID     string    `json:"id"`
		Status string    `json:"status"`
		Phase  string    `json:"phase,omitempty"`
		Start  time.Time `json:"start"`
	}
	var rows []row
	for _, e := range resp.GetExecutions() {
		r := row{ID: e.GetExecution().GetWorkflowId(), Status: strings.ToLower(e.GetStatus().String()), Start: e.GetStartTime().AsTime()}
		if p, ok := e.GetSearchAttributes().GetIndexedFields()[workflows.SearchAttrPhase]; ok {
			var s string
			if converter.GetDefaultDataConverter().FromPayload(p, &s) == nil {
				r.Phase = s
			}
		}
		rows = append(rows, r)
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), rows)
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPHASE\tSTARTED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Status, r.Phase, r.Start.Local().Format(time.RFC3339))
	}
	return tw.Flush()
}

// watchMove follows a move until it ends: each phase once, copy progress
// as a bar, then the full status.
func watchMove(cmd *cobra.Command, c client.Client, id string) error {
	out := cmd.OutOrStdout()
	bar := newCopyBar(out)
	defer bar.finish()
	last := ""
	for {
		var st workflows.Status
		if err := queryStatus(cmd, c, id, &st); err != nil {
			return err
		}
		if st.Phase != last {
			bar.finish()
			fmt.Fprintf(out, "%s  %s\n", time.Now().Format("15:04:05"), st.Phase)
			last = st.Phase
		}
		if workflows.IsFinal(st.Phase) {
			printStatus(out, id, st, nil)
			return nil
		}
		for _, p := range copyProgress(cmd, c, id) {
			bar.update(p)
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(time.Second):
		}
	}
}

// printWindow shows the cutover window and its prediction; both only
// matter until the cutover has started.
// identityMeaning explains "verified by identity" wherever a copy reports it.
const identityMeaning = "verified by identity: unchanged since the seed verified its SHA-256 (size, mtime, ctime, inode and device equal on both hosts)"

// identityVerified reports whether a copy counted files verified by
// identity.
func identityVerified(copies []contract.CopyResult) bool {
	return slices.ContainsFunc(copies, func(c contract.CopyResult) bool {
		return c.Kept > 0 || strings.Contains(c.VerifiedBy, "identity")
	})
}

// approvalsLeft says how many approvals the move still needs and from
// whom, or that the quorum is reached (the window decides the rest).
func approvalsLeft(st workflows.Status) string {
	switch {
	case st.ApprovalsNeeded <= 0 && st.Window != nil:
		return "quorum reached; the window below decides when the cutover starts"
	case st.ApprovalsNeeded <= 0:
		return "quorum reached"
	case len(st.PendingApprovers) == 0:
		return fmt.Sprintf("%d more needed", st.ApprovalsNeeded)
	}
	return fmt.Sprintf("%d more needed from %s", st.ApprovalsNeeded, strings.Join(st.PendingApprovers, ", "))
}

func printWindow(w io.Writer, st workflows.Status) {
	if st.Window != nil {
		fmt.Fprintf(w, "window      %s for %s\n", st.Window.NotBefore.Format(time.RFC3339), st.Window.Duration)
	}
	if st.WindowNote != "" {
		fmt.Fprintf(w, "            %s\n", st.WindowNote)
	}
}

// queryTimedOut says whether a query failed for lack of an answer in time
// (the server's deadline, or the stream it cancelled), not for a reason
// asking again cannot change.
func queryTimedOut(err error) bool {
	switch status.Code(err) {
	case codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	var dl *serviceerror.DeadlineExceeded
	var cancelled *serviceerror.Canceled
	return errors.As(err, &dl) || errors.As(err, &cancelled) || strings.Contains(err.Error(), "RST_STREAM with error code: CANCEL")
}
