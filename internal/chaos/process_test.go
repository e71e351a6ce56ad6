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

// slow is the copy bandwidth that keeps seed and final sync running long
// enough to be hit.
const slow = "256KiB/s"

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
	dir := filepath.Join(s.base, fmt.Sprintf("dev-%d", lane))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return
	}
	d, err := newDev(s.bin, dir)
	if err != nil {
		t.Error(err)
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
// seeded random moment, restarts it and lets the moves finish. Gated
// points (steps, rollback) can wait, copies cannot: the gated moves go
// first, then the final syncs, and the seeds start last.
func (s *suite) processEvent(t *testing.T, fault string, sig syscall.Signal, d *devProc, rng *rand.Rand, cells []*cell) {
	var wg sync.WaitGroup
	ready := make([]string, len(cells))
	deadline := time.Now().Add(3 * time.Minute)
	for _, wave := range []func(c *cell) bool{
		func(c *cell) bool { return c.o.gateStop || c.o.gateUndo },
		func(c *cell) bool { return c.o.profile == profileBigDelta },
		func(c *cell) bool { return c.o.profile == profileBigSeed },
	} {
		var started sync.WaitGroup
		for i, c := range cells {
			if !wave(c) {
				continue
			}
			wg.Add(1)
			started.Add(1)
			go func() {
				defer wg.Done()
				if err := c.toPoint(d, deadline, started.Done); err != nil {
					ready[i] = err.Error()
				}
			}()
		}
		started.Wait()
	}
	wg.Wait()
	delay := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
	time.Sleep(delay)
	notes := make([]string, len(cells))
	for i, c := range cells {
		st, _ := c.status(d)
		notes[i] = fmt.Sprintf("%s in %s, %s after the point", sigName[sig], st.Phase, delay.Round(time.Millisecond))
		if ready[i] != "" {
			notes[i] += " (point not reached: " + ready[i] + ")"
		}
	}
	began := time.Now()
	d.stop(sig)
	stopped := time.Since(began)
	for _, c := range cells {
		_ = os.WriteFile(c.gate, nil, 0o644)
	}
	if err := d.start(); err != nil {
		t.Errorf("restart umzug dev: %v", err)
		return
	}
	fmt.Printf("chaos: %s: %d moves hit after %s; stop took %s; restarted\n", fault, len(cells), delay.Round(time.Millisecond), stopped.Round(time.Millisecond))
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

// toPoint runs the move until it stands where the fault should hit it.
// It calls started once the next wave may begin: at the gate, once the
// final sync is approved, or once the seed is under way.
func (c *cell) toPoint(d *devProc, deadline time.Time, started func()) error {
	var once sync.Once
	defer once.Do(started)
	if err := c.start(d); err != nil {
		return err
	}
	if !c.o.gateStop && !c.o.gateUndo && c.o.profile == profileBigSeed {
		return c.until(deadline, func() bool { return treeBytes(c.dstData) > 256<<10 })
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
	once.Do(started)
	seeded := treeBytes(c.dstData)
	return c.until(deadline, func() bool {
		return readState(c.srcState) == "stopped" && treeBytes(c.dstData) > seeded+256<<10
	})
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
