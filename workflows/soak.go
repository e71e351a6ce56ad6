package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// changeSoakRehash is the workflow.GetVersion change ID for the re-hash
// after the switch (copy rehash = "after_switch"), run during soak.
const changeSoakRehash = "soak-rehash-after-switch"

// soak lets the target run until the soak time ends or someone commits
// (committed) or rolls back (saga, rolled_back). A cancel rolls back too.
// Copy sets with rehash = "after_switch" are hashed again on both hosts
// meanwhile; a mismatch rolls back, and the move commits only once the
// re-hash passed.
func (m *move) soak(ctx workflow.Context) {
	m.setPhase(PhaseSoak)
	if m.in.Soak <= 0 {
		m.setPhase(PhaseCommitted)
		return
	}
	until := workflow.Now(ctx).Add(m.in.Soak)
	m.st.SoakUntil = &until
	m.details()
	rh := m.startRehash(ctx)
	_, err := workflow.AwaitWithTimeout(ctx, m.in.Soak, func() bool {
		return m.commitReq != nil || m.rollbackReq != nil || rh.err != nil
	})
	if err == nil && m.rollbackReq == nil && rh.err == nil {
		// Soak over or committed: the re-hash must have passed first.
		err = workflow.Await(ctx, func() bool { return rh.done() || m.rollbackReq != nil })
	}
	m.noteWait(ctx, until.Add(-m.in.Soak))
	switch {
	case m.rollbackReq != nil:
		why := fmt.Sprintf("manual rollback by %s during soak", m.rollbackReq.By)
		if m.rollbackReq.Reason != "" {
			why += ": " + m.rollbackReq.Reason
		}
		m.rollback(why)
	case rh.err != nil:
		m.rollback("re-hash after the switch failed: " + cause(rh.err))
	case err != nil:
		m.rollback("move cancelled during soak")
	default:
		m.setPhase(PhaseCommitted)
	}
}

// rehashRun tracks the re-hash activities of a soak.
type rehashRun struct {
	pending int
	err     error
}

func (r *rehashRun) done() bool { return r.pending == 0 || r.err != nil }

// startRehash starts a re-hash of every copy set that asks for one, each
// against its final sync's manifest (path and digest from history).
func (m *move) startRehash(ctx workflow.Context) *rehashRun {
	r := &rehashRun{}
	var sets []contract.CopySet
	for _, s := range m.in.Copies {
		if s.Rehash == contract.RehashAfterSwitch && s.Verify != contract.VerifySizeMtime {
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 || workflow.GetVersion(ctx, changeSoakRehash, workflow.DefaultVersion, 1) < 1 {
		return r
	}
	for _, set := range sets {
		in := contract.RehashInput{Copy: contract.CopyInput{MoveID: m.id, Phase: contract.PhaseFinalSync,
			Source: m.in.Source, Target: m.in.Target, Set: set}, ManifestSHA256: m.finalManifest(set.Name)}
		f := workflow.ExecuteActivity(copyOptions(ctx, m.in.Target), contract.NameRehash, in)
		r.pending++
		workflow.Go(ctx, func(gctx workflow.Context) {
			var res contract.RehashResult
			if err := f.Get(gctx, &res); err != nil && r.err == nil {
				r.err = fmt.Errorf("copy set %s: %w", set.Name, err)
			}
			r.pending--
		})
	}
	return r
}

// finalManifest is the digest of the last final sync's manifest of a set.
func (m *move) finalManifest(set string) string {
	for i := len(m.st.Copies) - 1; i >= 0; i-- {
		if c := m.st.Copies[i]; c.Set == set && c.Phase == contract.PhaseFinalSync {
			return c.ManifestSHA256
		}
	}
	return ""
}
