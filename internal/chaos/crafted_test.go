//go:build chaos

package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// craftedJobs are source trees that try to make the copy read outside
// `from`, skip data silently, or mangle names.
func (s *suite) craftedJobs() []job {
	kinds := []job{
		{name: "swap", o: cellOptions{profile: profileBigSeed, bandwidth: "2MiB/s"}, prepare: prepareSwap, drive: driveSwap},
		{name: "chain", o: cellOptions{profile: profileSmall}, prepare: prepareChain, drive: plain(nil)},
		{name: "unlistable", o: cellOptions{profile: profileSmall, mustAbort: true}, prepare: prepareUnlistable, drive: plain(nil)},
		{name: "types", o: cellOptions{profile: profileSmall}, prepare: prepareTypes, drive: plain(changeTypes)},
		{name: "names", o: cellOptions{profile: profileSmall}, prepare: prepareNames, drive: plain(nil)},
		{name: "keep", o: cellOptions{profile: profileSmall, noDelete: true, keep: []string{keepFile}},
			prepare: prepareTypes, drive: plain(plantAndChangeTypes)},
	}
	var out []job
	for i := range s.runs(4*len(kinds), len(kinds)) {
		j := kinds[i%len(kinds)]
		j.fault = faultCrafted + ": " + craftedLabels[j.name]
		if j.name == "unlistable" {
			if s.ciUserErr != nil {
				j.skip = s.ciUserErr.Error()
			}
			j.o.srcUser = s.ciUser
		}
		out = append(out, j)
	}
	return out
}

var craftedLabels = map[string]string{
	"swap": "symlink swaps during seed", "chain": "escaping relative symlink chains",
	"unlistable": "unreadable directory and file (non-root user)", "types": "type changes before final sync",
	"names": "odd names",
	"keep":  "type changes with delete = false and target-only files",
}

const swapFiles = 40

// prepareSwap adds files of exactly the secret's size that a swapper
// turns into symlinks to the secret (and a directory into a symlink to
// the outside directory) while the seed runs.
func prepareSwap(c *cell) error {
	for i := range swapFiles {
		if err := writeFile(filepath.Join(c.srcData, "swap", fmt.Sprintf("s%02d", i)), c.rng, 8192, 0o644); err != nil {
			return err
		}
	}
	for i := range 4 {
		if err := writeFile(filepath.Join(c.srcData, "swapdir", fmt.Sprintf("d%d", i)), c.rng, 8192, 0o644); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(c.dir, "stash"), 0o755)
}

// swapper toggles entries between their real content and a symlink out of
// the tree until stopped, then restores every entry.
type swapper struct {
	c     *cell
	rng   *rand.Rand // its own: the cell's is used by the driver meanwhile
	stop  atomic.Bool
	mu    sync.Mutex // held for a whole swap and restore: the reference never sees half a swap
	wg    sync.WaitGroup
	swaps atomic.Int64
}

// swapAll turns every swap entry into a symlink out of the tree, holds
// them a moment, and puts the real entries back: each is a symlink half
// of the time while the seed lists and opens them.
func (w *swapper) swapAll() {
	w.mu.Lock()
	defer func() {
		w.mu.Unlock()
		time.Sleep(time.Duration(1+w.rng.IntN(4)) * time.Millisecond)
	}()
	var moved []string
	for i := range swapFiles + 1 {
		rel, target := fmt.Sprintf("swap/s%02d", i), w.c.secretFile
		if i == swapFiles {
			rel, target = "swapdir", filepath.Join(w.c.outside, "other")
		}
		p := filepath.Join(w.c.srcData, rel)
		if os.Rename(p, w.stash(rel)) == nil {
			_ = os.Symlink(target, p)
			moved = append(moved, rel)
		}
	}
	w.swaps.Add(int64(len(moved)))
	time.Sleep(time.Duration(1+w.rng.IntN(4)) * time.Millisecond)
	for _, rel := range moved {
		p := filepath.Join(w.c.srcData, rel)
		_ = os.Remove(p)
		_ = os.Rename(w.stash(rel), p)
	}
}

func (w *swapper) stash(rel string) string {
	return filepath.Join(w.c.dir, "stash", strings.ReplaceAll(rel, "/", "_"))
}

func (w *swapper) run() {
	defer w.wg.Done()
	for !w.stop.Load() {
		w.swapAll()
	}
}

// driveSwap swaps during the whole seed and stops before approval, so the
// source is whole again when the final sync runs.
func driveSwap(c *cell, d *devProc, deadline time.Time) outcome {
	w := &swapper{c: c, rng: rand.New(rand.NewPCG(c.rng.Uint64(), 1))}
	c.hold = &w.mu
	// Every caller waits for the swapper: the checks after the move must
	// see the source whole again, not a swap in progress.
	stopSwap := func() error {
		w.stop.Store(true)
		w.wg.Wait()
		return nil
	}
	w.wg.Add(1)
	go w.run()
	o := plain(func(*cell) error { return stopSwap() })(c, d, deadline)
	_ = stopSwap()
	o.note = fmt.Sprintf("%d swaps during seed", w.swaps.Load())
	return o
}

