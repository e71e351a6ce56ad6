package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// runMove runs in with RunCommand answered by cmd, and returns the result
// and the purposes of every command, in order.
func runMove(t *testing.T, in MoveInput, cmd func(contract.CommandInput) (contract.CommandResult, error)) (Status, []string) {
	t.Helper()
	env, _ := newEnv(t)
	var mu sync.Mutex
	var got []string
	env.OnActivity(contract.NameRunCommand, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, c contract.CommandInput) (contract.CommandResult, error) {
			mu.Lock()
			got = append(got, c.Purpose)
			mu.Unlock()
			return cmd(c)
		})
	env.ExecuteWorkflow(MoveWorkflow, in)
	return result(t, env), got
}

// failing answers purpose with err, or exit code 3 when err is nil.
func failing(purpose string, err error) func(contract.CommandInput) (contract.CommandResult, error) {
	return func(c contract.CommandInput) (contract.CommandResult, error) {
		res := contract.CommandResult{Host: c.Host.Name, Command: c.Command}
		if c.Purpose != purpose {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.ExitCode, res.Stderr = 3, "financectl: stop took too long"
		return res, nil
	}
}

func unapproved() MoveInput {
	in := finance()
	in.Cutover.Approval = nil
	return in
}

// A step that timed out may have done its work (the service stopped):
// rollback runs its undo, and says why.
func TestTimedOutStepIsUndone(t *testing.T) {
	timeout := temporal.NewNonRetryableApplicationError(
		"step stop_app: timed out after 2m0s; process group 4242 on fin_pb ended", contract.ErrCommandTimeout, nil)
	st, got := runMove(t, unapproved(), failing("step stop_app", timeout))
	if st.Phase != PhaseRolledBack {
		t.Fatalf("phase %s", st.Phase)
	}
	if want := []string{"step stop_app", "undo stop_app"}; !slices.Equal(got, want) {
		t.Fatalf("commands %v, want %v", got, want)
	}
	if len(st.Undone) != 1 || !strings.Contains(st.Undone[0], "undo stop_app on fin_pb: exit 0") ||
		!strings.Contains(st.Undone[0], "may have run in part") {
		t.Fatalf("undone %q attention %q", st.Undone, st.ManualAttention)
	}
}

// A failed step without undo goes to a human: never "undone: none" and
// "manual_attention: none" while the source may be down.
func TestFailedStepWithoutUndoNeedsAttention(t *testing.T) {
	in := unapproved()
	in.Cutover.Blocks = slices.Insert(in.Cutover.Blocks, 1, Block{Kind: BlockStep, Name: "drain", On: "source", Run: "haproxy drain fin"})
	st, got := runMove(t, in, failing("step drain", nil))
	if want := []string{"step stop_app", "step drain", "undo stop_app"}; !slices.Equal(got, want) {
		t.Fatalf("commands %v, want %v", got, want)
	}
	if len(st.ManualAttention) != 1 || !strings.Contains(st.ManualAttention[0], "step drain failed or timed out and may have run in part") ||
		!strings.Contains(st.ManualAttention[0], "haproxy drain fin") {
		t.Fatalf("attention %q", st.ManualAttention)
	}
	if len(st.Undone) != 1 || strings.Contains(st.Undone[0], "may have run in part") {
		t.Fatalf("undone %q", st.Undone)
	}
}

// A lost command is undone too, and its result (carried as error details)
// lands in the step record.
func TestLostStepIsUndoneAndKeepsDetails(t *testing.T) {
	lost := temporal.NewNonRetryableApplicationError("step stop_app: runner gone", contract.ErrCommandLost, nil,
		contract.CommandResult{Host: "fin_pb", ExitCode: -1, Stderr: "half way", ProcessGroup: 77,
			Attempts: []contract.CommandAttempt{{Attempt: 1, Host: "fin_pb", ExitCode: -1}}})
	st, got := runMove(t, unapproved(), failing("step stop_app", lost))
	if want := []string{"step stop_app", "undo stop_app"}; !slices.Equal(got, want) {
		t.Fatalf("commands %v", got)
	}
	if st.Steps[0].Kind != BlockStep || st.Steps[0].ExitCode != -1 || !strings.Contains(st.Steps[0].Error, "runner gone") {
		t.Fatalf("step record %+v", st.Steps[0])
	}
}

// A step that exits non-zero is undone.
func TestFailedStepIsUndone(t *testing.T) {
	st, got := runMove(t, unapproved(), failing("step start_app", nil))
	if want := []string{"step stop_app", "step start_app", "undo start_app", "undo stop_app"}; !slices.Equal(got, want) {
		t.Fatalf("commands %v", got)
	}
	if len(st.Undone) != 2 || len(st.ManualAttention) != 0 {
		t.Fatalf("undone %q attention %q", st.Undone, st.ManualAttention)
	}
}
