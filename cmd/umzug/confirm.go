package main

import (
	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newConfirmCmd) }

func newConfirmCmd() *cobra.Command {
	var as, comment string
	var sf signFlags
	cmd := &cobra.Command{
		Use:   "confirm ID --as USER [--sign-key KEY | --print-statement]",
		Short: "Confirm a failover as the second emergency approver",
		Long: `confirm records the second confirmation of a failover. It must come from
an emergency approver of the plan other than the one who started the
failover; it is due within the plan's confirm_within, and a later one is
recorded as late. A refused confirmation is recorded too.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sf.send(cmd, args[0], workflows.SignalConfirm, as, comment, func(sig, at string) any {
				return workflows.ConfirmSignal{By: as, Comment: comment, Signature: sig, SignedAt: at}
			})
		},
	}
	sf.register(cmd)
	addDecisionAs(cmd, &as, "the confirming emergency approver, as listed in the plan")
	addReason(cmd, &comment, "why (recorded)")
	return cmd
}
