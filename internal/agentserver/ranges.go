package agentserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// big serves the big-file requests (agentproto.Big).
func (s *server) big(ctx context.Context, t agentproto.Type, req *agentproto.Request, rq *request) (*agentproto.Result, error) {
	// Everything about a partial copy needs a target root: it is opened
	// for writing even to be hashed.
	r, release, err := s.root(req, t != agentproto.TSums || req.Key != "")
	if err != nil {
		return nil, err
	}
	defer release()
	if t == agentproto.TSums && req.Key == "" {
		f, err := r.OpenFile(req.Rel, req.Expect)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return sums(ctx, f, f.Info().Size, req)
	}
	parent, name := "", req.Rel
	if i := lastSlash(req.Rel); i >= 0 {
		parent, name = req.Rel[:i], req.Rel[i+1:]
	}
	if err := rootfs.CheckName(name); err != nil {
		return nil, err
	}
	pname, err := agentproto.PartialName(req.Key, name)
	if err != nil {
		return nil, err
	}
	d, err := r.OpenDir(parent)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, info, err := d.OpenPartial(pname, t == agentproto.TWriteRange)
	if t == agentproto.TSums && err != nil && errors.Is(err, fs.ErrNotExist) {
		return &agentproto.Result{Size: -1}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rk := runKey{root: req.Root, rel: req.Rel, key: req.Key}
	switch t {
	case agentproto.TSums:
		return sums(ctx, f, info.Size, req)
	case agentproto.TWriteRange:
		s.runs.below(rk, req.Offset)
		return writeRange(ctx, f, req, rq)
	case agentproto.THashPartial:
		start, err := s.runs.hash(ctx, rk, f, info, req.Offset, req.Length)
		if err != nil {
			return nil, err
		}
		return &agentproto.Result{Size: start}, nil
	}
	return s.commitPartial(ctx, d, f, info, pname, name, req)
}

// runKey names a partial copy's running digest.
type runKey struct {
	root     uint32
	rel, key string
}

// runDigest is the digest of a partial copy's first off bytes, read
// through a descriptor of the file dev/ino.
type runDigest struct {
	dev, ino uint64
	off      int64
	h        hash.Hash
}

// maxRunning bounds the running digests an agent keeps: past it a
// digest is not kept and the commit hashes the file from 0.
const maxRunning = 1024

// running holds the running digests of partial copies between the
// requests that hand their landed prefixes over.
type running struct {
	mu sync.Mutex
	m  map[runKey]*runDigest
}

// take removes and returns the running digest of k if it stands at off
// and is of the file info; else a new one from 0.
func (r *running) take(k runKey, info rootfs.Info, off int64) *runDigest {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.m[k]
	delete(r.m, k)
	if d == nil || d.dev != info.Dev || d.ino != info.Ino || d.off != off {
		return &runDigest{dev: info.Dev, ino: info.Ino, h: sha256.New()}
	}
	return d
}

func (r *running) put(k runKey, d *runDigest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[runKey]*runDigest{}
	}
	if len(r.m) < maxRunning {
		r.m[k] = d
	}
}

// below forgets the running digest of k when a write lands below its end.
func (r *running) below(k runKey, off int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.m[k]; d != nil && off < d.off {
		delete(r.m, k)
	}
}

// hash advances the running digest of k to end and returns where it
// started (0 when it had to start over).
func (r *running) hash(ctx context.Context, k runKey, f *os.File, info rootfs.Info, from, end int64) (int64, error) {
	d := r.take(k, info, from)
	start := d.off
	if end < start {
		return 0, fmt.Errorf("%w: hash %s to %d, below %d", errProtocol, k.rel, end, start)
	}
	if err := hashRange(ctx, d, f, end); err != nil {
		return 0, err
	}
	r.put(k, d)
	return start, nil
}

