package workflows

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// TestCommandsCarrySecretNames: each command activity gets the names of
// the secrets its own text refers to, so the worker can supply the values.
func TestCommandsCarrySecretNames(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Approval = nil
	in.Cutover.Blocks = slices.Insert(in.Cutover.Blocks, 1, Block{
		Kind: BlockStep, Name: "db", On: "target",
		Run:     `PGPASSWORD="${UMZUG_SECRET_pg_password}" psql -c "select 1"`,
		Undo:    `curl -H "Authorization: Bearer ${UMZUG_SECRET_api_token}" -X DELETE https://lb/fin`,
		Secrets: []string{"api_token", "pg_password"},
	})
	in.Cutover.Blocks = slices.Insert(in.Cutover.Blocks, 2, Block{
		Kind: BlockStep, Name: "kept", On: "target", KeepOutput: true,
		Run:     `echo "${UMZUG_SECRET_pg_password}"`,
		Undo:    `echo "${UMZUG_SECRET_pg_password}" undone`,
		Secrets: []string{"pg_password"},
	})
	var mu sync.Mutex
	got := map[string][]string{}
	keep := map[string]bool{}
	f.exit = func(c contract.CommandInput) int {
		mu.Lock()
		got[c.Purpose] = c.Secrets
		keep[c.Purpose] = c.KeepOutput
		mu.Unlock()
		return failHealth(c)
	}
	env.ExecuteWorkflow(MoveWorkflow, in)
	if st := result(t, env); st.Phase != PhaseRolledBack {
		t.Fatalf("phase %s", st.Phase)
	}
	if s := got["step db"]; !slices.Equal(s, []string{"pg_password"}) {
		t.Errorf("step db secrets %v", s)
	}
	if s := got["undo db"]; !slices.Equal(s, []string{"api_token"}) {
		t.Errorf("undo db secrets %v", s)
	}
	if s := got["step stop_app"]; s != nil {
		t.Errorf("step stop_app secrets %v", s)
	}
	// The plan's output = "keep" reaches the worker with each command of
	// its block; without it the worker withholds the output.
	if s := got["step kept"]; !slices.Equal(s, []string{"pg_password"}) || !keep["step kept"] || !keep["undo kept"] {
		t.Errorf("step kept: secrets %v, keep %v", s, keep)
	}
	if keep["step db"] || keep["undo db"] {
		t.Errorf("output kept without output = keep: %v", keep)
	}
}

// TestMissingSecretOnSourceWorkerFailsPreflight: a secret the source's
// steps use but the source queue's worker lacks fails the move in
// preflight, before the seed and the approval wait, with nothing run on
// either host. The check runs on the source's queue, since the Preflight
// activity runs on the target's.
func TestMissingSecretOnSourceWorkerFailsPreflight(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Source.Queue, in.Target.Queue = "dc-pb", "dc-lg"
	in.Cutover.Blocks[0].Run = `PGPASSWORD="${UMZUG_SECRET_pg_password}" pg_ctl stop`
	in.Cutover.Blocks[0].Secrets = []string{"pg_password"}
	in.Cutover.Blocks[2].Run = `curl -H "Authorization: ${UMZUG_SECRET_lb_token}" https://lb/fin`
	in.Cutover.Blocks[2].Secrets = []string{"lb_token"}
	f.secretsErr = func(c contract.CheckSecretsInput) error {
		if c.Side == "source" {
			return temporal.NewNonRetryableApplicationError("secret pg_password is missing on worker w-pb", contract.ErrSecretMissing, nil)
		}
		return nil
	}
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	if st.Phase != PhaseFailed || !strings.Contains(st.Error, "secret pg_password is missing on worker w-pb") || !strings.Contains(st.Error, "nothing changed on the source") {
		t.Fatalf("phase %s, error %q", st.Phase, st.Error)
	}
	checks := f.find(contract.NameCheckSecrets, "")
	if len(checks) != 2 {
		t.Fatalf("secrets checks %+v", checks)
	}
	for _, c := range checks {
		want := map[string]string{"fin_pb": "dc-pb source pg_password", "fin_lg": "dc-lg target lb_token"}[c.Host]
		if c.Queue+" "+c.Purpose != want {
			t.Errorf("check on %s: queue %s, %q; want %q", c.Host, c.Queue, c.Purpose, want)
		}
	}
	if n := len(f.find(contract.NameRunCommand, "")) + len(f.find(contract.NameCopyTree, "")); n != 0 {
		t.Fatalf("%d steps or copies ran after a failed secrets check", n)
	}
	if len(st.Approvals) != 0 || st.Preflight != nil {
		t.Fatalf("approvals %v, preflight result %v", st.Approvals, st.Preflight)
	}
}

// TestPreflightAndSecretsProblemsReportedTogether: both the Preflight
// activity's problems and a missing secret end up in the move's error.
func TestPreflightAndSecretsProblemsReportedTogether(t *testing.T) {
	env, f := newEnv(t)
	in := finance()
	in.Cutover.Blocks[0].Run = `echo "${UMZUG_SECRET_pg_password}"`
	in.Cutover.Blocks[0].Secrets = []string{"pg_password"}
	f.preflightErr = func(contract.PreflightInput) error {
		return temporal.NewNonRetryableApplicationError("preflight failed: target fin_lg has 1.0 GiB free", contract.ErrPreflightFailed, nil)
	}
	f.secretsErr = func(contract.CheckSecretsInput) error {
		return temporal.NewNonRetryableApplicationError("secret pg_password is missing", contract.ErrSecretMissing, nil)
	}
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	if st.Phase != PhaseFailed || !strings.Contains(st.Error, "1.0 GiB free") || !strings.Contains(st.Error, "secret pg_password is missing") {
		t.Fatalf("phase %s, error %q", st.Phase, st.Error)
	}
}
