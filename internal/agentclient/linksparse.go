package agentclient

import (
	"context"
	"fmt"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// ReadSparse streams the whole regular file rel into w, its holes as
// WriteHole (the agent finds them with SEEK_DATA/SEEK_HOLE and sends only
// the data); the digest counts the holes as zeros. expect as for Read.
func (r *Root) ReadSparse(ctx context.Context, rel string, expect *rootfs.Identity, w rootfs.HoleWriter) (ReadResult, error) {
	q := r.req(rel)
	q.Expect, q.Length = expect, -1
	cl, err := r.c.start(agentproto.TReadSparse, q)
	if err != nil {
		return ReadResult{}, err
	}
	var total int64
	for {
		f, res, err := r.c.recv(ctx, cl, "read", rel)
		if err != nil {
			return ReadResult{}, err
		}
		if res != nil {
			if res.Size != total {
				return ReadResult{}, fmt.Errorf("agent read %q: %d bytes announced, %d received", rel, res.Size, total)
			}
			return readResult(res), nil
		}
		switch f.t {
		case agentproto.TChunk:
			if total += int64(len(f.p)); expect == nil || total <= expect.Size {
				_, err = w.Write(f.p)
			}
		case agentproto.THole:
			var n int64
			if n, err = agentproto.DecodeHole(f.p); err == nil {
				if total += n; expect == nil || total <= expect.Size {
					err = w.WriteHole(n)
				}
			}
		default:
			err = fmt.Errorf("unexpected %s frame", f.t)
		}
		if err == nil && expect != nil && total > expect.Size {
			// A hostile agent's hole must not make the target write
			// (and hash) more than the file the listing saw.
			err = fmt.Errorf("the agent sent more than the %d bytes listed", expect.Size)
		}
		if err != nil {
			r.c.cancel(cl)
			return ReadResult{}, fmt.Errorf("agent read %q: %w", rel, err)
		}
	}
}

// readSpans fills buf with src's data up to the next hole, which it
// returns after the data; io.EOF at the end.
func readSpans(src rootfs.HoleReader, buf []byte) (n int, hole int64, err error) {
	for n < len(buf) {
		k, h, err := src.ReadSpan(buf[n:])
		n += k
		if h > 0 || err != nil {
			return n, h, err
		}
	}
	return n, 0, nil
}

// Link makes newRel a further name of the regular file oldRel on a target
// root; the agent refuses it (errors.Is rootfs.ErrIdentityMismatch) unless
// oldRel is the file of expect's device and inode. A link the host's file
// system refuses matches rootfs.ErrCannotLink.
func (r *Root) Link(ctx context.Context, oldRel, newRel string, expect rootfs.Identity) (rootfs.Info, error) {
	q := r.req(newRel)
	q.Path, q.Expect = oldRel, &expect
	res, err := r.c.do(ctx, agentproto.TLink, q)
	if err != nil {
		return rootfs.Info{}, err
	}
	return res.Entry, nil
}

// FirstHole returns the offset of the first hole of the regular file rel,
// its size when it has none; expect as for Read.
func (r *Root) FirstHole(ctx context.Context, rel string, expect *rootfs.Identity) (int64, error) {
	q := r.req(rel)
	q.Expect = expect
	res, err := r.c.do(ctx, agentproto.TFirstHole, q)
	if err != nil {
		return 0, err
	}
	return res.Size, nil
}
