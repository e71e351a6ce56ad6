package main

import (
	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newConfirmCmd) }

func newConfirmCmd() *cobra.Command {
	var as, comment string
	cmd := &cobra.Command{
		Use:   "confirm ID --as USER",
		Short: "Confirm a failover as the second emergency approver",
		Long: `confirm records the second confirmation of a failover. It must come from
an emergency approver of the plan other than the one who started the
failover; it is due within the plan's confirm_within, and a later one is
recorded as late. A refused confirmation is recorded too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sendUpdate(cmd, args[0], workflows.SignalConfirm, workflows.ConfirmSignal{By: as, Comment: comment}, as)
		},
	}
	addDecisionAs(cmd, &as, "the confirming emergency approver, as listed in the plan")
	addReason(cmd, &comment, "why (recorded)")
	return cmd
}
