//go:build linux

package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests here play a hostile local user who may write in the tree
// umzug works on. Each first shows, with a path-based helper doing the
// same work, that the race it runs is real (the helper escapes or returns
// foreign bytes), then that the root-bound layer never does.

const raceBudget = 300 * time.Millisecond

// attacker runs fn in a loop until stop is called; stop returns the number
// of rounds run.
func attacker(fn func()) (stop func() int) {
	var done atomic.Bool
	var rounds int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			fn()
			rounds++
		}
	}()
	return func() int { done.Store(true); wg.Wait(); return rounds }
}

// swapForSymlink moves dir aside and puts a symlink to target in its place,
// then restores it.
func swapForSymlink(dir, target string) func() {
	held := dir + ".held"
	return func() {
		if os.Rename(dir, held) != nil {
			return
		}
		_ = os.Symlink(target, dir)
		for range 50 { // keep the symlink up for a moment
			_ = os.Getpid()
		}
		_ = os.Remove(dir)
		_ = os.Rename(held, dir)
		for range 50 { // and the real directory, so both outcomes occur
			_ = os.Getpid()
		}
	}
}

// racing says whether a race loop goes on: for at least raceBudget, then
// until both outcomes were seen (at most 10 s, for loaded machines).
func racing(start time.Time, bothSeen bool) bool {
	e := time.Since(start)
	return e < raceBudget || (!bothSeen && e < 10*time.Second)
}

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func attackDirs(t *testing.T) (root, outside string) {
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "d")} {
		if err := os.Mkdir(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

// TestAttackRaceIsReal: a path-based writer under the same attacker writes
// outside the root. If this stops failing to escape, the attack tests below
// prove nothing.
func TestAttackRaceIsReal(t *testing.T) {
	root, outside := attackDirs(t)
	stop := attacker(swapForSymlink(filepath.Join(root, "d"), outside))
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline) && countEntries(t, outside) == 0; i++ {
		_ = os.WriteFile(filepath.Join(root, "d", fmt.Sprintf("f%d", i)), []byte("x"), 0644)
	}
	stop()
	if countEntries(t, outside) == 0 {
		t.Fatal("a path-based writer never escaped the root in 10s: the symlink-swap race is not reproduced here")
	}
}

// TestAttackSymlinkSwapDuringWrites races a directory→symlink swap against
// files, directories and symlinks created below it by name.
func TestAttackSymlinkSwapDuringWrites(t *testing.T) {
	resolvers(t, func(t *testing.T, o Options) {
		root, outside := attackDirs(t)
		r := mustOpen(t, root, o)
		stop := attacker(swapForSymlink(filepath.Join(root, "d"), outside))
		var ok, failed int
		start := time.Now()
		for i := 0; racing(start, ok > 0 && failed > 0); i++ {
			var err error
			switch i % 3 {
			case 0:
				err = tryWrite(r, "d", fmt.Sprintf("f%d", i), []byte("payload"))
			case 1:
				err = r.Mkdir(fmt.Sprintf("d/m%d", i), 0755)
			case 2:
				err = r.Symlink("x", fmt.Sprintf("d/l%d", i))
			}
			if err != nil {
				failed++
			} else {
				ok++
			}
		}
		rounds := stop()
		if n := countEntries(t, outside); n != 0 {
			t.Fatalf("%d entries written outside the root", n)
		}
		if ok == 0 || failed == 0 || rounds == 0 {
			t.Fatalf("the race did not run both ways: %d ok, %d refused, %d swaps", ok, failed, rounds)
		}
		t.Logf("%d ops landed inside, %d refused, %d swaps, 0 outside", ok, failed, rounds)
	})
}

func tryWrite(r *Root, parent, name string, data []byte) error {
	d, err := r.OpenDir(parent)
	if err != nil {
		return err
	}
	defer d.Close()
	return writeInto(d, name, data)
}

func writeInto(d *Dir, name string, data []byte) error {
	tf, err := d.CreateTemp()
	if err != nil {
		return err
	}
	defer tf.Close()
	if _, err := tf.Write(data); err != nil {
		return err
	}
	if err := tf.SetMeta(Meta{SetMode: true, Mode: 0644}); err != nil {
		return err
	}
	return tf.Commit(name)
}

// TestAttackStagingSwap holds a staging directory handle (as a batch
// lander does) while the staging directory is swapped for a symlink: every
// file still lands in the real staging directory, inside the root.
func TestAttackStagingSwap(t *testing.T) {
	resolvers(t, func(t *testing.T, o Options) {
		root, outside := attackDirs(t)
		r := mustOpen(t, root, o)
		stage, err := r.OpenDir("d")
		if err != nil {
			t.Fatal(err)
		}
		defer stage.Close()
		stop := attacker(swapForSymlink(filepath.Join(root, "d"), outside))
		var written, moved int
		start := time.Now()
		for i := 0; racing(start, moved > 0 && moved < written); i++ {
			if err := writeInto(stage, fmt.Sprintf("f%d", i), []byte("staged")); err != nil {
				t.Fatalf("write into held staging handle: %v", err)
			}
			written++
			if stage.StillAt() != nil {
				moved++
			}
		}
		rounds := stop()
		if n := countEntries(t, outside); n != 0 {
			t.Fatalf("%d entries written outside the root", n)
		}
		if n := countEntries(t, filepath.Join(root, "d")); n != written {
			t.Fatalf("%d files in the staging directory, %d written", n, written)
		}
		if moved == 0 || moved == written || rounds == 0 {
			t.Fatalf("the race did not run both ways: %d of %d files written while the staging directory was moved (%d swaps)", moved, written, rounds)
		}
		t.Logf("%d files staged, %d while moved away, %d swaps, 0 outside", written, moved, rounds)
	})
}

// exchangeDirs builds root/src/a/f and a twin outside/a/f of equal size
// and mtime with foreign bytes, and returns an attacker that exchanges the
// two directories atomically.
func exchangeDirs(t *testing.T) (root string, good, evil []byte, swap func()) {
	base := t.TempDir()
	root = filepath.Join(base, "root")
	src, twin := filepath.Join(root, "src", "a"), filepath.Join(base, "outside", "a")
	good, evil = bytes.Repeat([]byte("G"), 4096), bytes.Repeat([]byte("E"), 4096)
	mt := time.Unix(1_700_000_000, 0)
	for dir, data := range map[string][]byte{src: good, twin: evil} {
		if err := os.MkdirAll(dir, 0755); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "f")
		if err := os.WriteFile(f, data, 0644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return root, good, evil, func() {
		_ = unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, twin, unix.RENAME_EXCHANGE)
	}
}

// TestAttackExchangeRaceIsReal: reading by path while the source directory
// is exchanged returns the twin's bytes.
func TestAttackExchangeRaceIsReal(t *testing.T) {
	root, _, evil, swap := exchangeDirs(t)
	stop := attacker(swap)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(root, "src/a/f")); err == nil && bytes.Equal(b, evil) {
			return
		}
	}
	t.Fatal("a path-based reader never read the twin in 10s: the exchange race is not reproduced here")
}

