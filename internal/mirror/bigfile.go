package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// NoSpaceError says that the target's file system cannot hold what the run
// copies: Free bytes (or FreeInodes files) there, Need queued so far.
type NoSpaceError struct {
	Set               string
	Free, Need        int64
	FreeInodes, Files int64 // Files > FreeInodes when inodes ran out
}

func (e *NoSpaceError) Error() string {
	if e.Files > 0 {
		return fmt.Sprintf("%v: %d inodes free on the target, copy set %s creates at least %d files: free inodes there or choose another target", ErrNoSpace, e.FreeInodes, e.Set, e.Files)
	}
	return fmt.Sprintf("%v: %d bytes free on the target, copy set %s needs at least %d: free space there or choose another target", ErrNoSpace, e.Free, e.Set, e.Need)
}

func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }

// VerifyError says that a file's copy on the target had other bytes than
// the source's twice: the target does not keep what it is given.
type VerifyError struct {
	Name string
	msg  string
}

func (e *VerifyError) Error() string { return e.msg }

// Is makes a VerifyError match ErrDigestMismatch.
func (e *VerifyError) Is(target error) bool { return target == ErrDigestMismatch }

// checkSpace fails once the files queued so far need more bytes or inodes
// than the target's file system had free when the run started.
func (r *run) checkSpace() error {
	if r.free >= 0 && r.need > r.free {
		return &NoSpaceError{Set: r.spec.Name, Free: r.free, Need: r.need}
	}
	if r.freeInodes >= 0 && r.needInodes > r.freeInodes {
		return &NoSpaceError{Set: r.spec.Name, Free: r.free, Need: r.need, FreeInodes: r.freeInodes, Files: r.needInodes}
	}
	return nil
}

// A file bigger than one chunk goes chunk by chunk when both sides can
// (RangeSource, PartialTarget): into a partial copy on the target whose
// name is the same for every attempt at the same source version (the key:
// BigOptions.ResumeSalt, set, path, size, mtime). An attempt that dies
// mid-file leaves the partial copy; the next one compares the digests of
// its whole chunks with the source's (each host hashes its own file),
// keeps those that match and sends the rest. The target then hashes the
// whole partial copy through its descriptor and places it only if that
// digest is the worker's digest of the source: the chunks as read, in file
// order, or (when chunks were kept) the source host's digest of the file.
//
// Files of at least StripeFrom bytes are striped: Lanes chunks are read
// and written at once, landing out of order. Smaller ones keep two reads
// in flight but write in file order, so a partial copy is a prefix.

// BigOptions tune the copy of big files.
type BigOptions struct {
	// ResumeSalt goes into each partial copy's key (the move's id); ""
	// copies every file in one stream (no ranges, no resume).
	ResumeSalt string
	// Chunk is the unit of ranges and digests; 0 means DefaultChunk.
	Chunk int64
	// StripeFrom is the size from which a file's chunks land out of
	// order over Lanes at once; 0 means DefaultStripeFrom.
	StripeFrom int64
	// Lanes is the chunks in flight for a striped file; 0 means 4.
	Lanes int
	// HashEvery is how much landed data the target hashes at a time while
	// later chunks are in flight; 0 means DefaultHashEvery.
	HashEvery int64
}

// Defaults of BigOptions.
const (
	DefaultChunk      = 2 << 20
	DefaultStripeFrom = 64 << 20
	DefaultHashEvery  = 32 << 20
	defaultLanes      = 4
	sumsPerCall       = 4096
)

func (o BigOptions) chunk() int64 {
	if o.Chunk > 0 {
		return o.Chunk
	}
	return DefaultChunk
}

// RangeSource is a source side that reads ranges and hashes chunks of a
// file, refusing (rootfs.ErrIdentityMismatch) a file whose identity is not
// want or that changed while read.
type RangeSource interface {
	// ReadRange streams length bytes of rel from off to w; Read holds
	// their digest and the file as opened.
	ReadRange(ctx context.Context, rel string, want rootfs.Identity, off, length int64, w io.Writer) (Read, error)
	// ChunkSums returns the SHA-256 of each chunk-sized piece of rel from
	// off, at most n (fewer at the end).
	ChunkSums(ctx context.Context, rel string, want rootfs.Identity, off, chunk int64, n int) ([][32]byte, error)
}

