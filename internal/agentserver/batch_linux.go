package agentserver

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// startBatch runs a ReadBatch, HashBatch or WriteBatch like dispatch runs the other
// requests: registered under its id (for Cancel and, for a write, its
// data), answered from a goroutine.
func (s *server) startBatch(ctx context.Context, f agentproto.Frame) error {
	b, err := agentproto.DecodeBatchRequest(f.Payload)
	if err != nil {
		return fmt.Errorf("%s request %d: %w", f.Type, f.ID, err)
	}
	write := f.Type == agentproto.TWriteBatch
	rctx, rq, err := s.register(ctx, f.ID, write)
	if err != nil {
		return err
	}
	cancel := rq.cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		var n uint64
		var err error
		if write {
			// Paced by the client's data, like a single write: no slot.
			n, err = s.writeBatch(rctx, f.ID, &b, rq)
		} else {
			select {
			case s.sem <- struct{}{}:
				n, err = s.readBatch(rctx, f.ID, &b, f.Type == agentproto.THashBatch)
				<-s.sem
			case <-rctx.Done():
				err = rctx.Err()
			}
			s.mu.Lock()
			delete(s.reqs, f.ID)
			s.mu.Unlock()
		}
		if err != nil {
			_ = s.w.Write(agentproto.TError, f.ID, toError(err).Encode())
		} else {
			_ = s.w.Write(agentproto.TResult, f.ID, (&agentproto.Result{Count: n}).Encode())
		}
		if write {
			for range rq.data { // until End, as for a failed single write
			}
		}
	}()
	return nil
}

// failed fills an item with a file's error.
func failed(it *agentproto.BatchItem, err error) {
	e := toError(err)
	it.Failed, it.Code, it.Message = true, e.Code, e.Message
}

