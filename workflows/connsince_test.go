package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// The activities after a wait for approval carry a new wait name in their
// hosts' ConnSince, so a worker's pool logs in anew and checks the host
// keys; the ones before it carry none. A move that only pauses before a
// check's retry names that pause, and nothing before it.
func TestConnSinceNamesEveryWait(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, 2*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "a.meier"}) })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	var before, after int
	for _, c := range f.calls {
		waited := c.Name == contract.NameRunCommand || c.Phase == contract.PhaseFinalSync
		switch {
		case !waited && c.Since != "":
			t.Errorf("%s %s %s before the approval names a wait: %q", c.Name, c.Phase, c.Purpose, c.Since)
		case waited && !strings.HasSuffix(c.Since, "/1"):
			t.Errorf("%s %s %s after the approval names wait %q, want the first", c.Name, c.Phase, c.Purpose, c.Since)
		case waited:
			after++
		default:
			before++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("%d activities before the wait and %d after it; want some of each: %+v", before, after, f.calls)
	}

	// Without approval or soak, only the pause before a check's retry is
	// a wait: the retry logs in anew, nothing before it does.
	env, f = newEnv(t)
	in := finance()
	in.Cutover.Approval = nil
	in.Soak = 0
	f.exit = func(in contract.CommandInput) int {
		if strings.HasPrefix(in.Purpose, "check health (attempt 1/") {
			return 7
		}
		return 0
	}
	env.ExecuteWorkflow(MoveWorkflow, in)
	wantPhases(t, result(t, env), PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	retried := false
	for _, c := range f.calls {
		switch {
		case strings.HasPrefix(c.Purpose, "check health (attempt 2/"):
			retried = strings.HasSuffix(c.Since, "/1")
		case retried:
			// after the retry: the same login may serve
		case c.Since != "":
			t.Errorf("%s %s %s of a move without waits names one: %q", c.Name, c.Phase, c.Purpose, c.Since)
		}
	}
	if !retried {
		t.Errorf("the check's retry after its pause names no wait: %+v", f.calls)
	}
}
