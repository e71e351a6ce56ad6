package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/pkg/sftp"
)

const (
	// chunkSize is the unit of the copy pipeline: one ReadAt on the source
	// (pkg/sftp splits it into 64 KiB requests in flight at once), one hash
	// update, one WriteAt on the target.
	chunkSize = 2 << 20
	// bigFile is the size from which a file is spread over every SSH
	// connection of the copy (chunk i goes over connection i mod N).
	bigFileDefault = 64 << 20
	// tmpPrefix marks temporary files; a crashed attempt's leftovers are
	// removed by the next run's walk.
	tmpPrefix = ".umzug-tmp."
)

// bufPool recycles chunk buffers so that a tree of many files does not
// churn the heap; buffers of small files are allocated to size.
var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func getBuf(n int) (*[]byte, func()) {
	if n < chunkSize/4 {
		b := make([]byte, n)
		return &b, func() {}
	}
	b := bufPool.Get().(*[]byte)
	return b, func() { bufPool.Put(b) }
}

// errShrunk reports that the source file ended before its listed size (it
// was truncated while being copied, as live files may be during seed).
var errShrunk = errors.New("source file shrank while copying")

// streamFrom copies size bytes from the source files (one handle per
// lane, all the same file) to the target files, hashing in order, from
// offset from, a multiple of chunkSize (a resumed partial file holds the
// bytes before it, and maybe some chunks after it): it copies and hashes
// only the bytes from there on that the target lacks. Chunk i travels
// over lane i mod len(srcs). It returns the number of bytes copied (less
// than size if the file shrank) and the SHA-256 of exactly those bytes.
func (e *engine) streamFrom(ctx context.Context, srcs, dsts []*sftp.File, from, size int64) (int64, string, error) {
	if size <= from {
		return 0, hex.EncodeToString(sha256.New().Sum(nil)), nil
	}
	p := e.newPipe(ctx, srcs, dsts, from, size)
	defer p.release()
	var wg sync.WaitGroup
	for j := range p.lanes {
		wg.Go(func() { p.read(j) })
		wg.Go(func() { p.write(j) })
	}
	total, h := p.hash()
	for j := range p.lanes {
		close(p.writeCh[j])
	}
	p.cancel()
	wg.Wait()
	return p.result(ctx, total, h)
}

// piece is one chunk on its way through the pipeline.
type piece struct {
	off  int64
	buf  []byte
	n    int
	err  error
	skip bool // a resumed partial file holds this chunk already
}

// pipe is the copy pipeline of one file: per lane a reader, the shared
// hasher (the caller) and a writer, passing pieces over channels. Each
// lane owns up to three buffers, so a read, a hash and a write are in
// flight at once and memory stays at three chunks per lane.
type pipe struct {
	e          *engine
	srcs, dsts []*sftp.File
	from, size int64
	lanes      int
	nchunks    int
	held       map[int64]bool
	hashCh     []chan *piece
	writeCh    []chan *piece
	free       []chan *piece
	written    []int64
	releases   []func()
	// Readers stop on rctx; writers always drain what the hasher handed
	// them (skipping the writes once something failed).
	rctx   context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
}

func (e *engine) newPipe(ctx context.Context, srcs, dsts []*sftp.File, from, size int64) *pipe {
	cs := int64(chunkSize)
	p := &pipe{e: e, srcs: srcs, dsts: dsts, from: from, size: size}
	p.nchunks = int((size - from + cs - 1) / cs)
	p.lanes = min(len(srcs), p.nchunks)
	// A one-chunk-per-lane file needs only two buffers (read, then write).
	bufsPerLane := 2
	if p.nchunks > p.lanes {
		bufsPerLane = 3
	}
	p.held = e.heldChunks(dsts[0].Name())
	p.written = make([]int64, p.lanes)
	for range p.lanes {
		p.hashCh = append(p.hashCh, make(chan *piece, 1))
		p.writeCh = append(p.writeCh, make(chan *piece, bufsPerLane))
		free := make(chan *piece, bufsPerLane)
		for range bufsPerLane {
			b, rel := getBuf(int(cs))
			p.releases = append(p.releases, rel)
			free <- &piece{buf: (*b)[:cs]}
		}
		p.free = append(p.free, free)
	}
	p.rctx, p.cancel = context.WithCancel(ctx)
	return p
}

func (p *pipe) release() {
	p.cancel()
	for _, r := range p.releases {
		r()
	}
}

func (p *pipe) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.cancel()
}

