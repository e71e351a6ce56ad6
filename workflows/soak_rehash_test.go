package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// A copy set with rehash = "after_switch" is hashed again during soak
// against its final sync's manifest; a mismatch rolls the move back, a
// pass lets it commit when the soak ends.
func TestSoakRehashAfterSwitch(t *testing.T) {
	for _, fail := range []bool{false, true} {
		env, _ := newEnv(t)
		var got []contract.RehashInput
		env.RegisterActivityWithOptions(func(ctx context.Context, in contract.RehashInput) (contract.RehashResult, error) {
			got = append(got, in)
			if fail {
				return contract.RehashResult{}, temporal.NewNonRetryableApplicationError(
					"re-hash after the switch: 1 file(s) of copy set ledger no longer match", contract.ErrVerificationFailed, nil)
			}
			return contract.RehashResult{Set: in.Copy.Set.Name, Files: 3}, nil
		}, activity.RegisterOptions{Name: contract.NameRehash})
		in := finance()
		in.Cutover.Approval = nil
		for i := range in.Copies {
			in.Copies[i].Rehash = contract.RehashAfterSwitch
		}
		env.ExecuteWorkflow(MoveWorkflow, in)
		st := result(t, env)
		if len(got) != len(in.Copies) || got[0].ManifestSHA256 != "m-"+contract.PhaseFinalSync || got[0].Copy.Phase != contract.PhaseFinalSync {
			t.Fatalf("fail=%v: re-hash calls %+v", fail, got)
		}
		if fail {
			wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseRolledBack)
			if !strings.HasPrefix(st.Error, "re-hash after the switch failed") {
				t.Errorf("error %q", st.Error)
			}
			continue
		}
		wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
		if at := phaseAt(st, PhaseCommitted); at.Before(t0.Add(24 * time.Hour)) {
			t.Errorf("committed at %v, before the soak ended", at)
		}
	}
}
