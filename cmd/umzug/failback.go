package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newFailbackCmd) }

func newFailbackCmd() *cobra.Command {
	var (
		as    string
		wait  bool
		queue string
	)
	cmd := &cobra.Command{
		Use:   "failback ID --as USER",
		Short: "Start the reverse of a committed move or failover",
		Long: `failback starts the reverse of the committed move (or failover) ID as
workflow ID/failback: source and target swapped, every copy set copied
from its target back to its source, where only what changed at the
partner is transferred. The reverse steps are the plan's failback block
(its own steps, or the cutover's undo commands in reverse order with
from_undo = true), as recorded when the move started. It needs the same
approvals as the cutover (umzug approve ID/failback), then soaks and is
committed like a move. The audits of the two moves name each other.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dialAs(cmd, &as)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			s, err := launch.StartFailback(ctx, c, args[0], launch.Options{StartedBy: as, TaskQueue: queue})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "failback of %s: %s (%s), started by %s\n  %s\n", args[0], s.ID, startedNote(s), as,
				launch.UILink(uiBase(), temporalNamespace(), s.ID))
			rearm := rearmHint(args[0])
			if !wait {
				if rearm != "" {
					fmt.Fprintf(out, "once it commits, %s\n", rearm)
				}
				return nil
			}
			phase, err := waitResult(cmd, c, s.ID, "move")
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "failback %s ended: %s\n", s.ID, phase)
			if phase != workflows.PhaseCommitted {
				return &exitError{code: 1, err: fmt.Errorf("failback %s did not commit", s.ID)}
			}
			if rearm != "" {
				fmt.Fprintln(out, rearm)
			}
			return nil
		},
	}
	addDecisionAs(cmd, &as, "who starts the failback; four-eyes refuses this identity's approvals")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the failback has ended; exit 1 unless it committed")
	addQueueFlag(cmd, &queue, "task queue of the workflow workers")
	return cmd
}

// rearmHint says how to re-arm the standby that stopped at failover id
// (umzug/<plan>/<app>/failover/<time>); "" when id is no failover.
func rearmHint(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) != 5 || parts[0] != "umzug" || parts[3] != "failover" {
		return ""
	}
	return fmt.Sprintf("the standby of %s stays stopped since the failover; re-arm it in the original direction with: "+
		"umzug standby start PLAN --app %s --as USER (PLAN: the plan file of %s)", parts[2], parts[2], parts[1])
}