func (p *pipe) failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// read is lane j's reader: chunks j, j+lanes, ... in order.
func (p *pipe) read(j int) {
	cs := int64(chunkSize)
	for i := j; i < p.nchunks; i += p.lanes {
		var pc *piece
		select {
		case pc = <-p.free[j]:
		case <-p.rctx.Done():
			return
		}
		pc.off = p.from + int64(i)*cs
		want := min(cs, p.size-pc.off)
		if pc.skip = p.held[pc.off]; pc.skip {
			pc.n, pc.err = int(want), nil
		} else {
			pc.n, pc.err = readFullAt(p.srcs[j], pc.buf[:want], pc.off)
		}
		select {
		case p.hashCh[j] <- pc:
		case <-p.rctx.Done():
			return
		}
		if pc.err != nil {
			return
		}
	}
}

// write is lane j's writer: it writes what the hasher hands it, in order.
func (p *pipe) write(j int) {
	e := p.e
	for pc := range p.writeCh[j] {
		switch {
		case pc.skip:
			p.written[j] += int64(pc.n)
			e.landedAt(p.dsts[j].Name(), pc.off, pc.n)
		case p.failed():
		default:
			if _, err := p.dsts[j].WriteAt(pc.buf[:pc.n], pc.off); err != nil {
				p.fail(e.dst.fullError(fmt.Errorf("write at offset %d: %w", pc.off, err), p.dsts[j].Name()))
				break
			}
			p.written[j] += int64(pc.n)
			e.landedAt(p.dsts[j].Name(), pc.off, pc.n)
			e.prog.bytesDone.Add(int64(pc.n))
			if h := faultHooks.afterWrite; h != nil {
				h(p.dsts[j].Name(), pc.off+int64(pc.n))
			}
		}
		p.free[j] <- pc
	}
}

// hash takes the chunks in file order, hashes them (within the bandwidth
// limit) and hands them to their lane's writer. It returns the bytes
// taken and the hash.
func (p *pipe) hash() (int64, hash.Hash) {
	h := sha256.New()
	var total int64
	for i := range p.nchunks {
		j := i % p.lanes
		var pc *piece
		select {
		case pc = <-p.hashCh[j]:
		case <-p.rctx.Done():
			return total, h
		}
		if pc.err != nil && !errors.Is(pc.err, errShrunk) {
			p.fail(pc.err)
			return total, h
		}
		total += int64(pc.n)
		if !pc.skip {
			h.Write(pc.buf[:pc.n])
			if err := p.e.limit.wait(p.rctx, pc.n); err != nil {
				p.fail(err)
				return total, h
			}
		}
		p.writeCh[j] <- pc
		if pc.err != nil { // the file shrank: this was its last piece
			return total, h
		}
	}
	return total, h
}

// result checks that every byte taken was written.
func (p *pipe) result(ctx context.Context, total int64, h hash.Hash) (int64, string, error) {
	if p.err == nil && ctx.Err() != nil {
		p.err = ctx.Err()
	}
	if p.err != nil {
		return total, "", p.err
	}
	var w int64
	for _, x := range p.written {
		w += x
	}
	if w != total {
		return total, "", fmt.Errorf("wrote %d of %d bytes", w, total)
	}
	return total, hex.EncodeToString(h.Sum(nil)), nil
}

// renameReplace moves tmp over final atomically where the server offers
// posix-rename@openssh.com; otherwise it removes final first (SFTP v3
// rename refuses to overwrite), which leaves a short window without it.
func renameReplace(cl *sftp.Client, tmp, final string) error {
	if _, ok := cl.HasExtension("posix-rename@openssh.com"); ok {
		if err := cl.PosixRename(tmp, final); err != nil {
			return fmt.Errorf("rename %s to %s: %w", tmp, final, err)
		}
		return nil
	}
	if err := cl.Remove(final); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s before renaming %s over it: %w", final, tmp, err)
	}
	if err := cl.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, final, err)
	}
	return nil
}

// tmpName returns a fresh temporary name next to final. Long names are
// shortened so the temporary name stays within NAME_MAX (255).
func tmpName(final string) string {
	dir, base := path.Split(final)
	if len(base) > 200 {
		base = base[:200]
	}
	return dir + tmpPrefix + base + "." + randomSuffix()
}

// isTmpName reports whether a directory entry is one of our temporary files.
func isTmpName(name string) bool { return strings.HasPrefix(name, tmpPrefix) }

// bigFile is a variable so tests can exercise the multi-lane path with
// small files.
var bigFile int64 = bigFileDefault

// readFullAt fills b from off. pkg/sftp's concurrent ReadAt reports a
// short server reply as io.EOF (servers may cap replies below the
// requested packet size), so only a read that returns no bytes at all is
// taken as the real end of file: errShrunk, since the caller asked for
// bytes within the listed size.
func readFullAt(f *sftp.File, b []byte, off int64) (int, error) {
	got := 0
	for got < len(b) {
		k, err := f.ReadAt(b[got:], off+int64(got))
		got += k
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			if k == 0 {
				return got, errShrunk
			}
		default:
			return got, fmt.Errorf("read at offset %d: %w", off+int64(got), err)
		}
	}
	return got, nil
}
