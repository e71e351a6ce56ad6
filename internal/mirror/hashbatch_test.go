package mirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// batchHashing is a side that hashes batches (each file through the
// wrapped side's HashFile, as an agent would in one request) and counts
// the batches and the files in them.
type batchHashing struct {
	*counting
	batches, files atomic.Int64
}

func (b *batchHashing) HashFiles(ctx context.Context, files []BatchFile) ([]BatchRead, error) {
	b.batches.Add(1)
	b.files.Add(int64(len(files)))
	out := make([]BatchRead, len(files))
	for i, f := range files {
		rd, err := b.counting.Side.HashFile(ctx, f.Rel, f.Want)
		out[i] = BatchRead{Read: rd, Err: err}
	}
	return out, nil
}

// A final sync without a trusted state hashes unchanged small files in
// batches on both sides, not one request per file; a file whose bytes
// differ under the same size and mtime is still found, and copied again
// (through the single-file path).
func TestFinalSyncHashesInBatches(t *testing.T) {
	e := newEnv(t)
	mt := time.Unix(1700000000, 0)
	const n = 300
	for i := range n {
		p := filepath.Join(e.src, fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%03d", i))
		write(t, p, fmt.Sprintf("content %d", i), 0o644)
		setMtime(t, p, mt)
	}
	if _, _, _, err := e.run(baseSpec(contract.PhaseSeed)); err != nil {
		t.Fatal(err)
	}
	// Same size and mtime, other bytes on the target.
	bad := filepath.Join(e.dst, "d3", "f010")
	write(t, bad, "CONTENT 10", 0o644)
	setMtime(t, bad, mt)

	sc, dc := e.sides()
	src, dst := &batchHashing{counting: sc}, &batchHashing{counting: dc}
	spec := baseSpec(contract.PhaseFinalSync)
	spec.State = StateRef{} // no trusted state: every file is hashed
	res, err := Run(context.Background(), spec, src, dst, Options{Owner: os.Geteuid() == 0, NoSync: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, e.src, e.dst, "data-verified.bin")
	c := res.CopyResult("data", contract.PhaseFinalSync, contract.VerifySHA256)
	if c.Verified != n || c.CopiedFiles != 1 || c.Recopied != 1 {
		t.Errorf("verified %d, copied %d, recopied %d; want %d, 1, 1", c.Verified, c.CopiedFiles, c.Recopied, n)
	}
	for name, s := range map[string]*batchHashing{"source": src, "target": dst} {
		if s.files.Load() != n || s.batches.Load() > n/batchMaxFiles+8 {
			t.Errorf("%s: %d files in %d batches; want %d files in a few batches", name, s.files.Load(), s.batches.Load(), n)
		}
		// Only the differing file is hashed alone, to decide it.
		if h := s.hashes.Load(); h > 1 {
			t.Errorf("%s: %d files hashed one by one, want at most 1", name, h)
		}
	}
}