// TestAttackExchangeBetweenListAndRead lists the source, then reads the
// listed file while its directory is exchanged with a twin outside the
// root: each read returns the listed bytes or fails with
// ErrIdentityMismatch, never the twin's bytes.
func TestAttackExchangeBetweenListAndRead(t *testing.T) {
	resolvers(t, func(t *testing.T, o Options) {
		root, good, _, swap := exchangeDirs(t)
		r := mustOpen(t, root, o)
		var listed *Identity
		if err := r.Walk("src", func(i Info) error {
			if i.Name == "src/a/f" {
				id := i.Identity()
				listed = &id
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if listed == nil {
			t.Fatal("walk did not list src/a/f")
		}
		stop := attacker(swap)
		var okReads, refused, foreign int
		start := time.Now()
		for racing(start, okReads > 0 && refused > 0) {
			f, err := r.OpenFile("src/a/f", listed)
			if err != nil {
				if !errors.Is(err, ErrIdentityMismatch) && !errors.Is(err, ErrOutsideRoot) {
					t.Fatalf("read failed with %v, want ErrIdentityMismatch or ErrOutsideRoot", err)
				}
				refused++
				continue
			}
			b, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, good) {
				foreign++
				continue
			}
			okReads++
			if sum, _, err := r.HashFile("src/a/f", listed); err == nil && sum != sha256Sum(good) {
				foreign++
			}
		}
		stop()
		if foreign != 0 {
			t.Fatalf("%d reads returned foreign bytes", foreign)
		}
		if okReads == 0 || refused == 0 {
			t.Fatalf("the race did not run both ways: %d good reads, %d refused", okReads, refused)
		}
		t.Logf("%d good reads, %d refused with identity mismatch, 0 foreign", okReads, refused)
	})
}
