package mirror

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// A side that reaches its host with a round trip per request copies small
// files in batches when the source side is a BatchReader and the target
// side a BatchWriter; other sides copy each file alone.

// BatchFile is one file of a ReadFiles batch: its name and the identity
// the walk listed.
type BatchFile struct {
	Rel  string
	Want rootfs.Identity
}

// BatchRead is one file's outcome in ReadFiles: Err (as ReadFile would
// fail for it), or its bytes as read with Read describing them.
type BatchRead struct {
	Read
	Data []byte
	Err  error
}

// BatchWrite is one file of a WriteFiles batch.
type BatchWrite struct {
	Rel  string
	Meta rootfs.Meta
	Data []byte
}

// BatchPlaced is one file's outcome in WriteFiles: Err (as WriteFile would
// fail for it), or the file as placed.
type BatchPlaced struct {
	Placed
	Err error
}

// BatchReader reads many small files in one go. Each file is held to
// ReadFile's rules (refused when its identity differs from Want or it
// changed while read); one file's failure is its Err and the others still
// count. The error is the batch's: none of its files was read.
type BatchReader interface {
	ReadFiles(ctx context.Context, files []BatchFile) ([]BatchRead, error)
}

// BatchWriter writes many small files in one go, each as WriteFile
// would: a temporary file in its parent's handle, metadata through the
// descriptor, renamed into place only once its bytes are complete. One
// file's failure is its Err; the error is the batch's (a file may have
// been placed or not).
type BatchWriter interface {
	WriteFiles(ctx context.Context, files []BatchWrite) ([]BatchPlaced, error)
}

// Batches gather files of at most batchFileMax bytes until one of the
// bounds is reached; the workers carry several at once.
const (
	batchFileMax  = 256 << 10
	batchMaxFiles = 128
	batchMaxBytes = 2 << 20
	batchMaxNames = 256 << 10
)

// batcher is the deciding goroutine's batch being filled.
type batcher struct {
	rd           BatchReader
	wr           BatchWriter
	tasks        []fileTask
	bytes, names int
}

func (r *run) initBatch() {
	rd, ok1 := r.src.(BatchReader)
	wr, ok2 := r.dst.(BatchWriter)
	if ok1 && ok2 {
		r.batch = batcher{rd: rd, wr: wr}
	}
	sh, ok1 := r.src.(BatchHasher)
	dh, ok2 := r.dst.(BatchHasher)
	if ok1 && ok2 {
		r.hashes = hashBatcher{src: sh, dst: dh}
	}
}

// batched takes a copy task into the batch if it fits one, sending the
// batch on when full. It reports whether it took the task.
func (r *run) batched(ctx context.Context, t fileTask) (bool, error) {
	b := &r.batch
	if b.rd == nil || t.kind != taskCopy || t.e.Size > batchFileMax {
		return false, nil
	}
	b.tasks = append(b.tasks, t)
	b.bytes += int(t.e.Size)
	b.names += len(t.e.Name)
	if len(b.tasks) >= batchMaxFiles || b.bytes >= batchMaxBytes || b.names >= batchMaxNames {
		return true, r.flushBatch(ctx)
	}
	return true, nil
}

