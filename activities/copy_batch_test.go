package activities

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// buildSmallFiles adds n small files in a few directories, with modes,
// odd names and a hard-linked pair among them.
func buildSmallFiles(t *testing.T, root string, n int) {
	t.Helper()
	mt := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	modes := []os.FileMode{0o644, 0o600, 0o755, 0o640}
	for i := range n {
		rel := fmt.Sprintf("small/d%02d/f%04d.dat", i%7, i)
		switch i {
		case 3:
			rel = "small/-leading-dash"
		case 4:
			rel = "small/new\nline and \\ back"
		}
		writeFile(t, filepath.Join(root, rel), randBytes(uint64(i), i*37%5000), modes[i%len(modes)], mt.Add(time.Duration(i)*time.Second))
	}
	if err := os.Link(filepath.Join(root, "small/d00/f0000.dat"), filepath.Join(root, "small/hardlink")); err != nil {
		t.Fatal(err)
	}
}

// testBatchMin lets trees of a hundred files travel in batches.
const testBatchMin = 16

// batchPlaced records which files tar batches placed, in batches of at
// least testBatchMin files.
func batchPlaced(f *copyFixture) *sync.Map {
	// Tar batches are the classic engine's (the fallback); the agent
	// batches small files itself (copy_agent_batch_test.go).
	f.a.CopyEngine = CopyEngineClassic
	f.a.hooks.batchMin = testBatchMin
	var placed sync.Map
	f.a.hooks.afterBatch = func(rels []string) {
		for _, r := range rels {
			placed.Store(r, true)
		}
	}
	return &placed
}

// wantExactTree fails unless dst equals src and holds no staging or
// temporary files.
func wantExactTree(t *testing.T, src, dst string) {
	t.Helper()
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	if tmp := listTmp(t, dst); len(tmp) > 0 {
		t.Errorf("staging or temporary files left: %q", tmp)
	}
}

func count(m *sync.Map) int {
	n := 0
	m.Range(func(any, any) bool { n++; return true })
	return n
}

func TestCopyBatchesSmallFiles(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	buildSmallFiles(t, f.srcRoot, 300)
	files += 301
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if res.CopiedFiles != int64(files) || res.Verified != int64(files) || res.VerifiedBy != "sha256sum" {
		t.Errorf("copied %d verified %d by %q; want %d by sha256sum", res.CopiedFiles, res.Verified, res.VerifiedBy, files)
	}
	// Nearly all go in batches: a few small files that reach the
	// workers after the last batch left may go over SFTP.
	if n := count(placed); n < 250 {
		t.Errorf("tar batches placed %d files, want at least 250", n)
	}
	for _, rel := range []string{"small/-leading-dash", "small/new\nline and \\ back", "small/hardlink"} {
		if _, ok := placed.Load(rel); !ok {
			t.Errorf("%q was not placed by a batch", rel)
		}
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
	checkManifest(t, f, res, int(res.Files+res.Dirs+res.Symlinks))
	res = f.copy(t, f.input(CopySet{}))
	if res.CopiedFiles != 0 {
		t.Errorf("re-sync copied %d files", res.CopiedFiles)
	}
}

func TestCopyBatchNeverPlacesAChangedMember(t *testing.T) {
	f := newCopyFixture(t)
	buildSmallFiles(t, f.srcRoot, 100)
	secret := filepath.Join(f.dir, "outside.key")
	if err := os.WriteFile(secret, []byte("SECRET-OUTSIDE-THE-TREE"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The changes go to members of the first batch, in its hook: after
	// the walk listed them and before tar reads them. A file changed
	// before the walk reaches it is listed as it is then and may be
	// placed rightly, so the hook never touches a file no batch holds.
	var changed, swapped, chmodded string
	var once sync.Once
	f.a.hooks.beforeBatch = func(rels []string) {
		once.Do(func() {
			var picks []string
			for _, r := range rels {
				// Plain names only; f0000.dat has a hard link.
				if strings.HasPrefix(r, "small/d") && !strings.HasSuffix(r, "/f0000.dat") {
					picks = append(picks, r)
				}
			}
			if len(picks) < 3 {
				t.Errorf("first batch %q holds fewer than three plain files to change", rels)
				return
			}
			changed, swapped, chmodded = picks[0], picks[1], picks[2]
			// New content and mtime, a file replaced by a symlink out of
			// the tree, and a new mode.
			writeFile(t, filepath.Join(f.srcRoot, changed), []byte("rewritten by the application"), 0o644, time.Now())
			os.Remove(filepath.Join(f.srcRoot, swapped))
			if err := os.Symlink(secret, filepath.Join(f.srcRoot, swapped)); err != nil {
				t.Error(err)
			}
			if err := os.Chmod(filepath.Join(f.srcRoot, chmodded), 0o666); err != nil {
				t.Error(err)
			}
		})
	}
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if n := count(placed); n < 80 {
		t.Errorf("batches placed %d of 101 files; want at least 80", n)
	}
	if changed == "" {
		t.Fatal("no batch ran its hook: nothing was changed under a batch")
	}
	for _, rel := range []string{changed, swapped, chmodded} {
		if _, ok := placed.Load(rel); ok {
			t.Errorf("a batch placed %s, which changed after it was listed", rel)
		}
	}
	// The per-file path refuses both as changed since listed: left for
	// the final sync.
	if got := strings.Join(res.Refusals, "\n"); !strings.Contains(got, changed) || !strings.Contains(got, swapped) || !strings.Contains(got, chmodded) {
		t.Errorf("refusals %q; want %s, %s and %s refused as changed", res.Refusals, changed, swapped, chmodded)
	}
	filepath.WalkDir(filepath.Dir(f.dstRoot), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("SECRET-OUTSIDE")) {
				t.Errorf("%s holds bytes from outside the source tree", p)
			}
		}
		return nil
	})
	if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
		t.Errorf("staging or temporary files left: %q", tmp)
	}
}

