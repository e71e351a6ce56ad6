//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// abortWithin bounds a move that must fail (changed host key, full
// target, unreadable source): from start through rollback.
const abortWithin = 3 * time.Minute

const (
	faultControl = "none (control)"
	faultLinkCut = "SSH link cut mid-transfer"
	faultFull    = "target full (bytes, inodes)"
	faultHostKey = "host key changed between phases"
	faultCrafted = "crafted"
)

// job is one run of the steady lane: prepare builds the cell, drive runs
// the move with its fault and reports how it ended.
type job struct {
	fault, name string
	o           cellOptions
	skip        string
	prepare     func(c *cell) error
	drive       func(c *cell, d *devProc, deadline time.Time) outcome
	cleanup     func(c *cell)
}

// steadyLane runs the faults that need no process restart on one
// `umzug dev`, a few moves at a time.
func (s *suite) steadyLane(t *testing.T) {
	d := s.laneDev(t, "dev-steady")
	if d == nil {
		return
	}
	defer d.Close()
	jobs := s.controlJobs()
	jobs = append(jobs, s.linkCutJobs()...)
	jobs = append(jobs, s.fullJobs()...)
	jobs = append(jobs, s.hostKeyJobs()...)
	jobs = append(jobs, s.craftedJobs()...)
	sem := make(chan struct{}, s.runs(6, 4))
	var wg sync.WaitGroup
	for i, j := range jobs {
		if s.only != nil && !s.only.MatchString(j.name) {
			continue
		}
		if j.skip != "" {
			s.addRow(j.fault, Row{Skipped: j.skip})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			s.runJob(t, d, 3000+i, j)
		}()
	}
	wg.Wait()
}

// laneDev starts a lane's own `umzug dev` in the work dir's name; nil
// (reported) when it cannot.
func (s *suite) laneDev(t *testing.T, name string) *devProc {
	dir := filepath.Join(s.base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return nil
	}
	d, err := newDev(s.bin, dir)
	if err != nil {
		t.Error(err)
		return nil
	}
	return d
}

func (s *suite) runJob(t *testing.T, d *devProc, idx int, j job) {
	c, err := s.newCell(fmt.Sprintf("s%02d_%s", idx-3000, j.name), idx, j.o)
	if err != nil {
		t.Errorf("%s: %v", j.name, err)
		return
	}
	defer c.close()
	if j.prepare != nil {
		if err := j.prepare(c); err != nil {
			t.Errorf("%s: prepare: %v", c.name, err)
			return
		}
	}
	if j.cleanup != nil {
		defer j.cleanup(c)
	}
	// A move that must not commit must also end quickly: the source may
	// already be stopped.
	deadline := time.Now().Add(4 * time.Minute)
	if j.o.mustAbort {
		deadline = time.Now().Add(abortWithin)
	}
	o := j.drive(c, d, deadline)
	if j.fault == faultControl && o.phase == "committed" {
		s.mu.Lock()
		s.control[j.o.profile] = max(0, c.proxy.Sent()-c.needed)
		s.mu.Unlock()
	}
	s.count(j.fault, c, o)
}

// plain runs a move through approval to its end, calling hook (if any)
// right before the approval.
func plain(hook func(c *cell) error) func(c *cell, d *devProc, deadline time.Time) outcome {
	return func(c *cell, d *devProc, deadline time.Time) outcome {
		if err := c.start(d); err != nil {
			return outcome{err: err.Error()}
		}
		var before func() error
		if hook != nil {
			before = func() error { return hook(c) }
		}
		if err := c.untilApproval(d, deadline, before); err != nil {
			o := c.finish(d, deadline)
			o.err = err.Error() + "; " + o.err
			return o
		}
		return c.finish(d, deadline)
	}
}

// controlJobs are fault-free moves of each tree profile: they show the
// suite itself passes and give the wire overhead for bytes re-sent.
func (s *suite) controlJobs() []job {
	var out []job
	for _, p := range []string{profileSmall, profileBigSeed, profileBigDelta} {
		out = append(out, job{fault: faultControl, name: "control_" + strings.ReplaceAll(p, "-", "_"), o: cellOptions{profile: p}, drive: plain(nil)})
	}
	return out
}

// linkCutJobs drop every connection through the target's proxy at a
// seeded random byte count, during the seed or the final sync.
func (s *suite) linkCutJobs() []job {
	rng := s.rng(10)
	var out []job
	for i := range s.runs(10, 2) {
		inSeed := i%2 == 0
		at := 64<<10 + rng.Int64N(5<<19)
		o := cellOptions{profile: profileBigSeed}
		name := "cut_seed"
		if !inSeed {
			o.profile, name = profileBigDelta, "cut_final"
		}
		drive := func(c *cell, d *devProc, deadline time.Time) outcome {
			var r outcome
			if inSeed {
				c.proxy.CutAt(at)
				r = plain(nil)(c, d, deadline)
			} else {
				r = plain(func(c *cell) error { c.proxy.CutAt(at); return nil })(c, d, deadline)
			}
			r.note = fmt.Sprintf("cut after %d bytes, fired %d", at, c.proxy.Cuts())
			return r
		}
		out = append(out, job{fault: faultLinkCut, name: name, o: o, drive: drive})
	}
	return out
}

// hostKeyJobs give the target a new host key after the seed: the move
// must not commit, must end quickly and leave the source running.
func (s *suite) hostKeyJobs() []job {
	var out []job
	for range s.runs(5, 1) {
		out = append(out, job{fault: faultHostKey, name: "hostkey", o: cellOptions{profile: profileSmall, mustAbort: true},
			drive: plain(func(c *cell) error { return c.changeTargetHostKey() })})
	}
	return out
}