// hashRange reads f from d.off to end into d.
func hashRange(ctx context.Context, d *runDigest, f *os.File, end int64) error {
	buf := make([]byte, 1<<20)
	for d.off < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-d.off)], d.off)
		d.h.Write(buf[:n])
		d.off += int64(n)
		if err == io.EOF && d.off < end {
			return fmt.Errorf("%s ends at %d, before the %d bytes handed over", f.Name(), d.off, end)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("hash %s: %w", f.Name(), err)
		}
	}
	return nil
}

// sums answers a Sums request over the open file f of size bytes.
func sums(ctx context.Context, f interface {
	ReadAt([]byte, int64) (int, error)
}, size int64, req *agentproto.Request) (*agentproto.Result, error) {
	if req.Chunk < agentproto.MinChunk || req.Chunk > agentproto.MaxChunk || req.Count > agentproto.MaxSums || req.Offset < 0 {
		return nil, fmt.Errorf("%w: sums of %s: chunk %d, count %d, offset %d out of bounds", errProtocol, req.Rel, req.Chunk, req.Count, req.Offset)
	}
	res := &agentproto.Result{Size: size}
	buf := make([]byte, agentproto.ChunkSize)
	for off := req.Offset; off < size && len(res.Sums) < int(req.Count); off += req.Chunk {
		h := sha256.New()
		end := min(off+req.Chunk, size)
		for at := off; at < end; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-at)], at)
			h.Write(buf[:n])
			at += int64(n)
			if err == io.EOF {
				end = at // shrank while read
				break
			}
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", req.Rel, err)
			}
		}
		var sum [32]byte
		h.Sum(sum[:0])
		res.Sums = append(res.Sums, sum)
	}
	return res, nil
}

// writeRange writes the request's data from Offset into the partial copy.
func writeRange(ctx context.Context, f *os.File, req *agentproto.Request, rq *request) (*agentproto.Result, error) {
	if req.Offset < 0 {
		return nil, fmt.Errorf("%w: write %s at %d", errProtocol, req.Rel, req.Offset)
	}
	at := req.Offset
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case p, ok := <-rq.data:
			if !ok {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				return &agentproto.Result{Size: at - req.Offset}, nil
			}
			n, err := f.WriteAt(p, at)
			at += int64(n)
			if err != nil {
				return nil, fmt.Errorf("write %s at %d: %w", req.Rel, at, err)
			}
		}
	}
}

// commitPartial completes the running digest of the partial copy and
// places it under name only when the digest is the one asked for.
func (s *server) commitPartial(ctx context.Context, d *rootfs.Dir, f *os.File, info rootfs.Info, pname, name string, req *agentproto.Request) (*agentproto.Result, error) {
	if req.Length < 0 {
		return nil, fmt.Errorf("%w: commit %s with size %d", errProtocol, req.Rel, req.Length)
	}
	if err := f.Truncate(req.Length); err != nil {
		return nil, fmt.Errorf("truncate %s: %w", req.Rel, err)
	}
	rd := s.runs.take(runKey{root: req.Root, rel: req.Rel, key: req.Key}, info, req.Offset)
	if rd.off > req.Length {
		rd = &runDigest{h: sha256.New()}
	}
	if err := hashRange(ctx, rd, f, req.Length); err != nil {
		return nil, err
	}
	done := rd.off
	h := rd.h
	res := &agentproto.Result{Size: done}
	h.Sum(res.SHA256[:0])
	if res.SHA256 != req.Digest || done != req.Length {
		res.Changed = true // kept for the next attempt's chunk comparison
		return res, nil
	}
	if req.Fsync {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("fsync %s: %w", req.Rel, err)
		}
	}
	if err := rootfs.SetMetaFile(f, req.Meta); err != nil {
		return nil, fmt.Errorf("set meta of %s: %w", req.Rel, err)
	}
	if err := d.StillAt(); err != nil {
		return nil, err
	}
	if err := d.Rename(pname, name); err != nil {
		return nil, err
	}
	info, err := rootfs.FileInfo(f, req.Rel)
	if err != nil {
		return nil, err
	}
	res.Entry = info
	return res, nil
}
