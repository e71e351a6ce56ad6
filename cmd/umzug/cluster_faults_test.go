//go:build cluster

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// engineFault is one fault injected into the cluster mid-seed.
type engineFault struct {
	name   string
	inject func(t *testing.T, oc *onCluster, moveID string)
}

// killRestart kills a service with SIGKILL and starts it again after 8 s.
// Meanwhile `umzug status` must return (answered or refused), not hang.
func killRestart(svc string) func(*testing.T, *onCluster, string) {
	return func(t *testing.T, oc *onCluster, moveID string) {
		if err := oc.Kill(svc); err != nil {
			t.Fatal(err)
		}
		down := time.Now()
		statusReturns(t, moveID)
		time.Sleep(8*time.Second - time.Since(down))
		if err := oc.StartService(svc); err != nil {
			t.Fatal(err)
		}
	}
}

// statusReturns runs `umzug status` in the background and fails the test
// if it has not returned after two minutes.
func statusReturns(t *testing.T, moveID string) {
	t.Helper()
	done := make(chan int, 1)
	began := time.Now()
	go func() {
		code, _, _ := cli(t, "status", moveID)
		done <- code
	}()
	select {
	case code := <-done:
		t.Logf("umzug status with a service down: exit %d after %s", code, time.Since(began).Round(time.Second))
	case <-time.After(2 * time.Minute):
		t.Errorf("umzug status with a service down did not return within 2 minutes")
	}
}

// frontendDownLong keeps the frontend down for longer than a worker's
// long poll (about a minute); meanwhile the CLI must say the cluster is
// unavailable and return.
func frontendDownLong(t *testing.T, oc *onCluster, moveID string) {
	if err := oc.Kill("frontend"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	code, _, errOut := cli(t, "status", moveID)
	if code == 0 || !strings.Contains(errOut, "connect to Temporal at "+oc.Address()) {
		t.Errorf("status with the frontend down: exit %d, stderr %q; want a clear unavailable error", code, errOut)
	}
	code, _, errOut = cli(t, "approve", moveID, "--as", "b.schulz")
	if code == 0 || !strings.Contains(errOut, "connect to Temporal") {
		t.Errorf("approve with the frontend down: exit %d, stderr %q", code, errOut)
	}
	time.Sleep(90*time.Second - time.Since(down))
	if err := oc.StartService("frontend"); err != nil {
		t.Fatal(err)
	}
}

// TestClusterEngineFaults injects each engine fault while a finance move
// seeds, then drives the move to commit and compares the trees. Its
// outcomes are recorded in docs/reliability.md.
func TestClusterEngineFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("engine faults take minutes; the short lane runs TestClusterSetupMoveWave")
	}
	oc := startCluster(t, true, 2)
	faults := []engineFault{
		{"kill_history", killRestart("history")},
		{"kill_matching", killRestart("matching")},
		{"kill_frontend", killRestart("frontend")},
		{"restart_postgres", func(t *testing.T, oc *onCluster, _ string) {
			if err := oc.RestartPostgres(context.Background(), 8*time.Second); err != nil {
				t.Fatal(err)
			}
		}},
		{"frontend_down_90s", frontendDownLong},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			e := oc.demoOn(t, "f_"+f.name, uint64(20+i))
			id := "umzug/f_" + f.name + "/finance"
			began := time.Now()
			if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
				t.Fatalf("run: exit %d", code)
			}
			e.waitPhase(t, id, workflows.PhaseSeed)
			f.inject(t, oc, id)
			waitPhaseThrough(t, e, id, workflows.PhaseAwaitingApproval)
			for _, who := range []string{"b.schulz", "c.yilmaz"} {
				cliRetry(t, "approve", id, "--as", who)
			}
			waitPhaseThrough(t, e, id, workflows.PhaseSoak)
			cliRetry(t, "commit", id, "--as", "c.yilmaz")
			st := e.result(t, id)
			if st.Phase != workflows.PhaseCommitted {
				t.Fatalf("%s: phase %s (%s)", f.name, st.Phase, st.Error)
			}
			if _, err := treecmp.Equal(e.env.SourceData(), e.env.TargetData(), treecmp.Options{Skip: e.env.Excluded}); err != nil {
				t.Fatalf("%s: committed but trees differ: %v", f.name, err)
			}
			t.Logf("ENGINE FAULT %s: committed, trees equal, %.0f s from run to commit", f.name, time.Since(began).Seconds())
		})
	}
}

// waitPhaseThrough waits for a phase while the cluster recovers: queries
// that fail meanwhile are retried.
func waitPhaseThrough(t *testing.T, e *e2e, id, phase string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := e.c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		cancel()
		var st workflows.Status
		if err == nil && v.Get(&st) == nil {
			if st.Phase == phase {
				return
			}
			if workflows.IsFinal(st.Phase) {
				t.Fatalf("move %s ended %s (%s) waiting for %s", id, st.Phase, st.Error, phase)
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("move %s never reached %s", id, phase)
}

// cliRetry runs a decision until it is accepted; right after a restart
// the cluster may still refuse calls as unavailable.
func cliRetry(t *testing.T, args ...string) {
	t.Helper()
	for i := 0; i < 5; i++ {
		code, _, errOut := cli(t, args...)
		if code == 0 {
			return
		}
		if strings.Contains(errOut, "four-eyes") || strings.Contains(errOut, "may not") {
			t.Fatalf("umzug %s refused: %s", strings.Join(args, " "), errOut)
		}
		time.Sleep(5 * time.Second)
	}
	t.Fatalf("umzug %s kept failing", strings.Join(args, " "))
}