// flushBatch sends the batch being filled to the workers.
func (r *run) flushBatch(ctx context.Context) error {
	b := &r.batch
	if len(b.tasks) == 0 {
		return nil
	}
	t := fileTask{kind: taskBatch, batch: b.tasks}
	b.tasks, b.bytes, b.names = nil, 0, 0
	select {
	case r.tasks <- t:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// copyBatch copies a batch on a worker: the source's bytes, read in one
// request, go to the target in one request. As for a single file, a file
// is done only when the digest the target wrote equals the digest the
// source read; a file the source refuses is handled as copyFile would, a
// file the target failed or got other bytes for goes through copyFile.
func (r *run) copyBatch(ctx context.Context, tasks []fileTask) error {
	files := make([]BatchFile, len(tasks))
	total := 0
	for i, t := range tasks {
		files[i] = BatchFile{Rel: t.e.Name, Want: t.e.Identity()}
		total += int(t.e.Size)
	}
	if err := r.waitBandwidth(ctx, total); err != nil {
		return err
	}
	reads, err := r.batch.rd.ReadFiles(ctx, files)
	if err == nil && len(reads) != len(files) {
		err = fmt.Errorf("%d results for %d files", len(reads), len(files))
	}
	if err != nil {
		return fmt.Errorf("read %d files (from %s) on the source: %w", len(files), files[0].Rel, err)
	}
	var writes []BatchWrite
	var at []int
	for i, rd := range reads {
		t := tasks[i]
		if rd.Err != nil {
			if r.sourceFailed(t, rd.Err) {
				continue
			}
			return fmt.Errorf("read %s on the source: %w", t.e.Name, rd.Err)
		}
		writes = append(writes, BatchWrite{Rel: t.e.Name, Meta: r.meta(t.e), Data: rd.Data})
		at = append(at, i)
	}
	if len(writes) == 0 {
		return nil
	}
	placed, err := r.batch.wr.WriteFiles(ctx, writes)
	if err == nil && len(placed) != len(writes) {
		err = fmt.Errorf("%d results for %d files", len(placed), len(writes))
	}
	if err != nil {
		return fmt.Errorf("write %d files (from %s) on the target: %w", len(writes), writes[0].Rel, err)
	}
	for j, pl := range placed {
		t, rd := tasks[at[j]], reads[at[j]]
		if pl.Err != nil || pl.Sum != rd.Sum || pl.Size != rd.Size {
			// The single-file path copies it anew and fails, if it must,
			// with that file's own error.
			t.recopy = t.recopy || pl.Err == nil
			if err := r.copyFile(ctx, t); err != nil {
				return err
			}
			continue
		}
		if t.recopy {
			r.t.recopied.Add(1)
		}
		r.t.copiedFiles.Add(1)
		r.t.copiedBytes.Add(pl.Size)
		r.t.verified.Add(1)
		r.t.doneFiles.Add(1)
		r.t.doneBytes.Add(t.e.Size)
		r.state.add(t.e.Name, stateRecord{Digest: rd.Sum, Src: idOf(rd.Info), Dst: idOf(pl.Info)})
	}
	return nil
}

// waitBandwidth holds a batch's bytes to the run's bandwidth limit.
func (r *run) waitBandwidth(ctx context.Context, n int) error {
	if r.lim == nil {
		return nil
	}
	for n > 0 {
		k := min(n, r.lim.Burst())
		if err := r.lim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// ReadFiles reads files through side's batches when it has them, else
// one ReadFile at a time with the same per-file results: wrappers of a
// side pass batches on with it.
func ReadFiles(ctx context.Context, side Side, files []BatchFile) ([]BatchRead, error) {
	if br, ok := side.(BatchReader); ok {
		return br.ReadFiles(ctx, files)
	}
	out := make([]BatchRead, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		rd, err := side.ReadFile(ctx, f.Rel, f.Want, &b)
		out[i] = BatchRead{Read: rd, Data: b.Bytes(), Err: err}
	}
	return out, nil
}

// WriteFiles is ReadFiles' counterpart for writes.
func WriteFiles(ctx context.Context, side Side, files []BatchWrite) ([]BatchPlaced, error) {
	if bw, ok := side.(BatchWriter); ok {
		return bw.WriteFiles(ctx, files)
	}
	out := make([]BatchPlaced, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pl, err := side.WriteFile(ctx, f.Rel, f.Meta, bytes.NewReader(f.Data))
		out[i] = BatchPlaced{Placed: pl, Err: err}
	}
	return out, nil
}

// BatchHasher hashes many small files in one go, each as HashFile would
// (refused when its identity differs from Want or it changed while
// read); Data stays nil. One file's failure is its Err; the error is the
// batch's: none of its files was hashed.
type BatchHasher interface {
	HashFiles(ctx context.Context, files []BatchFile) ([]BatchRead, error)
}

// HashFiles is ReadFiles for digests: through side's batches when it has
// them, else one HashFile at a time.
func HashFiles(ctx context.Context, side Side, files []BatchFile) ([]BatchRead, error) {
	if bh, ok := side.(BatchHasher); ok {
		return bh.HashFiles(ctx, files)
	}
	out := make([]BatchRead, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rd, err := side.HashFile(ctx, f.Rel, f.Want)
		out[i] = BatchRead{Read: rd, Err: err}
	}
	return out, nil
}

// hashBatcher is the deciding goroutine's batch of unchanged small files
// being filled, hashed on both sides with a request per side and batch
// rather than per file (a final sync without a trusted state checks every
// file this way).
type hashBatcher struct {
	src, dst     BatchHasher
	tasks        []fileTask
	bytes, names int
}

// hashBatched takes a hash task into the batch if it fits one.
func (r *run) hashBatched(ctx context.Context, t fileTask) (bool, error) {
	b := &r.hashes
	if b.src == nil || t.kind != taskHash || t.e.Size > batchFileMax {
		return false, nil
	}
	b.tasks = append(b.tasks, t)
	b.bytes += int(t.e.Size)
	b.names += len(t.e.Name)
	if len(b.tasks) >= batchMaxFiles || b.bytes >= batchMaxBytes || b.names >= batchMaxNames {
		return true, r.flushHashes(ctx)
	}
	return true, nil
}

// flushHashes sends the hash batch being filled to the workers.
func (r *run) flushHashes(ctx context.Context) error {
	b := &r.hashes
	if len(b.tasks) == 0 {
		return nil
	}
	t := fileTask{kind: taskHashBatch, batch: b.tasks}
	b.tasks, b.bytes, b.names = nil, 0, 0
	select {
	case r.tasks <- t:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// hashBatch hashes a batch on both sides at once. A file whose digests
// agree is unchanged; any other (a failure on either side, a
// difference) goes through hashBoth alone, which decides it with that
// file's own errors and copies it again when it differs.
func (r *run) hashBatch(ctx context.Context, tasks []fileTask) error {
	src, dst := make([]BatchFile, len(tasks)), make([]BatchFile, len(tasks))
	for i, t := range tasks {
		src[i] = BatchFile{Rel: t.e.Name, Want: t.e.Identity()}
		dst[i] = BatchFile{Rel: t.e.Name, Want: t.old.Identity()}
	}
	var dr []BatchRead
	var derr error
	var wg sync.WaitGroup
	wg.Go(func() { dr, derr = r.hashes.dst.HashFiles(ctx, dst) })
	sr, serr := r.hashes.src.HashFiles(ctx, src)
	wg.Wait()
	if serr == nil && len(sr) != len(tasks) {
		serr = fmt.Errorf("%d results for %d files", len(sr), len(tasks))
	}
	if serr != nil {
		return fmt.Errorf("hash %d files (from %s) on the source: %w", len(tasks), tasks[0].e.Name, serr)
	}
	if derr == nil && len(dr) != len(tasks) {
		derr = fmt.Errorf("%d results for %d files", len(dr), len(tasks))
	}
	if derr != nil {
		return fmt.Errorf("hash %d files (from %s) on the target: %w", len(tasks), tasks[0].e.Name, derr)
	}
	for i, t := range tasks {
		s, d := sr[i], dr[i]
		if s.Err != nil || d.Err != nil || s.Sum != d.Sum || s.Size != d.Size {
			if err := r.hashBoth(ctx, t); err != nil {
				return err
			}
			continue
		}
		r.t.hashed.Add(1)
		r.t.unchanged.Add(1)
		r.t.verified.Add(1)
		r.t.doneFiles.Add(1)
		r.t.doneBytes.Add(t.e.Size)
		r.state.add(t.e.Name, stateRecord{Digest: s.Sum, Src: idOf(s.Info), Dst: idOf(d.Info)})
	}
	return nil
}
