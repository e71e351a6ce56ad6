package workflows

import (
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Wave phases of applications besides the move phases.
const (
	WavePending = "pending"
	WaveRunning = "running"
	WaveBlocked = "blocked"
)

// Wave starts one child Move per application in depends_on order, at most
// MaxParallel at once (0: no limit). An application that ends in anything
// but committed blocks its transitive dependants; independent ones go on.
//
// Children run with ParentClosePolicy ABANDON on a disconnected context: a
// wave cancel stops starting new moves but never cancels a move in the
// middle of its cutover. Cancel a move itself to roll it back. Child IDs
// are the moves' own stable IDs (MoveID), with duplicates rejected, so a
// move started before on its own is not run twice; it counts as failed.
func Wave(ctx workflow.Context, in WaveInput) (WaveStatus, error) {
	ws := WaveStatus{Wave: in.Wave, Phases: map[string]string{}, BlockedBy: map[string]string{}}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (WaveStatus, error) { return ws, nil },
		workflow.QueryHandlerOptions{Description: "phase of every application of this wave"}); err != nil {
		return ws, fmt.Errorf("register status query of wave %s: %w", in.Wave, err)
	}
	inWave := map[string]bool{}
	for _, mv := range in.Moves {
		inWave[mv.Application] = true
		ws.Phases[mv.Application] = WavePending
	}
	deps := map[string][]string{}
	for _, mv := range in.Moves {
		for _, d := range mv.DependsOn {
			if inWave[d] {
				deps[mv.Application] = append(deps[mv.Application], d)
			} else {
				ws.Notes = append(ws.Notes, fmt.Sprintf("%s depends on %s, which is not in wave %s: ignored here (make sure it has moved)",
					mv.Application, d, in.Wave))
			}
		}
	}

	cctx, _ := workflow.NewDisconnectedContext(ctx)
	sel := workflow.NewSelector(ctx)
	cancelled := false
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { cancelled = true })
	running := 0
	final := func(p string) bool { return p != WavePending && p != WaveRunning }

	for {
		// Block dependants of anything that ended without committing,
		// transitively, naming the application that failed.
		for changed := true; changed; {
			changed = false
			for _, mv := range in.Moves {
				app := mv.Application
				if ws.Phases[app] != WavePending {
					continue
				}
				for _, d := range deps[app] {
					if p := ws.Phases[d]; final(p) && p != PhaseCommitted {
						root := d
						if p == WaveBlocked {
							root = ws.BlockedBy[d]
						}
						ws.Phases[app], ws.BlockedBy[app] = WaveBlocked, root
						changed = true
						break
					}
				}
			}
		}
		// Start what is ready, in the order given.
		for _, mv := range in.Moves {
			app := mv.Application
			if cancelled || (in.MaxParallel > 0 && running >= in.MaxParallel) {
				break
			}
			if ws.Phases[app] != WavePending || slices.ContainsFunc(deps[app], func(d string) bool { return ws.Phases[d] != PhaseCommitted }) {
				continue
			}
			ws.Phases[app] = WaveRunning
			running++
			f := workflow.ExecuteChildWorkflow(childOptions(cctx, in, mv), MoveWorkflow, mv)
			sel.AddFuture(f, func(f workflow.Future) {
				running--
				var st Status
				if err := f.Get(cctx, &st); err != nil {
					ws.Phases[app] = PhaseFailed
					ws.Notes = append(ws.Notes, fmt.Sprintf("move %s (%s) did not complete: %v", app, MoveID(in.PlanName, app), err))
					return
				}
				ws.Phases[app] = st.Phase
			})
		}
		if running == 0 {
			break
		}
		sel.Select(ctx)
		if cancelled {
			ws.Notes = append(ws.Notes, fmt.Sprintf("wave cancelled: %d running move(s) continue on their own (see umzug status); pending moves were not started", running))
			break
		}
	}
	for _, mv := range in.Moves {
		if app := mv.Application; ws.Phases[app] == WavePending && !cancelled {
			ws.Phases[app] = WaveBlocked
			ws.BlockedBy[app] = "depends_on cycle"
		}
	}
	ws.Done = true
	return ws, nil
}

func childOptions(ctx workflow.Context, in WaveInput, mv MoveInput) workflow.Context {
	o := workflow.ChildWorkflowOptions{
		WorkflowID:            MoveID(in.PlanName, mv.Application),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("move %s of plan %s, wave %s", mv.Application, in.PlanName, in.Wave),
	}
	if mv.SearchAttributes {
		o.TypedSearchAttributes = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(SearchAttrPlan).ValueSet(in.PlanName),
			temporal.NewSearchAttributeKeyKeyword(SearchAttrApplication).ValueSet(mv.Application),
			phaseKey.ValueSet(PhasePreflight),
		)
	}
	return workflow.WithChildOptions(ctx, o)
}
