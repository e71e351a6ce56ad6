//go:build interop

package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/devserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/workers"
	"github.com/umzug-dev/umzug/workflows"
)

// Fixed cost per move: whole moves on the embedded Temporal server with a
// worker as `umzug server` runs it, against the two real sshd of env.

const moveQueue = "bench-move"

var noPool = flag.Bool("umzug.nopool", false, "run the move benchmarks without the SSH connection pool, for comparison")

// temporalEnv is the embedded server, a client and one worker.
type temporalEnv struct {
	srv *devserver.Server
	c   client.Client
	w   worker.Worker
}

var (
	theTemporal  *temporalEnv
	temporalErr  error
	temporalOnce sync.Once
	moveRows     []moveRow
	plans        int // distinct plan names: workflow IDs are never reused
)

type moveRow struct {
	Case          string
	Moves         int
	Seconds       float64
	Phases        string // seconds per phase of one move, from its status
	SSHTrue       float64
	SessionsRatio float64 // Seconds / SSHTrue
}

func getTemporal(b *testing.B) *temporalEnv {
	temporalOnce.Do(func() { theTemporal, temporalErr = startTemporal() })
	if temporalErr != nil {
		b.Fatal(temporalErr)
	}
	return theTemporal
}

func startTemporal() (*temporalEnv, error) {
	srv, err := devserver.Start(devserver.Options{}) // any free port: srv.Address reports it
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(),
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		srv.Stop()
		return nil, err
	}
	// The moves copy with -umzug.engine, as the copy benchmarks do.
	a := &activities.Activities{Pool: activities.PoolOptions{IdleTimeout: activities.DefaultPoolIdleTimeout}, CopyEngine: *engine}
	if *engine != activities.CopyEngineClassic {
		if a.AgentDir, err = testkit.BuildAgent(); err != nil {
			c.Close()
			srv.Stop()
			return nil, err
		}
	}
	if *noPool {
		a.Pool.IdleTimeout = -1 // every activity dials its own connections
	}
	w := workers.New(c, workers.Options{TaskQueue: moveQueue, Activities: a})
	if err := w.Start(); err != nil {
		c.Close()
		srv.Stop()
		return nil, err
	}
	return &temporalEnv{srv: srv, c: c, w: w}, nil
}

func (t *temporalEnv) stop() {
	t.w.Stop()
	t.c.Close()
	t.srv.Stop()
}

// smallMove is a move of 5 small files with a final sync and no approval.
func (e *env) smallMove(b *testing.B, plan, app string, deps ...string) workflows.MoveInput {
	b.Helper()
	from := filepath.Join(e.dir, "moves", plan, app, "src")
	to := filepath.Join(e.dir, "moves", plan, app, "dst")
	for i := range 5 {
		p := filepath.Join(from, fmt.Sprintf("f%d.conf", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("setting%d = %s\n", i, app)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return workflows.MoveInput{Subject: workflows.Subject{PlanName: plan, Application: app, StartedBy: "bench",
		Source: e.host("source", e.src), Target: e.host("target", e.dst)}, DependsOn: deps,
		Copies:  []activities.CopySet{{Name: "conf", From: from, To: to, Verify: activities.VerifySHA256}},
		Cutover: workflows.Cutover{Blocks: []workflows.Block{{Kind: workflows.BlockFinalSync}}}}
}

// sshTrue is the median of 5 `ssh host true` round trips to the target:
// one login and one exec session, the unit a move's fixed cost is made of.
func (e *env) sshTrue(b *testing.B) float64 {
	b.Helper()
	var ds []float64
	for range 5 {
		args := append(e.sshCmd(e.dst), e.dst.User+"@127.0.0.1", "true")
		t0 := time.Now()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("ssh true: %v: %s", err, out)
		}
		ds = append(ds, time.Since(t0).Seconds())
	}
	sort.Float64s(ds)
	return ds[len(ds)/2]
}

func nextPlan() string {
	plans++
	return fmt.Sprintf("bench%d-%d", os.Getpid(), plans)
}

// BenchmarkMoveSmall runs one move of 5 small files (preflight, seed,
// final sync, no approval) end to end and reads its phase times from the
// move's own status.
func BenchmarkMoveSmall(b *testing.B) {
	e := getEnv(b)
	t := getTemporal(b)
	base := e.sshTrue(b)
	var best float64
	var phases string
	for range b.N {
		in := e.smallMove(b, nextPlan(), "ledger")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		t0 := time.Now()
		run, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.MoveID(in.PlanName, in.Application), TaskQueue: moveQueue}, workflows.MoveWorkflow, in)
		if err != nil {
			b.Fatal(err)
		}
		var st workflows.Status
		err = run.Get(ctx, &st)
		el := time.Since(t0).Seconds()
		cancel()
		if err != nil || st.Phase != workflows.PhaseCommitted {
			b.Fatalf("move: %v, phase %s, error %q", err, st.Phase, st.Error)
		}
		mustEqual(b, in.Copies[0].From, in.Copies[0].To)
		if best == 0 || el < best {
			best, phases = el, phaseTimes(st.Phases, t0)
		}
	}
	b.ReportMetric(best, "s/move")
	b.ReportMetric(best/base, "move/ssh-true")
	moveRows = append(moveRows, moveRow{Case: "one move, 5 small files", Moves: 1, Seconds: best, Phases: phases, SSHTrue: base, SessionsRatio: best / base})
}

