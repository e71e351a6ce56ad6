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
	w := &waveRun{in: in, ws: WaveStatus{Wave: in.Wave, Phases: map[string]string{}, BlockedBy: map[string]string{}}}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (WaveStatus, error) { return w.ws, nil },
		workflow.QueryHandlerOptions{Description: "phase of every application of this wave"}); err != nil {
		return w.ws, fmt.Errorf("register status query of wave %s: %w", in.Wave, err)
	}
	w.deps = w.dependencies()
	w.cctx, _ = workflow.NewDisconnectedContext(ctx)
	w.sel = workflow.NewSelector(ctx)
	w.sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { w.cancelled = true })
	for {
		w.blockDependantsOfFailures()
		w.startReady()
		if w.running == 0 {
			break
		}
		w.sel.Select(ctx)
		if w.cancelled {
			w.ws.Notes = append(w.ws.Notes, fmt.Sprintf("wave cancelled: %d running move(s) continue on their own (see umzug status); pending moves were not started", w.running))
			break
		}
	}
	w.blockCycles()
	w.ws.Done = true
	return w.ws, nil
}

// waveRun is the state of one Wave execution.
type waveRun struct {
	in        WaveInput
	ws        WaveStatus
	deps      map[string][]string // application -> its dependencies inside the wave
	cctx      workflow.Context    // disconnected: cancelling the wave never cancels a move
	sel       workflow.Selector
	running   int
	cancelled bool
}

// dependencies marks every application pending and returns its
// dependencies inside the wave; one outside the wave is noted and ignored.
func (w *waveRun) dependencies() map[string][]string {
	inWave := map[string]bool{}
	for _, mv := range w.in.Moves {
		inWave[mv.Application] = true
		w.ws.Phases[mv.Application] = WavePending
	}
	deps := map[string][]string{}
	for _, mv := range w.in.Moves {
		for _, d := range mv.DependsOn {
			if inWave[d] {
				deps[mv.Application] = append(deps[mv.Application], d)
			} else {
				w.ws.Notes = append(w.ws.Notes, fmt.Sprintf("%s depends on %s, which is not in wave %s: ignored here (make sure it has moved)",
					mv.Application, d, w.in.Wave))
			}
		}
	}
	return deps
}

// waveFinal reports whether an application's wave phase will not change.
func waveFinal(p string) bool { return p != WavePending && p != WaveRunning }

// blockDependantsOfFailures blocks the pending dependants of anything that
// ended without committing, transitively, naming the application that
// failed.
func (w *waveRun) blockDependantsOfFailures() {
	for changed := true; changed; {
		changed = false
		for _, mv := range w.in.Moves {
			app := mv.Application
			if w.ws.Phases[app] != WavePending {
				continue
			}
			for _, d := range w.deps[app] {
				if p := w.ws.Phases[d]; waveFinal(p) && p != PhaseCommitted {
					root := d
					if p == WaveBlocked {
						root = w.ws.BlockedBy[d]
					}
					w.ws.Phases[app], w.ws.BlockedBy[app] = WaveBlocked, root
					changed = true
					break
				}
			}
		}
	}
}

// startReady starts, in the order given, every pending application whose
// dependencies all committed, up to MaxParallel running moves.
func (w *waveRun) startReady() {
	for _, mv := range w.in.Moves {
		app := mv.Application
		if w.cancelled || (w.in.MaxParallel > 0 && w.running >= w.in.MaxParallel) {
			break
		}
		if w.ws.Phases[app] != WavePending || slices.ContainsFunc(w.deps[app], func(d string) bool { return w.ws.Phases[d] != PhaseCommitted }) {
			continue
		}
		w.startMove(mv)
	}
}

// startMove starts mv's child Move and records its outcome when it ends.
func (w *waveRun) startMove(mv MoveInput) {
	app := mv.Application
	w.ws.Phases[app] = WaveRunning
	w.running++
	f := workflow.ExecuteChildWorkflow(childOptions(w.cctx, w.in, mv), MoveWorkflow, mv)
	w.sel.AddFuture(f, func(f workflow.Future) {
		w.running--
		var st Status
		if err := f.Get(w.cctx, &st); err != nil {
			w.ws.Phases[app] = PhaseFailed
			w.ws.Notes = append(w.ws.Notes, fmt.Sprintf("move %s (%s) did not complete: %v", app, MoveID(w.in.PlanName, app), err))
			return
		}
		w.ws.Phases[app] = st.Phase
	})
}

// blockCycles marks what is still pending after all moves ended as
// blocked by a depends_on cycle (not after a cancel: those were never
// started on purpose).
func (w *waveRun) blockCycles() {
	if w.cancelled {
		return
	}
	for _, mv := range w.in.Moves {
		if app := mv.Application; w.ws.Phases[app] == WavePending {
			w.ws.Phases[app] = WaveBlocked
			w.ws.BlockedBy[app] = "depends_on cycle"
		}
	}
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
