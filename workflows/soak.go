package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// soak lets the target run until the soak time ends or someone commits
// (committed) or rolls back (saga, rolled_back). A cancel rolls back too.
func (m *move) soak(ctx workflow.Context) {
	m.setPhase(PhaseSoak)
	if m.in.Soak <= 0 {
		m.setPhase(PhaseCommitted)
		return
	}
	until := workflow.Now(ctx).Add(m.in.Soak)
	m.st.SoakUntil = &until
	m.details()
	_, err := workflow.AwaitWithTimeout(ctx, m.in.Soak, func() bool { return m.commitReq != nil || m.rollbackReq != nil })
	switch {
	case m.rollbackReq != nil:
		why := fmt.Sprintf("manual rollback by %s during soak", m.rollbackReq.By)
		if m.rollbackReq.Reason != "" {
			why += ": " + m.rollbackReq.Reason
		}
		m.rollback(why)
	case m.commitReq != nil:
		m.setPhase(PhaseCommitted)
	case err != nil:
		m.rollback("move cancelled during soak")
	default:
		m.setPhase(PhaseCommitted)
	}
}
