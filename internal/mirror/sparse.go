package mirror

import (
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"sync"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Sparse files keep their holes: a source whose ReadFile is handed a
// rootfs.HoleWriter passes holes on with WriteHole instead of zeros, and a
// target whose WriteFile is handed a rootfs.HoleReader leaves them
// unwritten. The copy's pipe between the two is such a writer and reader.
// Digests are of the logical content, holes hashed as zeros.

// span is one piece of content in the pipe: data or a hole.
type span struct {
	data []byte
	hole int64
}

// spanPipe is io.Pipe that also carries holes. A Write or WriteHole blocks
// until the reader has taken all of it.
type spanPipe struct {
	wr   chan span
	rd   chan int // data bytes taken of the span handed over
	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	rerr error // the reader's close error, seen by the writer
	werr error // the writer's close error, seen by the reader
}

func newSpanPipe() (*spanPipeReader, *spanPipeWriter) {
	p := &spanPipe{wr: make(chan span), rd: make(chan int), done: make(chan struct{})}
	return &spanPipeReader{p: p}, &spanPipeWriter{p: p}
}

func (p *spanPipe) close(reader bool, err error) {
	p.mu.Lock()
	if reader && p.rerr == nil {
		p.rerr = err
	}
	if !reader && p.werr == nil {
		p.werr = err
	}
	p.mu.Unlock()
	p.once.Do(func() { close(p.done) })
}

func (p *spanPipe) errFor(reader bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if reader {
		if p.werr == nil {
			return io.ErrClosedPipe
		}
		return p.werr
	}
	if p.rerr == nil {
		return io.ErrClosedPipe
	}
	return p.rerr
}

type spanPipeWriter struct{ p *spanPipe }

func (w *spanPipeWriter) send(s span) (int, error) {
	n := 0
	for once := true; once || len(s.data) > 0; once = false {
		select {
		case w.p.wr <- s:
			k := <-w.p.rd
			n += k
			s.data = s.data[k:]
			s.hole = 0
		case <-w.p.done:
			return n, w.p.errFor(false)
		}
	}
	return n, nil
}

func (w *spanPipeWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	return w.send(span{data: b})
}

func (w *spanPipeWriter) WriteHole(n int64) error {
	if n <= 0 {
		return nil
	}
	_, err := w.send(span{hole: n})
	return err
}

// Close ends the stream: the reader gets io.EOF.
func (w *spanPipeWriter) Close() error { return w.CloseWithError(nil) }

func (w *spanPipeWriter) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	w.p.close(false, err)
	return nil
}

type spanPipeReader struct {
	p    *spanPipe
	hole int64 // of a hole Read is still turning into zeros
}

func (r *spanPipeReader) ReadSpan(b []byte) (int, int64, error) {
	if r.hole > 0 {
		h := r.hole
		r.hole = 0
		return 0, h, nil
	}
	select {
	case s := <-r.p.wr:
		if s.hole > 0 {
			r.p.rd <- 0
			return 0, s.hole, nil
		}
		n := copy(b, s.data)
		r.p.rd <- n
		return n, 0, nil
	case <-r.p.done:
		return 0, 0, r.p.errFor(true)
	}
}

func (r *spanPipeReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, hole, err := r.ReadSpan(b)
	if hole > 0 {
		k := min(hole, int64(len(b)))
		clear(b[:k])
		r.hole = hole - k
		return int(k), nil
	}
	return n, err
}

// CloseWithError makes the writer's pending and later writes fail with err.
func (r *spanPipeReader) CloseWithError(err error) error {
	if err == nil {
		err = io.ErrClosedPipe
	}
	r.p.close(true, err)
	return nil
}

var (
	_ rootfs.HoleWriter = (*spanPipeWriter)(nil)
	_ rootfs.HoleReader = (*spanPipeReader)(nil)
)

// WriteHole passes a hole on unthrottled (nothing crosses the wire for it)
// or, below a writer without holes, as zeros at the limit.
func (lw *limitWriter) WriteHole(n int64) error {
	if hw, ok := lw.w.(rootfs.HoleWriter); ok {
		return hw.WriteHole(n)
	}
	return rootfs.WriteZeros(lw, n)
}

// hashingHoleWriter hashes what passes, holes as zeros.
type hashingHoleWriter struct {
	h hash.Hash
	w rootfs.HoleWriter
}

func (x hashingHoleWriter) Write(p []byte) (int, error) {
	x.h.Write(p)
	return x.w.Write(p)
}

func (x hashingHoleWriter) WriteHole(n int64) error {
	rootfs.HashZeros(x.h, n)
	return x.w.WriteHole(n)
}

// readSparse is read for a writer that takes holes.
func (s *LocalSide) readSparse(ctx context.Context, rel string, want rootfs.Identity, w rootfs.HoleWriter) (Read, error) {
	f, err := s.openListed(rel, want)
	if err != nil {
		return Read{}, err
	}
	defer f.Close()
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := f.CopySparse(f.Info().Size, ctxHoleWriter{ctx, hashingHoleWriter{h, w}}, *bp)
	return readDone(f, h, n, err)
}

// ctxHoleWriter stops a long read when the context ends.
type ctxHoleWriter struct {
	ctx context.Context
	w   rootfs.HoleWriter
}

func (c ctxHoleWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func (c ctxHoleWriter) WriteHole(n int64) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	return c.w.WriteHole(n)
}

// CopySpans copies r to w, holes as holes, through buf; it returns the
// logical bytes copied.
func CopySpans(ctx context.Context, w rootfs.HoleWriter, r rootfs.HoleReader, buf []byte) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, hole, err := r.ReadSpan(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if hole > 0 {
			if werr := w.WriteHole(hole); werr != nil {
				return total, werr
			}
			total += hole
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// HoleFinder is a source that tells where a file's first hole is (its
// size when it has none); copyFile sends files with holes through the
// streaming copy, which keeps them, rather than the striped big-file copy,
// which does not.
type HoleFinder interface {
	FirstHole(ctx context.Context, rel string, want rootfs.Identity) (int64, error)
}

// FirstHole returns the offset of rel's first hole, its size if none.
func (s *LocalSide) FirstHole(_ context.Context, rel string, want rootfs.Identity) (int64, error) {
	f, err := s.root.OpenFile(rel, &want)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.FirstHole()
}

// hasHoles reports whether the source file e has a hole; an error counts
// as none (the big-file copy then meets it itself).
func (r *run) hasHoles(ctx context.Context, e Entry) bool {
	ss, ok := r.src.(HoleFinder)
	if !ok {
		return false
	}
	off, err := ss.FirstHole(ctx, e.Name, e.Identity())
	return err == nil && off < e.Size
}

// discardHoles takes content and drops it: a hash of a sparse file reads
// its data extents only.
type discardHoles struct{}

func (discardHoles) Write(p []byte) (int, error) { return len(p), nil }
func (discardHoles) WriteHole(int64) error       { return nil }