// prepareChain adds a symlink to the tree's root eight levels down and
// links through it that lexically stay inside but resolve to the secret
// and to /etc/passwd.
func prepareChain(c *cell) error {
	deep := filepath.Join(c.srcData, "a/b/c/d/e/f/g/h")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(strings.Repeat("../", 7)+"..", filepath.Join(deep, "u")); err != nil {
		return err
	}
	up := "a/b/c/d/e/f/g/h/u/" + strings.Repeat("../", 8)
	if err := os.Symlink(up+strings.TrimPrefix(c.secretFile, "/"), filepath.Join(c.srcData, "esc")); err != nil {
		return err
	}
	return os.Symlink(up+"etc/passwd", filepath.Join(c.srcData, "esc_passwd"))
}

// prepareUnlistable hides a directory and a file from the non-root SSH
// user: root keeps them, mode 0700 and 0600.
func prepareUnlistable(c *cell) error {
	dir := filepath.Join(c.srcData, "payroll-2026")
	if err := writeFile(filepath.Join(dir, "dec.csv"), c.rng, 5000, 0o600); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(c.srcData, "secrets/root-only.key"), c.rng, 300, 0o600); err != nil {
		return err
	}
	for _, p := range []string{dir, filepath.Join(dir, "dec.csv"), filepath.Join(c.srcData, "secrets/root-only.key")} {
		if err := os.Lchown(p, 0, 0); err != nil {
			return err
		}
	}
	return os.Chmod(dir, 0o700)
}

// prepareTypes adds the entries changeTypes turns into other types.
func prepareTypes(c *cell) error {
	sh := filepath.Join(c.srcData, "shapes")
	for _, f := range []string{"f2d", "f2l", "d2l/x", "d2l/y", "d2f/z"} {
		if err := writeFile(filepath.Join(sh, f), c.rng, 2000, 0o644); err != nil {
			return err
		}
	}
	return os.Symlink("../db", filepath.Join(sh, "l2f"))
}

// changeTypes runs between seed and final sync: file→dir, file→symlink,
// dir→symlink, dir→file, symlink→file.
func changeTypes(c *cell) error {
	sh := filepath.Join(c.srcData, "shapes")
	steps := []func() error{
		func() error { return os.Remove(filepath.Join(sh, "f2d")) },
		func() error { return writeFile(filepath.Join(sh, "f2d/inner"), c.rng, 1500, 0o644) },
		func() error { return os.Remove(filepath.Join(sh, "f2l")) },
		func() error { return os.Symlink("f2d/inner", filepath.Join(sh, "f2l")) },
		func() error { return os.RemoveAll(filepath.Join(sh, "d2l")) },
		func() error { return os.Symlink("../exports", filepath.Join(sh, "d2l")) },
		func() error { return os.RemoveAll(filepath.Join(sh, "d2f")) },
		func() error { return writeFile(filepath.Join(sh, "d2f"), c.rng, 1700, 0o600) },
		func() error { return os.Remove(filepath.Join(sh, "l2f")) },
		func() error { return writeFile(filepath.Join(sh, "l2f"), c.rng, 1900, 0o640) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// keepFile is a target-only file inside a directory the source turns into
// a symlink: without delete it must survive.
const keepFile = "shapes/d2l/target-only.txt"

// plantAndChangeTypes plants keepFile on the seeded target, then changes
// the types on the source.
func plantAndChangeTypes(c *cell) error {
	if err := writeFile(filepath.Join(c.dstData, keepFile), c.rng, keepSize, 0o644); err != nil {
		return err
	}
	return changeTypes(c)
}

// oddNames are names a copy tends to mangle: not UTF-8, control
// characters, leading dashes and spaces, glob and quote characters, NFC
// and NFD forms of one letter, and the longest name Linux allows.
var oddNames = []string{
	"latin1-\xe4\xf6\xfc.txt", "\xff\xfe-not-utf8", "new\nline", "tab\tname", " leading space",
	"trailing space ", "-rf", "--help", "*?[glob]", "quote'\"$(x)`y`", "back\\slash",
	"\u00fc-nfc", "u\u0308-nfd", strings.Repeat("L", 255),
}

func prepareNames(c *cell) error {
	for i, n := range oddNames {
		if err := writeFile(filepath.Join(c.srcData, "odd", n), c.rng, 100+i*37, 0o644); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(c.srcData, "odd", "-dir \xfe", "--inner"), c.rng, 321, 0o600)
}
