package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// rollback is the saga: the completed steps' undo commands in reverse
// order, starting with the step that failed or timed out (it may have run
// in part; see notePartial). It runs on the disconnected context, so
// cancelling the move rolls back rather than stopping halfway, and an
// unreachable host is retried without limit (capped backoff, see undoOptions). An undo that
// runs but exits non-zero is tried UndoAttempts times, then handed to a
// human in ManualAttention; the saga continues with the next undo.
func (m *move) rollback(why string) {
	ctx := m.dctx
	m.st.Error = why
	m.details()
	for i := len(m.done) - 1; i >= 0; {
		j := i // m.done[j..i] are undone together: one parallel group
		for m.multi && m.done[i].Group > 0 && j > 0 && m.done[j-1].Group == m.done[i].Group {
			j--
		}
		if j == i {
			m.undo(ctx, m.done[i], i == len(m.done)-1 && m.partial == m.done[i].Name)
		} else {
			group := m.done[j : i+1]
			wg := workflow.NewWaitGroup(ctx)
			for k := len(group) - 1; k >= 0; k-- {
				b := group[k]
				wg.Add(1)
				workflow.Go(ctx, func(gctx workflow.Context) {
					defer wg.Done()
					m.undo(gctx, b, m.partials[b.Name])
				})
			}
			wg.Wait(ctx)
		}
		i = j - 1
	}
	m.setPhase(PhaseRolledBack)
}

// undo runs one block's undo (retried, then handed to a human), or lists
// a block without undo for manual attention.
func (m *move) undo(ctx workflow.Context, b Block, partial bool) {
	h := m.host(b.On)
	note := ""
	if partial {
		note = " (the step failed or timed out and may have run in part)"
	}
	if b.Undo == "" {
		msg := fmt.Sprintf("step %s has no undo; the %s (%s) may need manual attention", b.Name, b.On, h.Name)
		if partial {
			msg = fmt.Sprintf("step %s failed or timed out and may have run in part; it has no undo, so check the %s (%s) by hand and finish or reverse `%s` there",
				b.Name, b.On, h.Name, b.Run)
		}
		m.st.ManualAttention = append(m.st.ManualAttention, msg)
		return
	}
	for k := 1; ; k++ {
		res, err := m.command(ctx, undoOptions(ctx, h, b.Timeout), "undo", b, b.Undo, "undo "+b.Name)
		if err == nil && res.ExitCode == 0 {
			m.st.Undone = append(m.st.Undone, fmt.Sprintf("undo %s on %s: exit 0%s", b.Name, h.Name, note))
			return
		}
		if k >= UndoAttempts {
			what := fmt.Sprintf("exit %d%s", res.ExitCode, stderrNote(res))
			if err != nil {
				what = cause(err)
			}
			m.st.ManualAttention = append(m.st.ManualAttention,
				fmt.Sprintf("undo %s on %s failed %d times (%s); run `%s` on %s by hand", b.Name, h.Name, k, what, b.Undo, h.Name))
			return
		}
		since := workflow.Now(ctx)
		_ = workflow.Sleep(ctx, UndoRetryInterval)
		m.noteWait(ctx, since)
	}
}