// PartialTarget is a target side that keeps a file's partial copy under a
// private temporary name derived from key, in rel's directory, across
// attempts.
type PartialTarget interface {
	// PartialSums is ChunkSums of rel's partial copy; size is -1 when
	// there is none.
	PartialSums(ctx context.Context, rel, key string, off, chunk int64, n int) (sums [][32]byte, size int64, err error)
	// WriteRange writes r's bytes from off into the partial copy (created
	// when absent, never through a symlink). A failed write keeps it.
	WriteRange(ctx context.Context, rel, key string, off int64, r io.Reader) (int64, error)
	// HashPartial has the target hash the partial copy from from (the end
	// of the previous call, 0 at first) to to, all landed, into the copy's
	// running digest.
	HashPartial(ctx context.Context, rel, key string, from, to int64) error
	// CommitPartial truncates the partial copy to size, completes its
	// running digest from hashed and, only if the digest of the whole is
	// want, sets meta and renames it over rel (placed true). Otherwise it
	// stays and Placed holds what was found.
	CommitPartial(ctx context.Context, rel, key string, hashed, size int64, want [32]byte, meta rootfs.Meta) (pl Placed, placed bool, err error)
	// RemovePartial removes the partial copy; a missing one is no error.
	RemovePartial(ctx context.Context, rel, key string) error
}

// bigSides returns the sides' range interfaces when e goes by ranges.
func (r *run) bigSides(e Entry) (RangeSource, PartialTarget, bool) {
	if r.opts.Big.ResumeSalt == "" || e.Size <= r.opts.Big.chunk() {
		return nil, nil, false
	}
	rs, ok1 := r.src.(RangeSource)
	pt, ok2 := r.dst.(PartialTarget)
	return rs, pt, ok1 && ok2
}

// partialKey is the partial copy's key of e's current version.
func (r *run) partialKey(e Entry) string {
	return PartialKey(r.opts.Big.ResumeSalt, r.spec.Name, e.Name, e.Size, e.MtimeNs)
}

// PartialKey is the key of the partial copy of the file rel of a set's
// run salted with salt (BigOptions.ResumeSalt), at a size and mtime.
func PartialKey(salt, set, rel string, size, mtimeNs int64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d", salt, set, rel, size, mtimeNs)))
	return hex.EncodeToString(sum[:8])
}

// copyBig copies one big file, once more when the target's digest
// differs (only the chunks that differ are sent again).
func (r *run) copyBig(ctx context.Context, t fileTask, rs RangeSource, pt PartialTarget) error {
	recopied := t.recopy
	key := r.partialKey(t.e)
	for attempt := 0; ; attempt++ {
		sum, src, pl, placed, err := r.bigOnce(ctx, t.e, key, rs, pt)
		var sf errSourceFailed
		if errors.As(err, &sf) {
			// The source moved on: its partial copy is of no use.
			_ = pt.RemovePartial(context.WithoutCancel(ctx), t.e.Name, key)
			if r.sourceFailed(t, sf.err) {
				return nil
			}
			return fmt.Errorf("read %s on the source: %w", t.e.Name, sf.err)
		}
		if err != nil {
			return err
		}
		if !placed {
			if attempt == 0 {
				recopied = true
				continue
			}
			_ = pt.RemovePartial(context.WithoutCancel(ctx), t.e.Name, key)
			return &VerifyError{Name: t.e.Name, msg: fmt.Sprintf("copy %s: the target's copy has %d bytes with SHA-256 %x, the source %d bytes with %x, twice",
				t.e.Name, pl.Size, pl.Sum, t.e.Size, sum)}
		}
		if recopied {
			r.t.recopied.Add(1)
		}
		r.t.copiedFiles.Add(1)
		r.t.copiedBytes.Add(pl.Size)
		r.t.verified.Add(1)
		r.t.doneFiles.Add(1)
		r.t.doneBytes.Add(t.e.Size)
		r.state.add(t.e.Name, stateRecord{Digest: sum, Src: idOf(src), Dst: idOf(pl.Info)})
		return nil
	}
}

