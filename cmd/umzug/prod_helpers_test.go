package main

import (
	"testing"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// moveToCommit runs the finance move through the CLI from start to
// commit and checks the target tree is the source's.
func moveToCommit(t *testing.T, e *e2e) workflows.Status {
	t.Helper()
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	approveAndCommit(t, e)
	return checkCommitted(t, e)
}

// approveAndCommit approves the waiting move twice and commits it.
func approveAndCommit(t *testing.T, e *e2e) {
	t.Helper()
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	for _, who := range []string{"b.schulz", "c.yilmaz"} {
		if code, _, _ := cli(t, "approve", financeID, "--as", who); code != 0 {
			t.Fatalf("approve %s: exit %d", who, code)
		}
	}
	e.waitPhase(t, financeID, workflows.PhaseSoak)
	if code, _, _ := cli(t, "commit", financeID, "--as", "c.yilmaz"); code != 0 {
		t.Fatalf("commit: exit %d", code)
	}
}

func checkCommitted(t *testing.T, e *e2e) workflows.Status {
	t.Helper()
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("final phase %s: %s", st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(e.env.SourceData(), e.env.TargetData(), treecmp.Options{Skip: e.env.Excluded}); err != nil {
		t.Fatal(err)
	}
	return st
}
