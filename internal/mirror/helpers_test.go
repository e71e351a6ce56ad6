package mirror

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// counting wraps a Side, counting reads and hashes and running hooks
// before chosen calls (the attack tests' race points).
type counting struct {
	Side
	reads, hashes, writes atomic.Int64
	mu                    sync.Mutex
	beforeRead            func(rel string)
	beforeWrite           func(n int64, rel string)
}

func (c *counting) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (Read, error) {
	c.reads.Add(1)
	c.mu.Lock()
	h := c.beforeRead
	c.mu.Unlock()
	if h != nil {
		h(rel)
	}
	return c.Side.ReadFile(ctx, rel, want, w)
}

func (c *counting) HashFile(ctx context.Context, rel string, want rootfs.Identity) (Read, error) {
	c.hashes.Add(1)
	return c.Side.HashFile(ctx, rel, want)
}

func (c *counting) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (Placed, error) {
	n := c.writes.Add(1)
	c.mu.Lock()
	h := c.beforeWrite
	c.mu.Unlock()
	if h != nil {
		h(n, rel)
	}
	return c.Side.WriteFile(ctx, rel, m, r)
}

// env is a source and a target directory with a state directory.
type env struct {
	t                  *testing.T
	base, src, dst, sd string
	ropt               rootfs.Options
	state              StateRef // what the last seed returned
}

func newEnv(t *testing.T) *env {
	base := t.TempDir()
	e := &env{t: t, base: base, src: filepath.Join(base, "src"), dst: filepath.Join(base, "dst"), sd: filepath.Join(base, "state")}
	for _, d := range []string{e.src, e.dst, e.sd} {
		if err := os.Mkdir(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) sides() (*counting, *counting) {
	e.t.Helper()
	s, err := NewLocalSide(e.src, LocalOptions{Root: e.ropt})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := NewLocalSide(e.dst, LocalOptions{StateDir: e.sd, Root: e.ropt})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close(); d.Close() })
	return &counting{Side: s}, &counting{Side: d}
}

func baseSpec(phase string) Spec {
	return Spec{Name: "data", Verify: contract.VerifySHA256, Phase: phase, Concurrency: 4,
		State: StateRef{Name: "data-verified.bin"}}
}

// run runs one copy with fresh sides; a seed's state is remembered for
// the next run.
func (e *env) run(spec Spec) (Result, *counting, *counting, error) {
	e.t.Helper()
	src, dst := e.sides()
	if spec.Phase == contract.PhaseFinalSync && spec.State.Name != "" && spec.State.SHA256 == "" {
		spec.State = e.state
	}
	res, err := Run(context.Background(), spec, src, dst, Options{Owner: os.Geteuid() == 0, NoSync: true}, nil)
	if err == nil && spec.Phase == contract.PhaseSeed && res.StateSHA256 != "" {
		e.state = StateRef{Name: spec.State.Name, SHA256: res.StateSHA256, Records: res.StateRecords}
	}
	return res, src, dst, err
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// sameTree fails unless the trees are identical (content, mode, mtime,
// links, empty directories), skipping the given names.
func sameTree(t *testing.T, a, b string, skip ...string) {
	t.Helper()
	if _, err := treecmp.Equal(a, b, treecmp.Options{Skip: skip}); err != nil {
		t.Fatal(err)
	}
	// treecmp compares whole-second mtimes; the engine keeps nanoseconds.
	err := filepath.Walk(a, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		for _, s := range skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				return nil
			}
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		other, err := os.Lstat(filepath.Join(b, rel))
		if err != nil {
			return err
		}
		if !other.ModTime().Equal(fi.ModTime()) {
			t.Errorf("%s: mtime %v, copy has %v", rel, fi.ModTime(), other.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func setMtime(t *testing.T, p string, when time.Time) {
	t.Helper()
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
}