// changedErr says that the source file is not the version the walk saw.
func changedErr(e Entry, got rootfs.Info) error {
	return errSourceFailed{&rootfs.IdentityError{Path: e.Name, Want: e.Identity(), Got: got.Identity()}}
}

// bigOnce sends the chunks the partial copy lacks and commits it.
func (r *run) bigOnce(ctx context.Context, e Entry, key string, rs RangeSource, pt PartialTarget) (sum [32]byte, src rootfs.Info, pl Placed, placed bool, err error) {
	o := r.opts.Big
	c := o.chunk()
	n := (e.Size + c - 1) / c
	keep, kept, err := r.resumable(ctx, e, key, rs, pt)
	if err != nil {
		return sum, src, pl, false, err
	}
	ordered, lanes := true, 2
	if from := o.StripeFrom; e.Size >= from && from > 0 || from == 0 && e.Size >= DefaultStripeFrom {
		ordered, lanes = false, o.Lanes
		if lanes <= 0 {
			lanes = defaultLanes
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// With kept chunks the source host hashes the whole file meanwhile.
	var whole Read
	var wholeErr error
	var wg sync.WaitGroup
	if kept > 0 {
		wg.Go(func() {
			whole, wholeErr = r.src.HashFile(ctx, e.Name, e.Identity())
			if wholeErr == nil && (whole.Info.CtimeNs != e.CtimeNs || whole.Size != e.Size) {
				wholeErr = &rootfs.IdentityError{Path: e.Name, Want: e.Identity(), Got: whole.Info.Identity()}
			}
			if wholeErr != nil {
				wholeErr = errSourceFailed{wholeErr}
				cancel(wholeErr)
			}
		})
	}
	seq := &sequencer{keep: keep, n: n, c: c, size: e.Size, h: sha256.New()}
	seq.cond = sync.NewCond(&seq.mu)
	seq.skip()
	idx := make(chan int64)
	var first atomic.Pointer[rootfs.Info]
	fail := func(err error) {
		cancel(err)
		seq.abort()
	}
	// The target hashes the landed prefix each time it grew by every
	// while later chunks are in flight; the commit hashes the rest.
	every := o.HashEvery
	if every <= 0 {
		every = DefaultHashEvery
	}
	var handed int64
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for {
			to, ok := seq.waitLanded(handed + every)
			if !ok {
				return
			}
			if err := pt.HashPartial(ctx, e.Name, key, handed, to); err != nil {
				fail(fmt.Errorf("hash %s up to %d on the target: %w", e.Name, to, err))
				return
			}
			handed = to
		}
	}()
	for range lanes {
		wg.Go(func() {
			buf := make([]byte, 0, c)
			for i := range idx {
				off := i * c
				ln := min(c, e.Size-off)
				b := bytes.NewBuffer(buf[:0])
				var w io.Writer = b
				if r.lim != nil {
					w = &limitWriter{ctx: ctx, l: r.lim, w: b}
				}
				rd, err := rs.ReadRange(ctx, e.Name, e.Identity(), off, ln, w)
				if err == nil && (rd.Info.CtimeNs != e.CtimeNs || rd.Size != ln) {
					err = changedErr(e, rd.Info)
				} else if err != nil {
					err = errSourceFailed{err}
				}
				if err != nil {
					fail(err)
					return
				}
				first.CompareAndSwap(nil, &rd.Info)
				data := b.Bytes()
				if ordered && !seq.wait(i) {
					return
				}
				// A chunk read whole is written whole even when the copy
				// is canceled meanwhile: the partial copy then holds every
				// chunk that was in flight, and a resume sends none again.
				if _, err := pt.WriteRange(context.WithoutCancel(ctx), e.Name, key, off, bytes.NewReader(data)); err != nil {
					fail(fmt.Errorf("write %s at %d on the target: %w", e.Name, off, err))
					return
				}
				if !ordered && !seq.wait(i) {
					return
				}
				if kept == 0 {
					seq.h.Write(data)
				}
				seq.done(i)
			}
		})
	}
feed:
	for i := range n {
		if keep != nil && keep[i] {
			continue
		}
		select {
		case idx <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(idx)
	wg.Wait()
	seq.finish()
	<-hashed
	if err := context.Cause(ctx); err != nil {
		return sum, src, pl, false, err
	}
	if kept > 0 {
		sum, src = whole.Sum, whole.Info
	} else {
		seq.h.Sum(sum[:0])
		if p := first.Load(); p != nil {
			src = *p
		}
	}
	pl, placed, err = pt.CommitPartial(ctx, e.Name, key, handed, e.Size, sum, r.meta(e))
	if err != nil {
		return sum, src, pl, false, fmt.Errorf("commit %s on the target: %w", e.Name, err)
	}
	return sum, src, pl, placed, nil
}

// resumable compares the whole chunks of a partial copy left by an earlier
// attempt with the source's: keep[i] for those that match (nil when there
// is no partial copy). A partial copy that cannot be opened is removed.
func (r *run) resumable(ctx context.Context, e Entry, key string, rs RangeSource, pt PartialTarget) (keep []bool, kept int64, err error) {
	c := r.opts.Big.chunk()
	ts, size, err := pt.PartialSums(ctx, e.Name, key, 0, c, sumsPerCall)
	if err != nil {
		if err := pt.RemovePartial(ctx, e.Name, key); err != nil {
			return nil, 0, fmt.Errorf("remove the unusable partial copy of %s on the target: %w", e.Name, err)
		}
		return nil, 0, nil
	}
	if size < 0 {
		return nil, 0, nil
	}
	whole := min(size, e.Size) / c
	for int64(len(ts)) < whole {
		more, _, err := pt.PartialSums(ctx, e.Name, key, int64(len(ts))*c, c, sumsPerCall)
		if err != nil || len(more) == 0 {
			return nil, 0, fmt.Errorf("hash the partial copy of %s on the target: %v", e.Name, err)
		}
		ts = append(ts, more...)
	}
	var ss [][32]byte
	for int64(len(ss)) < whole {
		more, err := rs.ChunkSums(ctx, e.Name, e.Identity(), int64(len(ss))*c, c, sumsPerCall)
		if err != nil {
			return nil, 0, errSourceFailed{err}
		}
		if len(more) == 0 {
			return nil, 0, changedErr(e, e.Info)
		}
		ss = append(ss, more...)
	}
	keep = make([]bool, (e.Size+c-1)/c)
	for i := range whole {
		if ts[i] == ss[i] {
			keep[i] = true
			kept++
		}
	}
	r.t.resumed.Add(kept * c)
	r.t.resent.Add(size - kept*c)
	r.t.doneBytes.Add(kept * c)
	return keep, kept, nil
}

// sequencer lets the chunks of one file pass in file order, skipping the
// kept ones; abort releases every waiter.
type sequencer struct {
	mu       sync.Mutex
	cond     *sync.Cond
	keep     []bool
	n, next  int64
	c, size  int64
	landed   int64 // every byte below is in place on the target
	aborted  bool
	finished bool
	h        hash.Hash
}

func (s *sequencer) skip() {
	for s.next < s.n && s.keep != nil && s.keep[s.next] {
		s.next++
	}
	s.landed = min(s.next*s.c, s.size)
}

// waitLanded blocks until at least to bytes landed and returns how many;
// false once the file's chunks are all sent or the copy failed.
func (s *sequencer) waitLanded(to int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.landed < to && !s.aborted && !s.finished {
		s.cond.Wait()
	}
	return s.landed, s.landed >= to && !s.aborted && !s.finished
}

func (s *sequencer) finish() {
	s.mu.Lock()
	s.finished = true
	s.mu.Unlock()
	s.cond.Broadcast()
}

// wait blocks until chunk i is next; false when aborted.
func (s *sequencer) wait(i int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.next != i && !s.aborted {
		s.cond.Wait()
	}
	return !s.aborted
}

func (s *sequencer) done(i int64) {
	s.mu.Lock()
	s.next = i + 1
	s.skip()
	s.mu.Unlock()
	s.cond.Broadcast()
}

func (s *sequencer) abort() {
	s.mu.Lock()
	s.aborted = true
	s.mu.Unlock()
	s.cond.Broadcast()
}
