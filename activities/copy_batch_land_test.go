package activities

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// needPython skips where this machine has no python3 for the target.
func needPython(t *testing.T) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no python3 on this machine")
	}
	return py
}

// A batch lands in one python3 process on the target: nothing of it is
// under a final name before the worker commits, each file is verified by
// the lander's digest of the placed file, and the identity taken with it
// lets the next final sync trust the file without hashing it. A final
// sync walks from find listings, and its landed files keep their mtimes
// to the nanosecond.
func TestCopyBatchLandsInOneProcess(t *testing.T) {
	py := needPython(t)
	bin := pathWithout(t, "python3")
	runs := fakeTool(t, bin, "python3", "exec "+py+` "$@"`)
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 100)
	var mu sync.Mutex
	var early []string
	committed := 0
	f.a.hooks.beforeCommit = func(_ string, rels []string) {
		mu.Lock()
		defer mu.Unlock()
		committed += len(rels)
		for _, rel := range rels {
			src, _ := os.ReadFile(filepath.Join(f.srcRoot, rel))
			if dst, err := os.ReadFile(filepath.Join(f.dstRoot, rel)); err == nil && bytes.Equal(src, dst) {
				early = append(early, rel)
			}
		}
	}
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if runs() == 0 || committed == 0 {
		t.Fatalf("python3 ran %d times, %d files committed; want batches landed by it", runs(), committed)
	}
	if n := count(placed); n < 80 || n != committed || res.Verified != res.Files || res.Recopied != 0 {
		t.Errorf("batches placed %d (%d committed), verified %d of %d, recopied %d; want most of 101 landed and all verified",
			n, committed, res.Verified, res.Files, res.Recopied)
	}
	if len(early) > 0 {
		t.Errorf("before the commit, the target already held %q", early)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	checkManifest(t, f, res, int(res.Files+res.Dirs+res.Symlinks))

	in := f.input(CopySet{})
	in.Phase = PhaseFinalSync
	res = f.copy(t, in)
	if res.CopiedFiles != 0 || res.Kept != res.Files || res.VerifiedBy != verifiedByIdentity {
		t.Errorf("final sync without changes: copied %d, kept %d of %d, verified by %q; want every file trusted by the identity the lander took",
			res.CopiedFiles, res.Kept, res.Files, res.VerifiedBy)
	}

	mt := time.Date(2026, 11, 30, 22, 15, 7, 123456789, time.UTC)
	var changed []string
	for i := 10; i < 50; i++ {
		rel := fmt.Sprintf("small/d%02d/f%04d.dat", i%7, i)
		writeFile(t, filepath.Join(f.srcRoot, rel), randBytes(uint64(1000+i), 100+i*97), 0o640, mt.Add(time.Duration(i)*time.Millisecond))
		changed = append(changed, rel)
	}
	before := count(placed)
	res = f.copy(t, in)
	if n := count(placed) - before; res.CopiedFiles != int64(len(changed)) || res.Verified != res.Files {
		t.Errorf("final sync: %d placed by a batch, copied %d, verified %d of %d; want the %d changed files copied, every file verified",
			n, res.CopiedFiles, res.Verified, res.Files, len(changed))
	}
	for _, rel := range changed {
		s, _ := os.Stat(filepath.Join(f.srcRoot, rel))
		d, err := os.Stat(filepath.Join(f.dstRoot, rel))
		if err != nil || !d.ModTime().Equal(s.ModTime()) || d.Mode() != s.Mode() {
			t.Errorf("%s on the target: %v %v, %v; want mtime %v and mode %v", rel, d.ModTime(), d.Mode(), err, s.ModTime(), s.Mode())
		}
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}

// A file whose bytes differ on the target when the lander hashes it (a
// bad disk or memory, here a byte changed in the staging directory) is
// copied again and verified as after any failed verification.
func TestCopyBatchLandedMismatchIsCopiedAgain(t *testing.T) {
	py := needPython(t)
	bin := pathWithout(t, "python3")
	fakeTool(t, bin, "python3", "exec "+py+` "$@"`)
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 100)
	var once sync.Once
	var hit string
	f.a.hooks.beforeCommit = func(staging string, _ []string) {
		once.Do(func() {
			ents, _ := os.ReadDir(staging)
			for _, e := range ents {
				p := filepath.Join(staging, e.Name())
				if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
					b[0] ^= 0xff
					if err := os.WriteFile(p, b, 0); err == nil {
						hit = e.Name()
						return
					}
				}
			}
		})
	}
	batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if hit == "" {
		t.Fatal("no staged file to damage: no batch landed")
	}
	if res.Recopied < 1 || res.Verified != res.Files {
		t.Errorf("recopied %d, verified %d of %d; want the damaged file copied again and all verified", res.Recopied, res.Verified, res.Files)
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}

// A lander that dies while a batch lands (here: at its file size limit)
// places nothing; this copy asks it no more, the target's tar lands the
// later batches and the per-file path the rest, and the tree is exact.
func TestCopyBatchLanderThatDiesPlacesNothing(t *testing.T) {
	py := needPython(t)
	bin := pathWithout(t, "python3")
	landers := filepath.Join(t.TempDir(), "landers")
	// The lander is the python3 program that imports hashlib; the batch
	// renames of the target's tar keep their python3.
	fakeTool(t, bin, "python3", `case "$2" in *hashlib*) echo >> `+ShellQuote(landers)+`; ulimit -f 2;; esac; exec `+py+` "$@"`)
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 300)
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	// A batch that started while the first lander died may have asked
	// one more.
	if b, _ := os.ReadFile(landers); len(b) == 0 || len(b) > 2 {
		t.Errorf("the lander ran %d times, want once or, with a batch in flight, twice", len(b))
	}
	if res.CopiedFiles != 301 || res.Verified != res.Files {
		t.Errorf("copied %d, verified %d of %d; want all 301 copied and verified", res.CopiedFiles, res.Verified, res.Files)
	}
	if count(placed) == 0 {
		t.Error("no later batch went through the target's tar")
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}

// A lander that fails after creating its staging directory but before it
// runs leaves no directory behind; the target's tar lands the batches.
func TestCopyBatchLanderThatFailsToStartLeavesNoStaging(t *testing.T) {
	py := needPython(t)
	bin := pathWithout(t, "python3")
	fakeTool(t, bin, "python3", `case "$2" in *hashlib*) mkdir -m 700 "$3"; exit 1;; esac; exec `+py+` "$@"`)
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 100)
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if n := count(placed); n < 80 || res.CopiedFiles != 101 || res.Verified != res.Files {
		t.Errorf("batches placed %d, copied %d, verified %d of %d; want most of 101 by the target's tar and all verified",
			n, res.CopiedFiles, res.Verified, res.Files)
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}
