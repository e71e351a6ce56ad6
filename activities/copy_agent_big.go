package activities

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// bigOptions are the agent engine's big-file settings: partial copies are
// keyed by the move, striping starts at Options.StripeFrom.
func (a *Activities) bigOptions(in CopyInput) mirror.BigOptions {
	salt := in.MoveID
	if salt == "" {
		salt = "-"
	}
	return mirror.BigOptions{ResumeSalt: salt, Chunk: chunkSize, StripeFrom: a.Options.StripeFrom}
}

// rangeSource is progressSide with the source's ranges: bytes count as
// they stream, chunk hashing as a remote run.
type rangeSource struct {
	progressSide
	rs mirror.RangeSource
}

func withRanges(s progressSide, inner mirror.Side) mirror.Side {
	if rs, ok := inner.(mirror.RangeSource); ok {
		return rangeSource{s, rs}
	}
	return s
}

func (s rangeSource) ReadRange(ctx context.Context, rel string, want rootfs.Identity, off, length int64, w io.Writer) (mirror.Read, error) {
	return s.rs.ReadRange(ctx, rel, want, off, length, countingWriter{w, &s.p.moved})
}

func (s rangeSource) ChunkSums(ctx context.Context, rel string, want rootfs.Identity, off, chunk int64, n int) ([][32]byte, error) {
	done := s.p.remoteRun()
	defer done()
	return s.rs.ChunkSums(ctx, rel, want, off, chunk, n)
}

// agentTarget is the target as the engine sees it: progress, the digests
// for the manifest, the partial copies of big files, and the test hooks
// that the classic engine calls at the same points.
type agentTarget struct {
	mirror.Side // progressSide over the digestRecorder
	pt          mirror.PartialTarget
	rec         *digestRecorder
	p           *progress
	afterPlace  func(rel string)
}

func (t agentTarget) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	pl, err := t.Side.WriteFile(ctx, rel, m, r)
	if err == nil && t.afterPlace != nil {
		t.afterPlace(rel)
	}
	return pl, err
}

func (t agentTarget) PartialSums(ctx context.Context, rel, key string, off, chunk int64, n int) ([][32]byte, int64, error) {
	done := t.p.remoteRun()
	defer done()
	return t.pt.PartialSums(ctx, rel, key, off, chunk, n)
}

func (t agentTarget) WriteRange(ctx context.Context, rel, key string, off int64, r io.Reader) (int64, error) {
	n, err := t.pt.WriteRange(ctx, rel, key, off, r)
	if err == nil {
		if h := faultHooks.afterWrite; h != nil {
			h(rel, off+n)
		}
	}
	return n, err
}

func (t agentTarget) CommitPartial(ctx context.Context, rel, key string, size int64, want [32]byte, meta rootfs.Meta) (mirror.Placed, bool, error) {
	done := t.p.remoteRun()
	pl, placed, err := t.pt.CommitPartial(ctx, rel, key, size, want, meta)
	done()
	if err == nil && placed {
		t.rec.put(rel, pl.Sum)
		if t.afterPlace != nil {
			t.afterPlace(rel)
		}
	}
	return pl, placed, err
}

func (t agentTarget) RemovePartial(ctx context.Context, rel, key string) error {
	return t.pt.RemovePartial(ctx, rel, key)
}

// agentNoSpace turns the engine's free-space refusal into the classic
// engine's TargetNoSpace error; nil when err is not one.
func agentNoSpace(in CopyInput, target string, err error) error {
	var ns *mirror.NoSpaceError
	if !errors.As(err, &ns) {
		return nil
	}
	if ns.Files > 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s has %d free inodes at %s, needs at least %d for copy set %s; free inodes there or choose another target path",
			target, ns.FreeInodes, in.Set.To, ns.Files, in.Set.Name), contract.ErrTargetNoSpace, nil)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"target %s has %s free at %s, needs at least %s for copy set %s; free space there or choose another target path",
		target, humanBytes(ns.Free), in.Set.To, humanBytes(ns.Need), in.Set.Name), contract.ErrTargetNoSpace, nil)
}

// freeSide pretends the target has free bytes (tests).
type freeSide struct {
	agentTarget
	free int64
}

func (s freeSide) Statfs(ctx context.Context) (rootfs.Statfs, error) {
	st, err := s.agentTarget.Statfs(ctx)
	st.BlockSize, st.BlocksFree = 1, uint64(s.free)
	return st, err
}