// readBatch reads each file whole, pinned to the identity the walk
// listed: one that differs at open, or whose size, mtime or ctime moved
// while it was read, or that holds more bytes than listed, is that item's
// identity error and sends no bytes. hashOnly sends no bytes at all, only
// each file's digest and identity.
func (s *server) readBatch(ctx context.Context, id uint32, b *agentproto.BatchRequest, hashOnly bool) (uint64, error) {
	r, release, err := s.root(&agentproto.Request{Root: b.Root}, false)
	if err != nil {
		return 0, err
	}
	defer release()
	buf := make([]byte, agentproto.MaxBatchFileSize+1)
	var sent uint64
	for i, bf := range b.Files {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		it := agentproto.BatchItem{Index: uint32(i)}
		if err := readOne(r, bf, buf, &it); err != nil {
			failed(&it, err)
			it.Data = nil
		}
		if hashOnly {
			it.Data = nil
		}
		if err := s.w.Write(agentproto.TBatchItem, id, it.Encode()); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

func readOne(r *rootfs.Root, bf agentproto.BatchFile, buf []byte, it *agentproto.BatchItem) error {
	want := bf.Expect
	f, err := r.OpenFile(bf.Rel, &want)
	if err != nil {
		return err
	}
	defer f.Close()
	// One byte past the listed size tells a file that grew.
	n, err := io.ReadFull(io.NewSectionReader(f, 0, want.Size+1), buf[:want.Size+1])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("read %s: %w", f.Name(), err)
	}
	before := f.Info()
	after, err := f.Restat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	if int64(n) != want.Size || after.Size != before.Size || after.MtimeNs != before.MtimeNs || after.CtimeNs != before.CtimeNs {
		got := after.Identity()
		if int64(n) != want.Size {
			got.Size = int64(n) // the bytes there were while read
		}
		return &rootfs.IdentityError{Path: f.Name(), Want: want, Got: got}
	}
	it.Entry = before
	it.Entry.Name = bf.Rel
	it.Size = int64(n)
	it.SHA256 = sha256.Sum256(buf[:n])
	it.Data = buf[:n]
	return nil
}

// syncGroup bounds the temporary files a write batch holds open at once:
// their fsyncs run together, so that the file system can commit them in
// one journal transaction rather than one after another.
const syncGroup = 64

// staged is a write batch's file between its bytes and its rename.
type staged struct {
	bf   agentproto.BatchFile
	name string
	d    *rootfs.Dir
	tf   *rootfs.TempFile
	it   agentproto.BatchItem
	err  error
}

// writeBatch places each file from its one Chunk. Directory handles are
// opened once per parent within the batch; each commit checks that its
// handle is still what the parent's name holds.
func (s *server) writeBatch(ctx context.Context, id uint32, b *agentproto.BatchRequest, rq *request) (uint64, error) {
	r, release, err := s.root(&agentproto.Request{Root: b.Root}, true)
	if err != nil {
		return 0, err
	}
	defer release()
	dirs := map[string]*rootfs.Dir{}
	dirErr := map[string]error{}
	group := make([]*staged, 0, syncGroup)
	defer func() {
		for _, st := range group {
			if st.tf != nil {
				st.tf.Close()
			}
		}
		for _, d := range dirs {
			d.Close()
		}
	}()
	var sent uint64
	flush := func() error {
		if b.Fsync {
			var wg sync.WaitGroup
			for _, st := range group {
				if st.err == nil {
					wg.Go(func() {
						if err := st.tf.Sync(); err != nil {
							st.err = fmt.Errorf("fsync %s: %w", st.bf.Rel, err)
						}
					})
				}
			}
			wg.Wait()
		}
		for _, st := range group {
			if st.err == nil {
				st.err = commitOne(st)
			}
			if st.tf != nil {
				st.tf.Close()
				st.tf = nil
			}
			if st.err != nil {
				failed(&st.it, st.err)
			}
			if err := s.w.Write(agentproto.TBatchItem, id, st.it.Encode()); err != nil {
				return err
			}
			sent++
		}
		group = group[:0]
		return nil
	}
	for i, bf := range b.Files {
		var p []byte
		select {
		case <-ctx.Done():
			return sent, ctx.Err()
		case q, ok := <-rq.data:
			if !ok {
				if err := ctx.Err(); err != nil {
					return sent, err
				}
				return sent, fmt.Errorf("%w: write batch ended after %d of %d files", errProtocol, i, len(b.Files))
			}
			p = q
		}
		if int64(len(p)) != bf.Size {
			return sent, fmt.Errorf("%w: write batch file %q announced %d bytes, its chunk holds %d", errProtocol, bf.Rel, bf.Size, len(p))
		}
		st := &staged{bf: bf, name: bf.Rel, it: agentproto.BatchItem{Index: uint32(i)}}
		parent := ""
		if j := lastSlash(bf.Rel); j >= 0 {
			parent, st.name = bf.Rel[:j], bf.Rel[j+1:]
		}
		d, derr := dirs[parent], dirErr[parent]
		if d == nil && derr == nil {
			if d, derr = r.OpenDir(parent); derr != nil {
				dirErr[parent] = derr
			} else {
				dirs[parent] = d
			}
		}
		st.d, st.err = d, derr
		if st.err == nil {
			st.err = stageOne(st, p)
		}
		group = append(group, st)
		if len(group) == syncGroup {
			if err := flush(); err != nil {
				return sent, err
			}
		}
	}
	if err := flush(); err != nil {
		return sent, err
	}
	// The client ends the data with End.
	select {
	case <-ctx.Done():
		return sent, ctx.Err()
	case _, ok := <-rq.data:
		if ok {
			return sent, fmt.Errorf("%w: write batch sent more chunks than its %d files", errProtocol, len(b.Files))
		}
	}
	return sent, nil
}

// stageOne writes a file's bytes into a new temporary file and sets its
// metadata through the descriptor.
func stageOne(st *staged, p []byte) error {
	if err := rootfs.CheckName(st.name); err != nil {
		return err
	}
	tf, err := st.d.CreateTemp()
	if err != nil {
		return err
	}
	st.tf = tf
	if _, err := tf.Write(p); err != nil {
		return fmt.Errorf("write %s: %w", st.bf.Rel, err)
	}
	if err := tf.SetMeta(st.bf.Meta); err != nil {
		return fmt.Errorf("set meta of %s: %w", st.bf.Rel, err)
	}
	return nil
}

// commitOne renames a staged file into place and describes it.
func commitOne(st *staged) error {
	tf := st.tf
	fi, err := tf.Stat()
	if err != nil {
		return err
	}
	if err := st.d.StillAt(); err != nil {
		return err
	}
	if err := tf.Commit(st.name); err != nil {
		return err
	}
	// The rename moved its ctime: describe the file as it stands, and
	// only if the name still holds what was written.
	now, err := st.d.Lstat(st.name)
	if err != nil {
		return err
	}
	if now.Type != rootfs.TypeFile || now.Dev != fi.Dev || now.Ino != fi.Ino || now.Size != tf.Size() {
		return &rootfs.IdentityError{Path: st.bf.Rel, Want: fi.Identity(), Got: now.Identity()}
	}
	now.Name = st.bf.Rel
	st.it.Entry, st.it.Size, st.it.SHA256 = now, tf.Size(), tf.Sum()
	return nil
}
