package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

// stream copies size bytes from the source files (one handle per lane, all
// the same file) to the target files, hashing in order. Chunk i travels
// over lane i mod len(srcs); each lane has up to three buffers of its own so
// reads, hashing and writes overlap and memory stays at 3 chunks per lane. It
// returns the number of bytes copied (less than size if the file shrank)
// and the SHA-256 of exactly those bytes.
func (e *engine) stream(ctx context.Context, srcs, dsts []*sftp.File, size int64) (int64, string, error) {
	return e.streamFrom(ctx, srcs, dsts, 0, size)
}

// streamFrom is stream starting at offset from, a multiple of chunkSize
// (a resumed partial file holds the bytes before it, and maybe some chunks
// after it): it copies and hashes only the bytes from there on that the
// target lacks.
func (e *engine) streamFrom(ctx context.Context, srcs, dsts []*sftp.File, from, size int64) (int64, string, error) {
	h := sha256.New()
	if size <= from {
		return 0, hex.EncodeToString(h.Sum(nil)), nil
	}
	if size <= chunkSize && from == 0 {
		return e.streamSmall(ctx, srcs[0], dsts[0], size)
	}
	cs := int64(chunkSize)
	nchunks := int((size - from + cs - 1) / cs)
	lanes := len(srcs)
	if lanes > nchunks {
		lanes = nchunks
	}
	// Three buffers per lane keep a read, a hash and a write in flight at
	// once; a one-chunk file needs only two (read, then write).
	bufsPerLane := 2
	if nchunks > lanes {
		bufsPerLane = 3
	}
	type piece struct {
		off  int64
		buf  []byte
		n    int
		err  error
		skip bool // a resumed partial file holds this chunk already
		done func()
	}
	held := e.heldChunks(dsts[0].Name())
	hashCh := make([]chan *piece, lanes)
	writeCh := make([]chan *piece, lanes)
	free := make([]chan *piece, lanes)
	var releases []func()
	for j := range lanes {
		hashCh[j] = make(chan *piece, 1)
		writeCh[j] = make(chan *piece, bufsPerLane)
		free[j] = make(chan *piece, bufsPerLane)
		for range bufsPerLane {
			b, rel := getBuf(int(cs))
			releases = append(releases, rel)
			free[j] <- &piece{buf: (*b)[:cs]}
		}
	}
	defer func() {
		for _, r := range releases {
			r()
		}
	}()

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		firstE error
	)
	// Readers stop on rctx; writers always drain what the hasher handed
	// them (skipping the writes once something failed).
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	fail := func(err error) {
		mu.Lock()
		if firstE == nil {
			firstE = err
		}
		mu.Unlock()
		rcancel()
	}
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return firstE != nil }
	// Readers: lane j reads chunks j, j+lanes, ... in order.
	for j := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := j; i < nchunks; i += lanes {
				var p *piece
				select {
				case p = <-free[j]:
				case <-rctx.Done():
					return
				}
				p.off = from + int64(i)*cs
				want := min(cs, size-p.off)
				if p.skip = held[p.off]; p.skip {
					p.n, p.err = int(want), nil
				} else {
					p.n, p.err = readFullAt(srcs[j], p.buf[:want], p.off)
				}
				select {
				case hashCh[j] <- p:
				case <-rctx.Done():
					return
				}
				if p.err != nil {
					return
				}
			}
		}()
	}
	// Writers: lane j writes what the hasher hands it, in order.
	written := make([]int64, lanes)
	for j := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range writeCh[j] {
				if p.skip {
					written[j] += int64(p.n)
					e.landedAt(dsts[j].Name(), p.off, p.n)
				} else if !failed() {
					if _, err := dsts[j].WriteAt(p.buf[:p.n], p.off); err != nil {
						fail(e.dst.fullError(fmt.Errorf("write at offset %d: %w", p.off, err), dsts[j].Name()))
					} else {
						written[j] += int64(p.n)
						e.landedAt(dsts[j].Name(), p.off, p.n)
						e.prog.bytesDone.Add(int64(p.n))
						if h := faultHooks.afterWrite; h != nil {
							h(dsts[j].Name(), p.off+int64(p.n))
						}
					}
				}
				free[j] <- p
			}
		}()
	}
	// Hasher (this goroutine): takes chunks in file order.
	var total int64
	for i := range nchunks {
		j := i % lanes
		var p *piece
		select {
		case p = <-hashCh[j]:
		case <-rctx.Done():
		}
		if p == nil {
			break
		}
		if p.err != nil && !errors.Is(p.err, errShrunk) {
			fail(p.err)
			break
		}
		total += int64(p.n)
		if !p.skip {
			h.Write(p.buf[:p.n])
			if err := e.limit.wait(rctx, p.n); err != nil {
				fail(err)
				break
			}
		}
		writeCh[j] <- p
		if p.err != nil { // the file shrank: this was its last piece
			break
		}
	}
	for j := range lanes {
		close(writeCh[j])
	}
	rcancel()
	wg.Wait()
	if firstE == nil && ctx.Err() != nil {
		firstE = ctx.Err()
	}
	if firstE != nil {
		return total, "", firstE
	}
	var w int64
	for _, x := range written {
		w += x
	}
	if w != total {
		return total, "", fmt.Errorf("wrote %d of %d bytes", w, total)
	}
	return total, hex.EncodeToString(h.Sum(nil)), nil
}

// streamSmall copies a file of at most one chunk without the pipeline's
// goroutines: on trees of small files their cost per file adds up.
func (e *engine) streamSmall(ctx context.Context, src, dst *sftp.File, size int64) (int64, string, error) {
	b, release := getBuf(int(size))
	defer release()
	buf := (*b)[:size]
	n, err := readFullAt(src, buf, 0)
	if err != nil && !errors.Is(err, errShrunk) {
		return 0, "", err
	}
	buf = buf[:n]
	sum := sha256.Sum256(buf)
	if err := e.limit.wait(ctx, n); err != nil {
		return 0, "", err
	}
	if n > 0 {
		if _, err := dst.WriteAt(buf, 0); err != nil {
			return 0, "", e.dst.fullError(fmt.Errorf("write at offset 0: %w", err), dst.Name())
		}
	}
	e.prog.bytesDone.Add(int64(n))
	return int64(n), hex.EncodeToString(sum[:]), nil
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
