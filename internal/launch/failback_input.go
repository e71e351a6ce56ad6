package launch

import (
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// addFailbackAndRehearsal carries the plan's failback blocks and
// rehearsal requirement into a move's input, so that `umzug failback`
// needs only the move's history and the workflow can refuse approvals.
func addFailbackAndRehearsal(in *workflows.MoveInput, app *plans.Application) {
	if r := app.Rehearsal; r != nil {
		in.RehearsalRequired = r.RequiredWithin
	}
	fb := app.Failback
	if fb == nil {
		return
	}
	if !fb.FromUndo {
		for _, b := range fb.Blocks {
			in.FailbackBlocks = append(in.FailbackBlocks, blockInput(b))
		}
		return
	}
	in.FailbackBlocks = undoBlocks(in.Cutover.Blocks)
}

// undoBlocks reverses a cutover: in reverse order, each step becomes its
// undo (whose own undo is the step again) and final_sync stays where it
// falls; checks are left out, since nothing says what they should find.
func undoBlocks(cutover []workflows.Block) []workflows.Block {
	var out []workflows.Block
	for i := len(cutover) - 1; i >= 0; i-- {
		b := cutover[i]
		switch b.Kind {
		case workflows.BlockFinalSync:
			out = append(out, b)
		case workflows.BlockStep:
			r := b
			r.Name, r.Run, r.Undo = "undo_"+b.Name, b.Undo, b.Run
			out = append(out, r)
		}
	}
	return out
}

func blockInput(b *plans.Block) workflows.Block {
	return workflows.Block{
		Kind: b.Kind, Name: b.Name, On: b.On, Run: b.Run, Undo: b.Undo,
		Timeout: b.Timeout, Retries: b.Retries, Interval: b.Interval, Group: b.Group,
		Secrets: b.Secrets, KeepOutput: b.KeepOutput, NoBecome: b.NoBecome,
	}
}
