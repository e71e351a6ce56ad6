package agentserver

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// holeMark stands in a write's data channel for the next length on its
// holes channel: a data chunk is never an empty non-nil slice.
var holeMark = make([]byte, 0)

func isHole(p []byte) bool { return p != nil && len(p) == 0 }

// hole queues a client's Hole frame behind the write's data so far.
func (s *server) hole(f agentproto.Frame) error {
	s.mu.Lock()
	rq := s.reqs[f.ID]
	s.mu.Unlock()
	if rq == nil || rq.data == nil {
		return nil // the write already failed or was canceled
	}
	if rq.holes == nil {
		return fmt.Errorf("agent protocol: a hole for request %d, which is not a write", f.ID)
	}
	n, err := agentproto.DecodeHole(f.Payload)
	if err != nil {
		return err
	}
	// holes has data's capacity and one length per mark: it never blocks
	// longer than data would.
	rq.holes <- n
	rq.data <- holeMark
	return nil
}

// holeSender streams a sparse read: data as Chunk frames, holes as Hole
// frames; both go into the digest.
type holeSender struct {
	s  *server
	id uint32
	h  hash.Hash
	// send is false for a hash: nothing leaves the agent.
	send bool
	ctx  context.Context
}

func (w *holeSender) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	w.h.Write(p)
	if w.send {
		for q := p; len(q) > 0; {
			k := min(len(q), agentproto.ChunkSize)
			if err := w.s.w.Write(agentproto.TChunk, w.id, q[:k]); err != nil {
				return 0, err
			}
			q = q[k:]
		}
	}
	return len(p), nil
}

func (w *holeSender) WriteHole(n int64) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.send {
		if err := w.s.w.Write(agentproto.THole, w.id, agentproto.EncodeHole(n)); err != nil {
			return err
		}
	}
	return nil
}

// readSparse reads (or, without send, hashes) the whole file Rel through
// its data extents; holes are hashed as zeros without being read.
func (s *server) readSparse(ctx context.Context, id uint32, req *agentproto.Request, send bool) (*agentproto.Result, error) {
	r, release, err := s.root(req, false)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := r.OpenFile(req.Rel, req.Expect)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	w := &holeSender{s: s, id: id, h: h, send: send, ctx: ctx}
	n, err := f.CopySparse(f.Info().Size, zeroHasher{w, h}, make([]byte, agentproto.ChunkSize))
	if err != nil {
		return nil, err
	}
	res := &agentproto.Result{Entry: f.Info(), Size: n}
	res.Entry.Name = req.Rel
	h.Sum(res.SHA256[:0])
	after, err := f.Restat()
	if err != nil {
		return nil, err
	}
	before := f.Info()
	res.Changed = after.Size != before.Size || after.MtimeNs != before.MtimeNs || after.CtimeNs != before.CtimeNs
	return res, nil
}

// zeroHasher hashes a hole as zeros before passing it on.
type zeroHasher struct {
	w *holeSender
	h hash.Hash
}

func (z zeroHasher) Write(p []byte) (int, error) { return z.w.Write(p) }

func (z zeroHasher) WriteHole(n int64) error {
	rootfs.HashZeros(z.h, n)
	return z.w.WriteHole(n)
}

func (s *server) firstHole(req *agentproto.Request) (*agentproto.Result, error) {
	r, release, err := s.root(req, false)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := r.OpenFile(req.Rel, req.Expect)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	off, err := f.FirstHole()
	return &agentproto.Result{Size: off, Entry: f.Info()}, err
}

// link makes Rel a further name of Path on a target root.
func (s *server) link(req *agentproto.Request) (*agentproto.Result, error) {
	r, release, err := s.root(req, true)
	if err != nil {
		return nil, err
	}
	defer release()
	if req.Expect == nil {
		return nil, fmt.Errorf("%w: link %s without the identity of %s", errProtocol, req.Rel, req.Path)
	}
	info, err := r.Link(req.Path, req.Rel, req.Expect)
	if err != nil {
		return nil, err
	}
	info.Name = req.Rel
	return &agentproto.Result{Entry: info}, nil
}
