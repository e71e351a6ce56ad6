package activities

import (
	"context"
	"sync"
	"sync/atomic"
)

// Small files cost the SFTP path about ten requests each (open, read,
// fstat and close on the source; create, write, close, setstat and rename
// on the target), each waiting on a single-threaded sftp-server. Where
// both hosts have GNU tar and allow exec, the workers gather small files
// into batches that travel as one stream per host instead
// (copy_batch_stream.go): the source's tar reads them, the worker checks
// every member against the listing, hashes it and writes it under a
// numbered name into a fresh staging directory below the target root,
// where one python3 process lands, places and hashes the whole batch
// (copy_batch_land.go) or, without python3, the target's tar lands it.
// Only when the source's tar succeeded are the files renamed into place,
// exactly where the SFTP path renames its temporary files, and verified.
// Whatever a batch cannot settle (a member that differs from its
// listing, a tar that fails, a rename that fails) is copied again over
// SFTP, which refuses, notes or fails as it always does; no staged byte is
// ever visible under a final name before that.

const (
	// batchFileMax is the largest file sent in a batch: above it the
	// per-file path's parallel streams win over one serial stream.
	batchFileMax = 256 << 10
	// A batch closes at batchFiles files or batchBytes bytes.
	batchFiles = 4000
	batchBytes = 64 << 20
	// batchMinFiles: a batch is at least this large, since fewer files
	// go faster over parallel SFTP than through two new exec channels;
	// the first batch leaves at this size when no batch runs.
	batchMinFiles = 256
	// batchLandMinFiles is batchMinFiles where the target lands batches
	// in one process (copy_batch_land.go): two sessions then cost less
	// than this many files over SFTP.
	batchLandMinFiles = 32
	// batchesAtOnce bounds the batches in flight per copy: the target
	// spends most of a batch creating files, and four overlap better than
	// three (two were slower, six no faster).
	batchesAtOnce = 4
)

// batcher gathers small files for tar batches.
type batcher struct {
	mu      sync.Mutex
	cond    *sync.Cond // signalled when a running batch ends
	pending []fileTask
	bytes   int64
	running int          // batches taken and not yet ended
	working atomic.Int64 // workers still taking tasks: the last one out sends the rest
	fixed   int          // a test's batch size, or 0
	// quickWalk: the walk runs from tree listings and hands out every
	// task within milliseconds, so no batch leaves before it is full or
	// the walk has ended: a final sync's changes go in one batch rather
	// than a small first one and the rest after it.
	quickWalk atomic.Bool

	// prestart starts a landing (copy_batch_land.go) once a quick walk
	// has queued a batch's worth: the sessions start while the walk goes
	// on, and the first batch takes them.
	prestart   func() *landing
	prestarted bool // a landing was started and not yet taken
	ready      chan *landing
	noLand     *atomic.Bool // the target's endpoint.noLander, once it is open

	toolsOnce sync.Once
	tools     bool // both hosts have GNU tar
}

func newBatcher(workers, fixed int) *batcher {
	b := &batcher{fixed: fixed}
	b.cond = sync.NewCond(&b.mu)
	b.working.Store(int64(workers))
	return b
}

// batchable reports whether t may travel in a batch: a small file to
// copy, on a copy whose hosts both have GNU tar, with no test hook that
// watches the per-file path.
func (e *engine) batchable(ctx context.Context, t fileTask) bool {
	if e.batch == nil || t.same || t.fi.Size() > batchFileMax || !t.fi.Mode().IsRegular() {
		return false
	}
	e.batch.toolsOnce.Do(func() { e.batch.tools = e.batchTools(ctx) })
	return e.batch.tools
}

// add queues t and returns a full batch for the caller to run, if any.
// While batchesAtOnce batches run and the next is full, it waits: the
// workers then stop taking tasks, so the walk cannot list far ahead and
// memory stays bounded by the batches, not by the tree.
func (b *batcher) add(t fileTask) []fileTask {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.full() && b.running >= batchesAtOnce {
		b.cond.Wait()
	}
	b.pending = append(b.pending, t)
	b.bytes += t.fi.Size()
	if b.prestart != nil && b.ready == nil && b.quickWalk.Load() && len(b.pending) >= b.min() {
		b.ready, b.prestarted = make(chan *landing, 1), true
		go func() { b.ready <- b.prestart() }()
	}
	// A full batch leaves when there is room; a smaller one leaves when
	// no batch runs at all, so the first files do not wait for the walk
	// (a final sync's few changed files) and batches grow while one runs.
	idle := b.running == 0 && len(b.pending) >= b.min() && !b.quickWalk.Load()
	if !(b.full() && b.running < batchesAtOnce) && !idle {
		return nil
	}
	b.running++
	return b.takeLocked()
}

// min is the smallest batch: smaller where the target may land it in
// one process, until it turns out that it cannot.
func (b *batcher) min() int {
	switch {
	case b.fixed > 0:
		return b.fixed
	case b.noLand != nil && !b.noLand.Load():
		return batchLandMinFiles
	}
	return batchMinFiles
}

// takeLanding returns the prestarted landing, once, or nil.
func (b *batcher) takeLanding() *landing {
	b.mu.Lock()
	ok := b.prestarted
	b.prestarted = false
	b.mu.Unlock()
	if !ok {
		return nil
	}
	return <-b.ready
}

func (b *batcher) full() bool { return len(b.pending) >= batchFiles || b.bytes >= batchBytes }

// ended frees the place of a batch add or done returned.
func (b *batcher) ended() {
	b.mu.Lock()
	b.running--
	b.cond.Broadcast()
	b.mu.Unlock()
}

// done is called by each worker when the tasks have run out; the last one
// gets whatever is queued, so no file is left for a batch too small.
func (b *batcher) done() []fileTask {
	if b.working.Add(-1) > 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return nil
	}
	b.running++
	return b.takeLocked()
}

func (b *batcher) takeLocked() []fileTask {
	out := b.pending
	b.pending, b.bytes = nil, 0
	return out
}

// copyBatch copies ts in one tar batch where it can and the rest file by
// file.
func (e *engine) copyBatch(ctx context.Context, idx int, ts []fileTask) {
	if len(ts) == 0 {
		return
	}
	rest := ts
	if len(ts) >= e.batch.min() && ctx.Err() == nil {
		rest = e.runBatch(ctx, ts)
	}
	e.batch.ended()
	// What no batch took goes file by file, as many at once as the
	// workers would run: the last worker out may hold hundreds.
	sem := make(chan struct{}, e.opt.concurrency)
	var wg sync.WaitGroup
	for i, t := range rest {
		if e.failed() != nil || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e.copyTask(ctx, idx+i, t)
		})
	}
	wg.Wait()
}

// copyTask copies one file over SFTP and records the outcome.
func (e *engine) copyTask(ctx context.Context, idx int, t fileTask) {
	listed := e.idsListed(ctx)
	sum, err := e.copyFileChecked(ctx, idx, t.rel, t.fi, t.old)
	if err != nil {
		if err := e.notCopied(t.rel, t.fi, err); err != nil {
			e.fail(err)
		}
		return
	}
	e.copied(t.rel, t.fi, sum, listed)
}
