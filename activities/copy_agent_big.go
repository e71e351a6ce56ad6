package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
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
	return mirror.BigOptions{ResumeSalt: salt, Chunk: chunkSize, StripeFrom: a.Options.StripeFrom, HashEvery: a.Options.StripeBytes}
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
	beforeCopy  func(rel string)
	to          string // the target root's path, for the test hooks
}

// beforeHash calls the test hook that the classic engine calls before its
// target hasher reads a landed range of the temporary file.
func (t agentTarget) beforeHash(rel, key string, off, n int64) {
	h := stripeHooks.beforeHash
	if h == nil || n <= 0 {
		return
	}
	name, err := agentproto.PartialName(key, path.Base(rel))
	if err != nil {
		return
	}
	h(path.Join(t.to, path.Dir(rel), name), off, n)
}

func (t agentTarget) HashPartial(ctx context.Context, rel, key string, from, to int64) error {
	t.beforeHash(rel, key, from, to-from)
	done := t.p.remoteRun()
	defer done()
	return t.pt.HashPartial(ctx, rel, key, from, to)
}

func (t agentTarget) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	pl, err := t.Side.WriteFile(ctx, rel, m, r)
	if err == nil && t.afterPlace != nil {
		t.afterPlace(rel)
	}
	return pl, err
}

func (t agentTarget) PartialSums(ctx context.Context, rel, key string, off, chunk int64, n int) ([][32]byte, int64, error) {
	if off == 0 && t.beforeCopy != nil {
		t.beforeCopy(rel) // a big file's copy starts by asking for its partial copy
	}
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

func (t agentTarget) CommitPartial(ctx context.Context, rel, key string, hashed, size int64, want [32]byte, meta rootfs.Meta) (mirror.Placed, bool, error) {
	t.beforeHash(rel, key, hashed, size-hashed)
	done := t.p.remoteRun()
	pl, placed, err := t.pt.CommitPartial(ctx, rel, key, hashed, size, want, meta)
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

// agentVerifyFailed turns a file whose copy differed twice into the
// classic engine's non-retryable VerificationFailed; nil for other errors.
func agentVerifyFailed(in CopyInput, err error) error {
	var ve *mirror.VerifyError
	if !errors.As(err, &ve) {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s to %s: %v; check the target's disk and memory before running again",
		in.Set.Name, hostLabel(in.Target), err), contract.ErrVerificationFailed, nil)
}

// removeStaleTemps removes the temporary files a crashed attempt left in
// the manifests' directory dir below base (never following a symlink).
func removeStaleTemps(ctx context.Context, base *agentclient.Root, dir string) {
	var stale []string
	_, _ = base.List(ctx, dir, false, func(i rootfs.Info) error {
		if b := path.Base(i.Name); i.Type != rootfs.TypeDir && (strings.HasPrefix(b, tmpPrefix) || strings.HasPrefix(b, ".umzug-tmp-")) {
			stale = append(stale, path.Join(dir, b))
		}
		return nil
	})
	for _, p := range stale {
		_ = base.Remove(ctx, p)
	}
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
			"target %s is out of inodes at %s (%d free, copy set %s creates at least %d files); delete files there or choose a file system with more inodes for `to`, then retry the move",
			target, in.Set.To, ns.FreeInodes, in.Set.Name, ns.Files), contract.ErrTargetNoInodes, nil)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"target %s has %s free at %s, needs at least %s for copy set %s; free space there or choose another target path",
		target, humanBytes(ns.Free), in.Set.To, humanBytes(ns.Need), in.Set.Name), contract.ErrTargetNoSpace, nil)
}

// agentFull classifies a write the target agent failed for a full or
// read-only file system as the classic engine does (fullFromStat), by the
// file system's counters asked right after; nil for other errors.
func agentFull(ctx context.Context, in CopyInput, root *agentclient.Root, err error) error {
	var ae *agentclient.Error
	if !errors.As(err, &ae) || (ae.Code != agentproto.CodeNoSpace && ae.Code != agentproto.CodeReadOnlyFS) {
		return nil
	}
	host, at := hostLabel(in.Target), in.Set.To
	if ae.Code == agentproto.CodeReadOnlyFS {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s has %s on a read-only file system: %v; remount it read-write or choose another `to`, then retry the move",
			host, at, err), contract.ErrTargetReadOnly, nil)
	}
	st, serr := root.Statfs(context.WithoutCancel(ctx), "")
	if serr == nil && st.Files > 0 && st.FilesFree == 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s is out of inodes at %s (0 of %d free): %v; delete files there or choose a file system with more inodes for `to`, then retry the move",
			host, at, st.Files, err), contract.ErrTargetNoInodes, nil)
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"target %s is out of space at %s (%s free of %s): %v; free space there or choose another `to`, then retry the move",
		host, at, humanBytes(int64(st.BytesFree())), humanBytes(int64(st.Blocks*st.BlockSize)), err), contract.ErrTargetNoSpace, nil)
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
