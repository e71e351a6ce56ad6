package workflows

import (
	"slices"
	"sync"
	"testing"

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
