package activities

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// swapOnWrite swaps the target directory d for a symlink to outside
// before the n-th file below it is written.
type swapOnWrite struct {
	mirror.Side
	n      *atomic.Int64
	at     int64
	d, out string
}

func (s swapOnWrite) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	if strings.HasPrefix(rel, "d/") && s.n.Add(1) == s.at {
		os.Rename(s.d, s.d+"-moved")
		os.Symlink(s.out, s.d)
	}
	return s.Side.WriteFile(ctx, rel, m, r)
}

// A local user on the target swaps a directory the agent engine writes
// into for a symlink to a directory outside: nothing lands outside, the
// entries below it are refused as changed, the rest of the tree is
// copied and a seed succeeds; a final sync meeting the same swap fails
// retryably.
func TestCopyTreeAgentTargetDirSwapped(t *testing.T) {
	f, _ := agentFixture(t)
	_, outside := outsideSecret(t, f)
	mt := time.Unix(1700000000, 0)
	for i := range 20 {
		writeFile(t, filepath.Join(f.srcRoot, "d", fmt.Sprintf("f%02d", i)), []byte(fmt.Sprintf("file %d", i)), 0o644, mt)
	}
	writeFile(t, filepath.Join(f.srcRoot, "z.txt"), []byte("the rest"), 0o644, mt)
	var n atomic.Int64
	d := filepath.Join(f.dstRoot, "d")
	f.a.hooks.wrapAgentTarget = func(s mirror.Side) mirror.Side {
		return swapOnWrite{Side: s, n: &n, at: 5, d: d, out: outside}
	}
	defer func() { f.a.hooks.wrapAgentTarget = nil }()
	in := f.input(CopySet{Concurrency: 1})
	res := f.copy(t, in)
	if res.RefusedByKind[RefusalChanged] == 0 || res.RefusedByKind[RefusalChanged] != res.Refused {
		t.Errorf("refused %d by kind %v; want the files below d refused as changed", res.Refused, res.RefusedByKind)
	}
	for _, r := range res.RefusalList {
		if r.Kind != RefusalChanged || !r.Accepted || !strings.HasPrefix(r.Path, "d/") {
			t.Errorf("refusal %+v: want accepted changed refusals below d", r)
		}
	}
	if b, err := os.ReadFile(filepath.Join(f.dstRoot, "z.txt")); err != nil || string(b) != "the rest" {
		t.Errorf("the rest of the tree: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("outside holds %d entries, want only its secret", len(ents))
	}

	// Final sync: the same swap fails the attempt retryably.
	os.Remove(d)
	os.RemoveAll(d + "-moved")
	n.Store(0)
	in.Phase = PhaseFinalSync
	_, err := f.a.CopyTree(context.Background(), in)
	wantCopyError(t, err, contract.ErrCopyChanged, false, "a directory on its path in the target was replaced")
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("outside holds %d entries after the final sync, want only its secret", len(ents))
	}
}
