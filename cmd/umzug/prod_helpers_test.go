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
	approveAndCommit(t, e, financeID, "c.yilmaz")
	return checkCommitted(t, e, financeID)
}

// approveTwice approves move id as b.schulz and c.yilmaz, the two
// approvers every e2e plan needs.
func approveTwice(t *testing.T, id string) {
	t.Helper()
	for _, who := range []string{"b.schulz", "c.yilmaz"} {
		if code, _, errOut := cli(t, "approve", id, "--as", who); code != 0 {
			t.Fatalf("approve %s as %s: exit %d %q", id, who, code, errOut)
		}
	}
}

// approveAndCommit waits for move id to await approval, approves it
// (approveTwice) and, once it soaks, commits it as by.
func approveAndCommit(t *testing.T, e *e2e, id, by string) {
	t.Helper()
	e.waitPhase(t, id, workflows.PhaseAwaitingApproval)
	approveTwice(t, id)
	e.waitPhase(t, id, workflows.PhaseSoak)
	if code, _, _ := cli(t, "commit", id, "--as", by); code != 0 {
		t.Fatalf("commit %s as %s: exit %d", id, by, code)
	}
}

// checkCommitted checks that move id ended committed and that the target
// tree is the source's.
func checkCommitted(t *testing.T, e *e2e, id string) workflows.Status {
	t.Helper()
	st := e.result(t, id)
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("final phase of %s %s: %s", id, st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(e.env.SourceData(), e.env.TargetData(), treecmp.Options{Skip: e.env.Excluded}); err != nil {
		t.Fatal(err)
	}
	return st
}