// phaseTimes lists how long each phase of a move lasted.
func phaseTimes(ps []workflows.PhaseChange, start time.Time) string {
	s := ""
	for i, p := range ps {
		end := start
		if i+1 < len(ps) {
			end = ps[i+1].At
		} else {
			continue
		}
		s += fmt.Sprintf("%s %.2f ", p.Phase, end.Sub(p.At).Seconds())
	}
	return s
}

// BenchmarkMoveWave runs a wave of 100 such moves in 10 dependency chains
// of 10 with max_parallel = 20; -short runs 10 moves (2 chains of 5).
func BenchmarkMoveWave(b *testing.B) {
	e := getEnv(b)
	t := getTemporal(b)
	chains, length := 10, 10
	if testing.Short() {
		chains, length = 2, 5
	}
	base := e.sshTrue(b)
	var best float64
	for range b.N {
		plan := nextPlan()
		in := workflows.WaveInput{PlanName: plan, Wave: "w1", MaxParallel: 20, StartedBy: "bench"}
		for c := range chains {
			for i := range length {
				var deps []string
				if i > 0 {
					deps = []string{fmt.Sprintf("app%d-%d", c, i-1)}
				}
				in.Moves = append(in.Moves, e.smallMove(b, plan, fmt.Sprintf("app%d-%d", c, i), deps...))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		t0 := time.Now()
		run, err := t.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.WaveID(plan, in.Wave), TaskQueue: moveQueue}, workflows.WaveWorkflow, in)
		if err != nil {
			b.Fatal(err)
		}
		var st workflows.WaveStatus
		err = run.Get(ctx, &st)
		el := time.Since(t0).Seconds()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		for app, ph := range st.Phases {
			if ph != workflows.PhaseCommitted {
				b.Fatalf("move %s ended in %s (%v)", app, ph, st.Notes)
			}
		}
		if len(st.Phases) != len(in.Moves) {
			b.Fatalf("%d of %d moves reported", len(st.Phases), len(in.Moves))
		}
		if best == 0 || el < best {
			best = el
		}
	}
	n := chains * length
	b.ReportMetric(best, "s/wave")
	moveRows = append(moveRows, moveRow{Case: fmt.Sprintf("wave: %d chains of %d, max_parallel 20", chains, length), Moves: n, Seconds: best, SSHTrue: base, SessionsRatio: best / base})
}

// printMoveTable prints the fixed-cost rows for bench/README.md.
func printMoveTable() {
	if len(moveRows) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| case | moves | seconds | phases of one move (s) | ssh true (s) | seconds / ssh true |")
	fmt.Println("| --- | ---: | ---: | --- | ---: | ---: |")
	for _, r := range moveRows {
		fmt.Printf("| %s | %d | %.2f | %s | %.3f | %.1f |\n", r.Case, r.Moves, r.Seconds, r.Phases, r.SSHTrue, r.SessionsRatio)
	}
}
