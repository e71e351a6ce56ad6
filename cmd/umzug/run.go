package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newRunCmd) }

func newRunCmd() *cobra.Command {
	var (
		vf    varFlags
		apps  []string
		wave  string
		as    string
		wait  bool
		queue string
		reh   bool
		// pastWindow starts moves whose window is over.
		pastWindow bool
	)
	cmd := &cobra.Command{
		Use:   "run PLAN",
		Short: "Start the moves (or waves) of a plan",
		Long: `run validates PLAN and starts its moves on the Temporal cluster at
TEMPORAL_ADDRESS. Workflow IDs are stable (umzug/<plan>/<application>), so
running the same plan twice never starts a move twice. A move whose copy set
would write a directory (equal or nested, on the same host address) that an
open move, wave or standby of another plan or application writes is refused
with the other workflow's ID, and nothing is started. Two runs started in the
same second may both pass this check: it reads the open workflows, it takes
no lock.

Without --app or --wave it starts every wave of the plan, and every
application that is in no wave as a move of its own.

Sensitive variables never travel with the move: a value given here (--var,
--var-file, UMZUG_VAR_<name>) is only validated; the workers read the value
from UMZUG_SECRET_<name> in their environment or their --secrets-file.

A move whose cutover window is already over would seed, be approved and
then wait for a reschedule: run refuses to start it unless --past-window
is given (validate and plan warn about it).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(cmd, args, &vf)
			if err != nil {
				return err
			}
			if over := windowsOver(p, apps, wave, time.Now()); len(over) > 0 && !reh && !pastWindow {
				return &exitError{code: 1, err: fmt.Errorf("the cutover window of %s is over (see the warning above): "+
					"such a move seeds, is approved and then waits for `umzug reschedule`. Set the agreed window "+
					"(e.g. --var window_start=TIME) or start anyway with --past-window", strings.Join(over, ", "))}
			}
			c, err := dialAs(cmd, &as)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx := cmd.Context()
			opts := launch.Options{Apps: apps, Wave: wave, StartedBy: as, TaskQueue: queue, Namespace: temporalNamespace()}
			start := launch.Start
			if reh {
				start = launch.StartRehearsal
			}
			started, err := start(ctx, c, p, opts)
			out := cmd.OutOrStdout()
			ui := uiBaseFrom(ctx, c, temporalNamespace())
			for _, s := range started {
				fmt.Fprintf(out, "%s %s: %s (%s)\n  %s\n", s.Kind, s.Name, s.ID, startedNote(s),
					launch.UILink(ui, temporalNamespace(), s.ID))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "plan %s sha256 %s, started by %s\n", p.Name, p.SHA256, as)
			printSecretNotes(out, p)
			if !wait {
				return nil
			}
			return waitAll(cmd, c, started)
		},
	}
	vf.register(cmd)
	cmd.Flags().StringSliceVar(&apps, "app", nil, "start only these applications (repeatable)")
	cmd.Flags().StringVar(&wave, "wave", "", "start only this wave")
	cmd.Flags().StringVar(&as, "as", "", "who starts the move; four-eyes refuses this identity's approvals (default $USER)")
	cmd.Flags().BoolVar(&reh, "rehearsal", false, "rehearse instead: run the whole move against the plan's rehearsal root, then clean it up")
	cmd.Flags().BoolVar(&pastWindow, "past-window", false, "start moves whose cutover window is already over (they seed, then wait for umzug reschedule)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every started workflow has ended; exit 1 unless all committed")
	addQueueFlag(cmd, &queue, "task queue of the workflow workers")
	return cmd
}

// startedNote says whether s was started now or had been already (a
// workflow ID is started only once).
func startedNote(s launch.Started) string {
	if s.AlreadyRunning {
		return "already started; not started again"
	}
	return "started"
}

// waitAll waits for every started workflow to end and prints how each
// ended; exit 1 unless all committed.
func waitAll(cmd *cobra.Command, c client.Client, started []launch.Started) error {
	failed := 0
	for _, s := range started {
		phase, err := waitResult(cmd, c, s.ID, s.Kind)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s %s ended: %s\n", s.Kind, s.Name, phase)
		if phase != workflows.PhaseCommitted {
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d did not commit", failed, len(started))}
	}
	return nil
}

// waitResult waits for a workflow to end and returns its final phase (for
// a wave: "committed" only if every application committed).
func waitResult(cmd *cobra.Command, c client.Client, id, kind string) (string, error) {
	run := c.GetWorkflow(cmd.Context(), id, "")
	if kind == "wave" {
		var ws workflows.WaveStatus
		if err := run.Get(cmd.Context(), &ws); err != nil {
			return "", fmt.Errorf("wave %s: %w", id, err)
		}
		if !ws.Committed() {
			return "incomplete", nil
		}
		return workflows.PhaseCommitted, nil
	}
	var st workflows.Status
	if err := run.Get(cmd.Context(), &st); err != nil {
		return "", fmt.Errorf("move %s: %w", id, err)
	}
	if st.Mode == workflows.ModeRehearsal && (st.Rehearsal == nil || !st.Rehearsal.Succeeded) {
		return "failed (" + st.Error + ")", nil
	}
	return st.Phase, nil
}

// windowsOver names the applications run would start (all, --app or
// --wave) whose cutover window ended before now.
func windowsOver(p *plans.Plan, apps []string, wave string, now time.Time) []string {
	picked := p.Applications
	if wave != "" {
		picked = nil
		for _, w := range p.Waves {
			if w.Name == wave {
				picked = w.Applications
			}
		}
	}
	var over []string
	for _, a := range picked {
		if len(apps) > 0 && !slices.Contains(apps, a.Name) {
			continue
		}
		if co := a.Cutover; co != nil && co.Window != nil && !co.Window.NotBefore.IsZero() &&
			!co.Window.NotBefore.Add(co.Window.Duration).After(now) {
			over = append(over, a.Name)
		}
	}
	return over
}
