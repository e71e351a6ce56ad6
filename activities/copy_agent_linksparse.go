package activities

import (
	"context"
	"fmt"

	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// The agent engine's wrappers pass hard links and holes on to the agent
// sides: a link is a placed file whose digest is its first name's, a hole
// counts as moved without a byte sent.

// WriteHole passes a hole on, or writes its zeros to a writer without holes.
func (c countingWriter) WriteHole(n int64) error {
	if hw, ok := c.w.(rootfs.HoleWriter); ok {
		return hw.WriteHole(n)
	}
	return rootfs.WriteZeros(c, n)
}

func (s rangeSource) FirstHole(ctx context.Context, rel string, want rootfs.Identity) (int64, error) {
	hf, ok := s.rs.(mirror.HoleFinder)
	if !ok {
		return want.Size, nil
	}
	return hf.FirstHole(ctx, rel, want)
}

func (t agentTarget) Link(ctx context.Context, oldRel, newRel string, want rootfs.Identity) (rootfs.Info, error) {
	lk, ok := t.pt.(mirror.Linker)
	if !ok {
		return rootfs.Info{}, fmt.Errorf("link %s to %s: %w: the target side makes no hard links", newRel, oldRel, rootfs.ErrCannotLink)
	}
	info, err := lk.Link(ctx, oldRel, newRel, want)
	if err == nil {
		t.rec.mu.Lock()
		if s, ok := t.rec.sums[oldRel]; ok {
			t.rec.sums[newRel] = s
		}
		t.rec.mu.Unlock()
	}
	return info, err
}

var (
	_ mirror.Linker     = agentTarget{}
	_ mirror.HoleFinder = rangeSource{}
)
