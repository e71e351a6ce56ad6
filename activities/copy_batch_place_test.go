package activities

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// A batch's files are renamed into place by one python3 process on the
// target. A member whose final name became a directory after the walk
// (here: just before the batch) is not placed by it; the per-file path
// then fails the copy naming it, and nothing of that directory is lost.
// No staging is left; once the directory is gone, the next copy makes the
// tree exact.
func TestCopyBatchPlacesInOneProcess(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no python3 on this machine")
	}
	bin := pathWithout(t, "python3")
	runs := fakeTool(t, bin, "python3", "exec "+py+` "$@"`)
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 120)
	blocked := "small/d01/f0008.dat"
	keep := filepath.Join(f.dstRoot, blocked, "mine.txt")
	var once sync.Once
	f.a.hooks.beforeBatch = func(rels []string) {
		for _, r := range rels {
			if r == blocked {
				once.Do(func() { writeFile(t, keep, []byte("the target's own file"), 0o644, time.Now()) })
			}
		}
	}
	placed := batchPlaced(f)
	res, err := f.a.CopyTree(t.Context(), f.input(CopySet{}))
	if err == nil || !strings.Contains(err.Error(), blocked) {
		t.Errorf("copy error %v; want the failed placement of %s named", err, blocked)
	}
	if runs() == 0 {
		t.Fatal("python3 never ran on the target")
	}
	if _, ok := placed.Load(blocked); ok {
		t.Errorf("a batch placed %s over a directory", blocked)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "the target's own file" {
		t.Fatalf("the directory in the way lost its file: %q, %v", b, err)
	}
	if n := count(placed); n < testBatchMin-1 || res.CopiedFiles < int64(n) {
		t.Errorf("batches placed %d files, %d copied; want a batch's worth placed", n, res.CopiedFiles)
	}
	if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
		t.Errorf("staging or temporary files left: %q", tmp)
	}
	os.RemoveAll(filepath.Join(f.dstRoot, blocked))
	f.copy(t, f.input(CopySet{}))
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// Without python3 on the target the batch's files are renamed over SFTP,
// and the copy is the same.
func TestCopyBatchPlacesWithoutPython(t *testing.T) {
	f := newCopyFixture(t, "PATH="+pathWithout(t, "python"))
	buildSmallFiles(t, f.srcRoot, 100)
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if n := count(placed); n < 80 || res.CopiedFiles != 101 {
		t.Errorf("batches placed %d, copied %d; want most of 101 by batches and all copied", n, res.CopiedFiles)
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}

// A python3 that fails before renaming anything is asked once per copy;
// every batch is still placed, over SFTP.
func TestCopyBatchPlacesWithBrokenPython(t *testing.T) {
	bin := pathWithout(t, "python")
	runs := fakeTool(t, bin, "python3", "exit 1")
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 100)
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if n := count(placed); n < 80 || res.CopiedFiles != 101 {
		t.Errorf("batches placed %d, copied %d; want most of 101 by batches and all copied", n, res.CopiedFiles)
	}
	if n := runs(); n != 1 {
		t.Errorf("python3 ran %d times, want once", n)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
