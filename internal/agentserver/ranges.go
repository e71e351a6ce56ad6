package agentserver

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// big serves the big-file requests (agentproto.Big).
func (s *server) big(ctx context.Context, t agentproto.Type, req *agentproto.Request, rq *request) (*agentproto.Result, error) {
	r, release, err := s.root(req, t != agentproto.TSums)
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
	switch t {
	case agentproto.TSums:
		return sums(ctx, f, info.Size, req)
	case agentproto.TWriteRange:
		return writeRange(ctx, f, req, rq)
	}
	return commitPartial(ctx, d, f, pname, name, req)
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

// commitPartial hashes the whole partial copy through its descriptor and
// places it under name only when the digest is the one asked for.
func commitPartial(ctx context.Context, d *rootfs.Dir, f *os.File, pname, name string, req *agentproto.Request) (*agentproto.Result, error) {
	if req.Length < 0 {
		return nil, fmt.Errorf("%w: commit %s with size %d", errProtocol, req.Rel, req.Length)
	}
	if err := f.Truncate(req.Length); err != nil {
		return nil, fmt.Errorf("truncate %s: %w", req.Rel, err)
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var done int64
	for done < req.Length {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := f.ReadAt(buf[:min(int64(len(buf)), req.Length-done)], done)
		h.Write(buf[:n])
		done += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", req.Rel, err)
		}
	}
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
