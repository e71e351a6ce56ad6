package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newFailoverCmd) }

func newFailoverCmd() *cobra.Command {
	var (
		f    standbyFlags
		wait bool
	)
	cmd := &cobra.Command{
		Use:   "failover PLAN --app NAME --as USER",
		Short: "Fail an application over to its partner site now (emergency approvers)",
		Long: `failover asks the application's standby record to fail over, exactly as
the Web UI's "failover" signal on umzug/<plan>/<app>/standby/record does.
--as must be an emergency approver of the plan; a second, different one
confirms within confirm_within (umzug confirm ID --as USER), else the
failover shows as OVERDUE in status and audit. The syncs stop; the failover
runs as workflow umzug/<plan>/<app>/failover/<UTC time>: the last delta when
the source answers, the cutover's steps and checks, and a commit. When the
source does not answer it proceeds from the last verified standby copy.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := sendStandbyDecision(cmd, &f, workflows.SignalFailover)
			if err != nil {
				return err
			}
			c, st := d.c, d.st
			defer c.Close()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "failover %s started by %s\n  %s\n", st.FailedOver, f.as, launch.UILink(uiBase(), temporalNamespace(), st.FailedOver))
			if v := st.LastVerified; v != nil {
				fmt.Fprintf(out, "standby copy: %s\n", workflows.StandbyCopyNote(v))
			}
			if !wait {
				return nil
			}
			phase, err := waitResult(cmd, c, st.FailedOver, "move")
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "failover %s ended: %s\n", st.FailedOver, phase)
			if phase != workflows.PhaseCommitted {
				return &exitError{code: 1, err: fmt.Errorf("failover %s did not commit (%s); see umzug status %s", st.FailedOver, phase, st.FailedOver)}
			}
			return nil
		},
	}
	f.vf.register(cmd)
	cmd.Flags().StringVar(&f.app, "app", "", "the application (required)")
	addDecisionAs(cmd, &f.as, "the emergency approver pressing the button, as listed in the plan")
	addReason(cmd, &f.reason, "why (recorded)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the failover has committed or failed (it stays open for a late confirmation)")
	_ = cmd.MarkFlagRequired("app")
	return cmd
}
