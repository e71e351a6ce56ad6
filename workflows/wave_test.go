package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// app is a move without approval that soaks one hour.
func app(name string, deps ...string) MoveInput {
	in := finance()
	in.Application, in.DependsOn, in.Soak = name, deps, time.Hour
	in.Cutover.Approval = nil
	return in
}

// starts returns when each application's preflight ran (workflow time).
func (f *fakes) starts() map[string]time.Time {
	out := map[string]time.Time{}
	for _, c := range f.find(contract.NamePreflight, "") {
		out[strings.TrimPrefix(c.MoveID, "umzug/q4/")] = c.At
	}
	return out
}

func runWave(t *testing.T, f func(*fakes), maxParallel int, moves ...MoveInput) (WaveStatus, *fakes) {
	t.Helper()
	env, fk := newEnv(t)
	if f != nil {
		f(fk)
	}
	env.ExecuteWorkflow(WaveWorkflow, WaveInput{PlanName: "q4", PlanSHA256: planSHA, Wave: "w1", MaxParallel: maxParallel, StartedBy: "ops", Moves: moves})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("wave did not complete: %v", env.GetWorkflowError())
	}
	var ws WaveStatus
	if err := env.GetWorkflowResult(&ws); err != nil {
		t.Fatal(err)
	}
	return ws, fk
}

func TestWaveOrderAndParallelism(t *testing.T) {
	h := time.Hour
	for _, tc := range []struct {
		name  string
		max   int
		moves []MoveInput
		want  map[string]time.Duration // start offsets
	}{
		// b waits for a although listed first; a and c overlap.
		{"depends_on", 2, []MoveInput{app("b", "a"), app("a"), app("c")}, map[string]time.Duration{"a": 0, "c": 0, "b": h}},
		// three independent moves, two at a time.
		{"max_parallel", 2, []MoveInput{app("x"), app("y"), app("z")}, map[string]time.Duration{"x": 0, "y": 0, "z": h}},
		{"serial", 1, []MoveInput{app("a"), app("b", "a"), app("c")}, map[string]time.Duration{"a": 0, "b": h, "c": 2 * h}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, f := runWave(t, nil, tc.max, tc.moves...)
			starts := f.starts()
			for app, off := range tc.want {
				if got := starts[app]; !got.Equal(t0.Add(off)) {
					t.Errorf("%s started at +%v, want +%v", app, got.Sub(t0), off)
				}
				if ws.Phases[app] != PhaseCommitted {
					t.Errorf("%s ended %s", app, ws.Phases[app])
				}
			}
			if !ws.Done {
				t.Error("wave not done")
			}
		})
	}
}

// A failed move blocks its transitive dependants; an independent move
// still commits; a dependency outside the wave is ignored with a note.
func TestWaveBlocksDependantsOfFailure(t *testing.T) {
	ws, f := runWave(t, func(f *fakes) {
		f.preflightErr = func(in contract.PreflightInput) error {
			if in.MoveID == MoveID("q4", "a") {
				return temporal.NewNonRetryableApplicationError("source fin_pb: /srv/finance/data missing", contract.ErrPreflightFailed, errors.New("missing"))
			}
			return nil
		}
	}, 2, app("a", "directory"), app("b", "a"), app("d", "b"), app("c"))
	want := map[string]string{"a": PhaseFailed, "b": WaveBlocked, "d": WaveBlocked, "c": PhaseCommitted}
	for app, p := range want {
		if ws.Phases[app] != p {
			t.Errorf("%s = %s, want %s", app, ws.Phases[app], p)
		}
	}
	if ws.BlockedBy["b"] != "a" || ws.BlockedBy["d"] != "a" {
		t.Errorf("blocked by = %v", ws.BlockedBy)
	}
	if len(ws.Notes) != 1 || !strings.Contains(ws.Notes[0], "a depends on directory, which is not in wave w1") {
		t.Errorf("notes = %q", ws.Notes)
	}
	if s := f.starts(); len(s) != 2 {
		t.Errorf("moves started: %v (blocked ones must not start)", s)
	}
}

// A wave cancel starts nothing more and leaves running moves alone.
func TestWaveCancel(t *testing.T) {
	env, f := newEnv(t)
	at(env, 30*time.Minute, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(WaveWorkflow, WaveInput{PlanName: "q4", Wave: "w1", Moves: []MoveInput{app("a"), app("b", "a")}})
	var ws WaveStatus
	if err := env.GetWorkflowResult(&ws); err != nil {
		t.Fatal(err)
	}
	if ws.Phases["a"] != WaveRunning || ws.Phases["b"] != WavePending || len(ws.Notes) != 1 || !strings.Contains(ws.Notes[0], "wave cancelled: 1 running move(s) continue") {
		t.Fatalf("status %+v", ws)
	}
	if s := f.starts(); len(s) != 1 {
		t.Fatalf("started %v", s)
	}
}
