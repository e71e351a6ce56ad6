//go:build chaos

package chaos

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// outcome is how a move ended.
type outcome struct {
	phase   string
	err     string
	settled bool   // ended by itself before the run's deadline
	note    string // what the fault did ("killed in seed", "cut at 1.2 MiB")
}

// snapshotOutside records every entry of the target host's side of the
// cell except `to`, the manifest directory and the application state.
func (c *cell) snapshotOutside() (map[string]string, error) {
	root := filepath.Join(c.dir, "dst")
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".":
			return nil
		case rel == "data" || rel == ".umzug":
			return filepath.SkipDir
		case rel == "app.state":
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sig := fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			sig += " -> " + l
		}
		out[rel] = sig
		return nil
	})
	return out, err
}

// freeze records the source tree as it must arrive (and what changed
// since the last freeze: bytes the move has to send).
func (c *cell) freeze() error {
	if c.hold != nil {
		c.hold.Lock()
		defer c.hold.Unlock()
	}
	ref, err := sumTree(c.srcData)
	if err != nil {
		return fmt.Errorf("sum source tree: %w", err)
	}
	for rel, e := range ref {
		if old, ok := c.ref[rel]; !ok || old.sum != e.sum {
			c.needed += e.size
		}
	}
	c.ref = ref
	return nil
}

// check turns a finished run into figures and problems.
func (c *cell) check(o outcome) Row {
	r := Row{Runs: 1}
	fail := func(format string, a ...any) {
		r.Problems = append(r.Problems, fmt.Sprintf("%s (seed %d, %s): ", c.name, c.s.seed, o.note)+fmt.Sprintf(format, a...))
	}
	committed := o.phase == workflows.PhaseCommitted
	running := readState(c.srcState) == "running"
	switch {
	case committed:
		r.Committed = 1
		if c.o.mustAbort {
			r.Unexpected = 1
			fail("committed although it must not")
		}
		var diff string
		r.BytesLost, diff = c.compareTarget()
		if diff != "" {
			r.DifferingCommits = 1
			fail("committed with a differing tree: %s", diff)
		}
	case o.settled && running:
		r.SafeAbort = 1
		r.BytesLost = c.sourceLoss() + c.keptLoss()
	default:
		r.Unsettled = 1
		r.BytesLost = c.sourceLoss() + c.keptLoss()
		fail("phase %s, settled %v, source state %q: %s", o.phase, o.settled, readState(c.srcState), o.err)
	}
	if r.BytesLost > 0 && !committed {
		fail("%d bytes lost on the source or of target-only files", r.BytesLost)
	}
	if n, where := c.foreignBytes(); n > 0 {
		r.ForeignBytes = n
		fail("%d foreign bytes on the target at the end: %s", n, where)
	}
	if c.seedForeign > r.ForeignBytes {
		r.ForeignBytes = c.seedForeign
		fail("%d foreign bytes on the target after the seed: %s", c.seedForeign, c.seedForeignAt)
	}
	if n, what := c.writesOutside(); n > 0 {
		r.WritesOutside = n
		fail("%d writes outside the target root: %s", n, what)
	}
	return r
}

func readState(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// compareTarget compares `to` with the frozen source tree: bytes of
// source files missing or different there, and treecmp's verdict.
func (c *cell) compareTarget() (int64, string) {
	var lost int64
	got, err := sumTree(c.dstData)
	if err != nil {
		return 0, err.Error()
	}
	var diffs []string
	for rel, want := range c.ref {
		have, ok := got[rel]
		if !ok || have.sum != want.sum || have.size != want.size {
			lost += want.size
		}
		if !ok || have.mode != want.mode || have.link != want.link || have.sum != want.sum {
			diffs = append(diffs, rel)
		}
	}
	for _, rel := range c.o.keep {
		if _, ok := got[rel]; !ok {
			lost += keepSize
			diffs = append(diffs, "target-only "+rel+" removed")
		}
	}
	if c.o.noDelete {
		// Without delete the target may hold more; what the source has
		// must be there (mtimes are left to the final sync's own check).
		if len(diffs) > 0 {
			return lost, "differs at " + strings.Join(first(diffs, 5), ", ")
		}
		return lost, ""
	}
	if _, err := treecmp.Equal(c.srcData, c.dstData, treecmp.Options{}); err != nil {
		return lost, err.Error()
	}
	return lost, ""
}

// keepSize is the size of each planted target-only file.
const keepSize = 4096

// keptLoss counts planted target-only files that are gone.
func (c *cell) keptLoss() int64 {
	var n int64
	for _, rel := range c.o.keep {
		if !exists(filepath.Join(c.dstData, rel)) {
			n += keepSize
		}
	}
	return n
}

// sourceLoss is the bytes of the frozen source tree that the move changed
// or removed on the source.
func (c *cell) sourceLoss() int64 {
	now, _ := sumTree(c.srcData)
	var lost int64
	for rel, want := range c.ref {
		if have, ok := now[rel]; !ok || have.sum != want.sum {
			lost += want.size
		}
	}
	return lost
}

// foreignBytes greps the whole target side for the planted secret and
// follows symlinks under `to` that resolve outside it: a reader of the
// target gets those bytes.
func (c *cell) foreignBytes() (int64, string) {
	var n int64
	var where []string
	root := filepath.Join(c.dir, "dst")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, c.secret) {
				n += int64(len(b))
				where = append(where, p)
			}
		case d.Type()&fs.ModeSymlink != 0 && strings.HasPrefix(p, c.dstData+"/"):
			real, err := filepath.EvalSymlinks(p)
			if err != nil || real == c.dstData || strings.HasPrefix(real, c.dstData+"/") {
				return nil
			}
			if fi, err := os.Stat(real); err == nil && fi.Mode().IsRegular() {
				n += fi.Size()
				where = append(where, p+" -> "+real)
			}
		}
		return nil
	})
	return n, strings.Join(first(where, 3), ", ")
}

// writesOutside compares the target's surroundings with the snapshot.
func (c *cell) writesOutside() (int, string) {
	after, err := c.snapshotOutside()
	if err != nil {
		return 1, err.Error()
	}
	var diffs []string
	for p, sig := range after {
		if before, ok := c.outsideBefore[p]; !ok {
			diffs = append(diffs, "created "+p)
		} else if before != sig {
			diffs = append(diffs, "changed "+p)
		}
	}
	for p := range c.outsideBefore {
		if _, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		}
	}
	return len(diffs), strings.Join(first(diffs, 3), ", ")
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
