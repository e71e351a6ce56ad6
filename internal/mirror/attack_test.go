package mirror

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// resolvers runs a test with openat2 and with the O_NOFOLLOW walk.
func resolvers(t *testing.T, fn func(t *testing.T, o rootfs.Options)) {
	t.Run("openat2", func(t *testing.T) {
		if !rootfs.Openat2Available() {
			t.Skip("no openat2 on this kernel")
		}
		fn(t, rootfs.Options{})
	})
	t.Run("walk", func(t *testing.T) { fn(t, rootfs.Options{NoOpenat2: true, NoTmpfile: true}) })
}

// countAll counts the entries below dir.
func countAll(t *testing.T, dir string) int {
	t.Helper()
	n := -1
	err := filepath.WalkDir(dir, func(string, fs.DirEntry, error) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func manyFiles(t *testing.T, dir string, n int) {
	for i := range n {
		write(t, filepath.Join(dir, fmt.Sprintf("f%03d", i)), fmt.Sprintf("file %d of the real tree", i), 0644)
	}
}

// A local user swaps a target directory for a symlink to a directory
// outside while the copy writes into it: nothing may land outside. Once
// at the 10th file written (the rest of d is refused as changed, the rest
// of the tree is copied and a seed succeeds; a final sync fails as
// changed, to be run again), and by a racer that keeps swapping and
// restoring.
func TestAttackTargetDirSwappedForSymlink(t *testing.T) {
	for _, racer := range []bool{false, true} {
		t.Run(map[bool]string{false: "once", true: "racer"}[racer], func(t *testing.T) {
			resolvers(t, func(t *testing.T, o rootfs.Options) { targetSwap(t, o, racer) })
		})
	}
}

func targetSwap(t *testing.T, o rootfs.Options, racer bool) {
	e := newEnv(t)
	e.ropt = o
	outside := filepath.Join(e.base, "outside")
	noErr(t, os.Mkdir(outside, 0777))
	manyFiles(t, filepath.Join(e.src, "d"), 120)
	manyFiles(t, filepath.Join(e.src, "d/sub"), 40)
	manyFiles(t, filepath.Join(e.src, "z"), 5)
	swap := func(tag string) bool {
		d := filepath.Join(e.dst, "d")
		if err := os.Rename(d, filepath.Join(e.dst, "moved-"+tag)); err != nil {
			return false
		}
		return os.Symlink(outside, d) == nil
	}
	src, dst := e.sides()
	var hooked atomic.Bool
	dst.beforeWrite = func(n int64, rel string) {
		if n == 10 {
			hooked.Store(swap("hook"))
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	if racer {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d := filepath.Join(e.dst, "d")
				if fi, err := os.Lstat(d); err == nil && fi.Mode()&os.ModeSymlink != 0 {
					os.Remove(d)
					os.Mkdir(d, 0755) // a fresh real directory again
				} else if swap(fmt.Sprint(i)) {
					swaps.Add(1)
				}
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
	res, err := Run(t.Context(), baseSpec(contract.PhaseSeed), src, dst, Options{NoSync: true}, nil)
	close(stop)
	wg.Wait()
	if n := countAll(t, outside); n != 0 {
		t.Fatalf("%d entries written outside the target root (swaps %d, err %v)", n, swaps.Load(), err)
	}
	if !racer {
		if !hooked.Load() {
			t.Fatal("the swap did not happen")
		}
		if err != nil {
			t.Fatalf("a seed into a directory swapped for a symlink failed instead of refusing what was below it: %v", err)
		}
		var changed int
		for _, rf := range res.RefusalList {
			if rf.Kind != contract.RefusalChanged || !rf.Accepted || !strings.HasPrefix(rf.Path, "d/") {
				t.Errorf("refusal %+v: want accepted changed refusals below d only", rf)
			}
			changed++
		}
		if changed == 0 || res.RefusedByKind[contract.RefusalChanged] != res.Refused {
			t.Errorf("refused %d, listed %d; want the entries below d refused as changed", res.Refused, changed)
		}
		for i := range 5 {
			b, rerr := os.ReadFile(filepath.Join(e.dst, "z", fmt.Sprintf("f%03d", i)))
			if want := fmt.Sprintf("file %d of the real tree", i); rerr != nil || string(b) != want {
				t.Errorf("z/f%03d after the swap: %q %v; want the rest of the tree copied", i, b, rerr)
			}
		}
		// A final sync meets the same swap: it fails as changed, retryably.
		noErr(t, os.Remove(filepath.Join(e.dst, "d")))
		noErr(t, os.Rename(filepath.Join(e.dst, "moved-hook"), filepath.Join(e.dst, "d")))
		var n atomic.Int64
		dst.beforeWrite = func(_ int64, rel string) {
			if n.Add(1) == 1 {
				swap("final")
			}
		}
		write(t, filepath.Join(e.src, "d", "f000"), "changed since the seed", 0644)
		write(t, filepath.Join(e.src, "d", "f001"), "changed since the seed, too", 0644)
		_, err = Run(t.Context(), baseSpec(contract.PhaseFinalSync), src, dst, Options{NoSync: true}, nil)
		if !errors.Is(err, ErrChanged) {
			t.Errorf("final sync into a swapped directory: %v, want ErrChanged", err)
		}
		if n := countAll(t, outside); n != 0 {
			t.Fatalf("%d entries written outside the target root in the final sync", n)
		}
	}
	t.Logf("swaps %d, copied %d, err: %v", swaps.Load(), res.CopiedFiles, err)
}

// A local user exchanges a source directory with a twin outside the root
// (RENAME_EXCHANGE) after the walk listed it and before its files are
// read: the twin's bytes must never be committed, and the result says
// which files changed.
func TestAttackSourceDirExchangedWithTwin(t *testing.T) {
	for _, phase := range []string{contract.PhaseSeed, contract.PhaseFinalSync} {
		t.Run(phase, func(t *testing.T) {
			resolvers(t, func(t *testing.T, o rootfs.Options) {
				e := newEnv(t)
				e.ropt = o
				twin := filepath.Join(e.base, "outside/d")
				write(t, filepath.Join(e.src, "top"), "top file", 0644)
				for i := range 6 {
					// Same names, sizes and mtimes: only the inode tells them apart.
					write(t, filepath.Join(e.src, "d", fmt.Sprintf("f%d", i)), fmt.Sprintf("REAL-%d", i), 0644)
					write(t, filepath.Join(twin, fmt.Sprintf("f%d", i)), fmt.Sprintf("TWIN-%d", i), 0644)
					setMtime(t, filepath.Join(e.src, "d", fmt.Sprintf("f%d", i)), t0)
					setMtime(t, filepath.Join(twin, fmt.Sprintf("f%d", i)), t0)
				}
				src, dst := e.sides()
				var once sync.Once
				src.beforeRead = func(rel string) {
					if filepath.Dir(rel) == "d" {
						once.Do(func() {
							noErr(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(e.src, "d"), unix.AT_FDCWD, twin, unix.RENAME_EXCHANGE))
						})
					}
				}
				spec := baseSpec(phase)
				res, err := Run(t.Context(), spec, src, dst, Options{NoSync: true}, nil)
				filepath.WalkDir(e.dst, func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("TWIN")) {
							t.Errorf("twin's bytes committed at %s", p)
						}
					}
					return nil
				})
				changed := res.RefusedByKind[contract.RefusalChanged]
				if changed != 6 {
					t.Errorf("refused as changed: %d, want 6 (%+v)", changed, res)
				}
				want(t, "copied", res.CopiedFiles, 1)
				want(t, "files", res.Files, 1)
				if phase == contract.PhaseSeed {
					noErr(t, err)
					want(t, "state records", res.StateRecords, 1)
				} else if !errors.Is(err, ErrChanged) {
					t.Errorf("err = %v, want ErrChanged", err)
				}
			})
		})
	}
}

// A file written while it is read (size and mtime set back afterwards) is
// refused as changed: its ctime moved. The copy commits nothing of it.
func TestSourceChangedWhileRead(t *testing.T) {
	e := newEnv(t)
	p := filepath.Join(e.src, "f")
	write(t, p, string(bytes.Repeat([]byte("x"), 1<<20)), 0644)
	setMtime(t, p, t0)
	src, dst := e.sides()
	fi, err := src.Side.(*LocalSide).Root().Lstat("f")
	noErr(t, err)
	w := &meddler{fn: func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		noErr(t, err)
		_, err = f.WriteAt(bytes.Repeat([]byte("y"), 1<<19), 1<<19)
		noErr(t, err)
		f.Close()
		setMtime(t, p, t0)
	}}
	_, err = src.ReadFile(t.Context(), "f", fi.Identity(), w)
	if !errors.Is(err, rootfs.ErrIdentityMismatch) {
		t.Fatalf("read of a file written meanwhile: err = %v, want an identity mismatch", err)
	}
	// Through the engine: the target must not commit such a read.
	pl, err := dst.WriteFile(t.Context(), "f", rootfs.Meta{}, &failingReader{err: errSourceFailed{err}})
	if err == nil {
		t.Fatalf("write committed after a failed source read: %+v", pl)
	}
	if _, err := os.Stat(filepath.Join(e.dst, "f")); err == nil {
		t.Fatal("a file changed while read was committed")
	}
	if n := countAll(t, e.dst); n != 0 {
		t.Fatalf("%d temporaries left on the target", n)
	}
}

// meddler runs fn on the first write it gets.
type meddler struct {
	fn   func()
	once sync.Once
}

func (m *meddler) Write(p []byte) (int, error) { m.once.Do(m.fn); return len(p), nil }

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// A source file replaced by a FIFO between walk and read is refused as
// changed, and the read does not hang on the FIFO.
func TestSourceFileReplacedByFIFO(t *testing.T) {
	e := newEnv(t)
	write(t, filepath.Join(e.src, "keep"), "kept", 0644)
	p := filepath.Join(e.src, "f")
	write(t, p, "a file", 0644)
	src, dst := e.sides()
	src.beforeRead = func(rel string) {
		if rel == "f" {
			noErr(t, os.Remove(p))
			noErr(t, unix.Mkfifo(p, 0644))
		}
	}
	res, err := Run(t.Context(), baseSpec(contract.PhaseFinalSync), src, dst, Options{NoSync: true}, nil)
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged (%+v)", err, res)
	}
	want(t, "changed", res.RefusedByKind[contract.RefusalChanged], 1)
	want(t, "copied", res.CopiedFiles, 1)
}