func TestCopyBatchFallsBackWithoutTar(t *testing.T) {
	bin := t.TempDir()
	if err := os.Symlink("/usr/bin/sha256sum", filepath.Join(bin, "sha256sum")); err != nil {
		t.Fatal(err)
	}
	f := newCopyFixture(t, "PATH="+bin)
	buildSmallFiles(t, f.srcRoot, 100)
	placed := batchPlaced(f)
	res := f.copy(t, f.input(CopySet{}))
	if n := count(placed); n != 0 || res.CopiedFiles != 101 {
		t.Errorf("batches placed %d, copied %d; want 0 by tar (the target has none) and all 101 over SFTP", n, res.CopiedFiles)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// The writer to the target's tar holds back what its dots do not cover,
// lets it through as dots come, and opens for good when a tar prints none.
func TestConsumeGate(t *testing.T) {
	var sink bytes.Buffer
	g := newConsumeGate(&sink)
	done := make(chan error, 1)
	go func() {
		_, err := g.Write(make([]byte, 3*gateAhead))
		done <- err
	}()
	waitLen := func(want int) {
		t.Helper()
		for range 200 {
			g.mu.Lock()
			n := int(g.written)
			g.mu.Unlock()
			if n >= want {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("written %d, want %d", sink.Len(), want)
	}
	waitLen(gateAhead)
	time.Sleep(gateStall / 4)
	g.mu.Lock()
	held := g.written
	g.mu.Unlock()
	if held != gateAhead {
		t.Fatalf("without dots %d bytes went through, want %d", held, gateAhead)
	}
	// Dots for 2 MiB read: 2 MiB more may go.
	perDot := gateCheckpoint * gateRecord
	dots{g}.Write(bytes.Repeat([]byte{'.'}, 2*gateAhead/perDot+1))
	waitLen(3 * gateAhead)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A tar that never prints a dot: the gate opens after gateStall.
	g = newConsumeGate(io.Discard)
	start := time.Now()
	if _, err := g.Write(make([]byte, 4*gateAhead)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < gateStall || el > 20*gateStall {
		t.Errorf("a gate without dots held the writer %v, want about %v", el, gateStall)
	}
}
