//go:build chaos

package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// Points at which the worker process dies.
const (
	atSeed      = "seed"
	atFinalSync = "final-sync"
	atStep      = "step"
	atRollback  = "rollback"
)

var sigName = map[syscall.Signal]string{syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM"}

var points = []string{atSeed, atFinalSync, atStep, atRollback}

const (
	faultKill    = "worker kill -9"
	faultRestart = "Temporal server restart"
)

// pointWithin bounds how long the moves may take to reach their points;
// a move that does not is hit wherever it stands (and says so).
const pointWithin = 6 * time.Minute

// slow is the copy bandwidth that keeps a copy from finishing between the
// check that it is under way and the proxy's hold.
const slow = "512KiB/s"

func pointOptions(point string) cellOptions {
	switch point {
	case atSeed:
		return cellOptions{profile: profileBigSeed, bandwidth: slow}
	case atFinalSync:
		return cellOptions{profile: profileBigDelta, bandwidth: slow}
	case atStep:
		return cellOptions{profile: profileSmall, gateStop: true}
	default:
		return cellOptions{profile: profileSmall, gateUndo: true, broken: true}
	}
}

// killLane kills `umzug dev` with SIGKILL while its moves stand at random
// points, restarts it on the same database and checks every move.
func (s *suite) killLane(t *testing.T) {
	events := s.runs(2, 1)
	per := s.runs(10, 4)
	s.processLane(t, faultKill, syscall.SIGKILL, 1, events, per)
}

// restartLane stops `umzug dev` gracefully (SIGTERM: server and worker
// shut down) at random points and starts it again on the same database.
func (s *suite) restartLane(t *testing.T) {
	s.processLane(t, faultRestart, syscall.SIGTERM, 2, 1, s.runs(10, 2))
}

func (s *suite) processLane(t *testing.T, fault string, sig syscall.Signal, lane uint64, events, per int) {
	rng := s.rng(lane)
	d := s.laneDev(t, fmt.Sprintf("dev-%d", lane))
	if d == nil {
		return
	}
	defer d.Close()
	idx := int(lane) * 1000
	for ev := range events {
		order := rng.Perm(len(points))
		var cells []*cell
		for i := range per {
			p := points[order[i%len(points)]]
			idx++
			c, err := s.newCell(fmt.Sprintf("p%d_e%d_%02d_%s", lane, ev, i, p[:4]), idx, pointOptions(p))
			if err != nil {
				t.Error(err)
				return
			}
			defer c.close()
			cells = append(cells, c)
		}
		s.processEvent(t, fault, sig, d, rng, cells)
	}
}

// processEvent brings every cell to its point, stops the process at a
// seeded random moment, restarts it and lets the moves finish. Steps and
// undos wait at a gate; copies wait because the target's proxy holds
// their bytes once they are under way.
func (s *suite) processEvent(t *testing.T, fault string, sig syscall.Signal, d *devProc, rng *rand.Rand, cells []*cell) {
	var wg sync.WaitGroup
	ready := make([]string, len(cells))
	deadline := time.Now().Add(pointWithin)
	for i, c := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.toPoint(d, deadline); err != nil {
				ready[i] = err.Error()
			}
		}()
	}
	wg.Wait()
	delay := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
	time.Sleep(delay)
	notes := make([]string, len(cells))
	hit := 0
	for i, c := range cells {
		st, _ := c.status(d)
		notes[i] = fmt.Sprintf("%s in %s, %s after reaching the point", sigName[sig], st.Phase, delay.Round(time.Millisecond))
		switch {
		case ready[i] != "":
			notes[i] += " (point not reached: " + ready[i] + ")"
		case !c.atPoint(st.Phase):
			notes[i] += " (point already passed)"
		default:
			hit++
		}
	}
	began := time.Now()
	if sig == syscall.SIGKILL {
		d.stop(sig)
	} else {
		// A graceful stop waits for activities to give up; let them.
		go func() { time.Sleep(100 * time.Millisecond); release(cells) }()
		d.stop(sig)
	}
	stopped := time.Since(began)
	release(cells)
	if err := d.start(); err != nil {
		t.Errorf("restart umzug dev: %v", err)
		return
	}
	fmt.Printf("chaos: %s: %d of %d moves hit at their point, %s after reaching it; stop took %s; restarted\n",
		fault, hit, len(cells), delay.Round(time.Millisecond), stopped.Round(time.Millisecond))
	end := time.Now().Add(6 * time.Minute)
	for i, c := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := c.afterRestart(d, end)
			o.note = notes[i]
			s.count(fault, c, o)
		}()
	}
	wg.Wait()
}

// release opens every gate and lets the proxies forward again.
func release(cells []*cell) {
	for _, c := range cells {
		_ = os.WriteFile(c.gate, nil, 0o644)
		c.proxy.Hold(false)
	}
}

// toPoint runs the move until it stands where the fault should hit it and
// holds it there.
func (c *cell) toPoint(d *devProc, deadline time.Time) error {
	if err := c.start(d); err != nil {
		return err
	}
	if !c.o.gateStop && !c.o.gateUndo && c.o.profile == profileBigSeed {
		return c.holdWhen(deadline, func() bool { return treeBytes(c.dstData) > 256<<10 })
	}
	if err := c.untilApproval(d, deadline, nil); err != nil {
		return err
	}
	switch {
	case c.o.gateStop:
		return c.until(deadline, func() bool { return exists(c.stopEntered) })
	case c.o.gateUndo:
		return c.until(deadline, func() bool { return exists(c.undoEntered) })
	}
	seeded := treeBytes(c.dstData)
	return c.holdWhen(deadline, func() bool {
		return readState(c.srcState) == "stopped" && treeBytes(c.dstData) > seeded+256<<10
	})
}

// holdWhen waits for cond and then holds the target's proxy.
func (c *cell) holdWhen(deadline time.Time, cond func() bool) error {
	if err := c.until(deadline, cond); err != nil {
		return err
	}
	c.proxy.Hold(true)
	return nil
}

// atPoint reports whether the move still stands at its point: gated
// steps wait until released; copies must still be running.
func (c *cell) atPoint(phase string) bool {
	switch {
	case c.o.gateStop || c.o.gateUndo:
		return true
	case c.o.profile == profileBigSeed:
		return phase == workflows.PhaseSeed
	default:
		return phase == workflows.PhaseCutover && readState(c.dstState) != "running"
	}
}

// afterRestart drives a move whose process was stopped to its end.
func (c *cell) afterRestart(d *devProc, deadline time.Time) outcome {
	st, _ := c.waitFor(d, deadline, func(workflows.Status) bool { return true })
	if st.Phase == workflows.PhaseSeed || st.Phase == workflows.PhasePreflight || st.Phase == workflows.PhaseAwaitingApproval {
		if err := c.untilApproval(d, deadline, nil); err != nil {
			return outcome{phase: st.Phase, err: err.Error()}
		}
	}
	return c.finish(d, deadline)
}

func (c *cell) until(deadline time.Time, cond func() bool) error {
	for !cond() {
		if time.Now().After(deadline) {
			return errDeadline
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// treeBytes sums the sizes of regular files under root, temporary ones
// included: how far a copy has come.
func treeBytes(root string) int64 {
	var n int64
	_ = filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
