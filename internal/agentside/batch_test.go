//go:build linux

package agentside

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// countingSide counts batch and single reads and writes and runs hooks
// before the first read batch and on each write batch's data.
type countingSide struct {
	*Side
	readBatches, writeBatches, singleReads, singleWrites atomic.Int64
	once                                                 sync.Once
	walked                                               chan struct{} // closed when a Walk returned
	beforeRead                                           func()
	onWrite                                              func([]mirror.BatchWrite)
}

func (s *countingSide) Walk(ctx context.Context, fn func(mirror.Entry) error) error {
	defer func() {
		if s.walked != nil {
			close(s.walked)
		}
	}()
	return s.Side.Walk(ctx, fn)
}

func (s *countingSide) ReadFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	s.readBatches.Add(1)
	if s.beforeRead != nil {
		s.once.Do(s.beforeRead)
	}
	return s.Side.ReadFiles(ctx, files)
}

func (s *countingSide) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	s.writeBatches.Add(1)
	if s.onWrite != nil {
		s.onWrite(files)
	}
	return s.Side.WriteFiles(ctx, files)
}

func (s *countingSide) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (mirror.Read, error) {
	s.singleReads.Add(1)
	return s.Side.ReadFile(ctx, rel, want, w)
}

func (s *countingSide) WriteFile(ctx context.Context, rel string, meta rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	s.singleWrites.Add(1)
	return s.Side.WriteFile(ctx, rel, meta, r)
}

func smallTree(t *testing.T, src string, n int) {
	for i := range n {
		write(t, filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%03d", i)), strings.Repeat(fmt.Sprint(i%10), 100+i*37), 0o644)
	}
	write(t, filepath.Join(src, "big.bin"), strings.Repeat("B", 600<<10), 0o600)
}

// Small files go through batches; files changed between the walk and
// their batch read are refused as changed and never placed with the bytes
// they hold now; a later run copies them.
func TestBatchRefusesFilesChangedAfterWalk(t *testing.T) {
	sa, da := agents(t)
	base := t.TempDir()
	src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
	for _, d := range []string{src, dst, state} {
		os.Mkdir(d, 0o700)
	}
	const n = 300
	smallTree(t, src, n)
	grown, swapped, gone := filepath.Join(src, "d1/f007"), filepath.Join(src, "d2/f008"), filepath.Join(src, "d0/f009")
	s, d := agentSides(sa, da)(t, src, dst, state)
	cs, cd := &countingSide{Side: s.(*Side), walked: make(chan struct{})}, &countingSide{Side: d.(*Side)}
	cs.beforeRead = func() {
		<-cs.walked // the walk listed every file as it was
		// Grown in place (same inode), swapped for another inode of the
		// same size and mtime, and removed.
		f, err := os.OpenFile(grown, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString("foreign")
		f.Close()
		old, _ := os.ReadFile(swapped)
		write(t, swapped+".new", strings.Repeat("X", len(old)), 0o644)
		os.Rename(swapped+".new", swapped)
		os.Remove(gone)
	}
	spec := mirror.Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed}
	res, err := mirror.Run(context.Background(), spec, cs, cd, mirror.Options{}, nil)
	cs.Close()
	cd.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.RefusedByKind[contract.RefusalChanged] != 2 || len(res.Notes) != 1 {
		t.Fatalf("refused %v, notes %q", res.RefusedByKind, res.Notes)
	}
	for _, p := range []string{grown, swapped, gone} {
		rel, _ := filepath.Rel(src, p)
		if _, err := os.Lstat(filepath.Join(dst, rel)); !os.IsNotExist(err) {
			t.Errorf("%s placed on the target (%v)", rel, err)
		}
	}
	if res.CopiedFiles != n-3+1 || res.Verified != n-3+1 {
		t.Fatalf("copied %d, verified %d of %d", res.CopiedFiles, res.Verified, n-3+1)
	}
	// Only the big file went alone; the batches carried the rest.
	if cs.singleReads.Load() != 1 || cd.singleWrites.Load() != 1 || cs.readBatches.Load() < 3 || cd.writeBatches.Load() != cs.readBatches.Load() {
		t.Fatalf("single reads %d, writes %d; read batches %d, write batches %d",
			cs.singleReads.Load(), cd.singleWrites.Load(), cs.readBatches.Load(), cd.writeBatches.Load())
	}
	// The final sync copies what changed.
	spec.Phase, spec.Delete = contract.PhaseFinalSync, true
	s, d = agentSides(sa, da)(t, src, dst, state)
	res, err = mirror.Run(context.Background(), spec, s, d, mirror.Options{}, nil)
	s.Close()
	d.Close()
	if err != nil || res.CopiedFiles != 2 {
		t.Fatalf("final sync copied %d: %v", res.CopiedFiles, err)
	}
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A file the target wrote other bytes for than the source read is copied
// again alone, and counted as recopied.
func TestBatchDigestMismatchFallsBackToSingleCopy(t *testing.T) {
	sa, da := agents(t)
	base := t.TempDir()
	src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
	for _, d := range []string{src, dst, state} {
		os.Mkdir(d, 0o700)
	}
	smallTree(t, src, 40)
	s, d := agentSides(sa, da)(t, src, dst, state)
	cs, cd := &countingSide{Side: s.(*Side)}, &countingSide{Side: d.(*Side)}
	var once sync.Once
	cd.onWrite = func(files []mirror.BatchWrite) {
		for i, f := range files {
			if f.Rel == "d1/f004" {
				once.Do(func() { files[i].Data = bytes.ToUpper(append([]byte("corrupt"), f.Data...)) })
			}
		}
	}
	res, err := mirror.Run(context.Background(), mirror.Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed},
		cs, cd, mirror.Options{}, nil)
	cs.Close()
	cd.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Recopied != 1 || res.CopiedFiles != 41 || res.Verified != 41 || cd.singleWrites.Load() != 2 {
		t.Fatalf("recopied %d, copied %d, verified %d, single writes %d", res.Recopied, res.CopiedFiles, res.Verified, cd.singleWrites.Load())
	}
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
