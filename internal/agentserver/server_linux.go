package agentserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"runtime"
	"sync"
	"syscall"

	"crypto/sha256"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Version is the agent's own version, reported in the Hello.
const Version = "1.0.0"

// Options tune Serve.
type Options struct {
	// Root are the rootfs options every OpenRoot uses (tests force the
	// fallback resolver with them).
	Root rootfs.Options
	// Workers bounds requests that read or hash at once (default 8).
	Workers int
	// Log receives diagnostics; nil discards them. Never the protocol stream.
	Log *log.Logger
	// Etc is the directory of the passwd and group files Accounts reads
	// ("" is /etc; tests give their own).
	Etc string
}

// MaxInFlight bounds the requests a client may have open at once.
const MaxInFlight = 4096

type request struct {
	cancel context.CancelFunc
	data   chan []byte // Write: chunks from the client, closed at End
	holes  chan int64  // Write: the length of each hole marked in data (sparse.go)
}

type server struct {
	o     Options
	w     *agentproto.Writer
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	roots map[uint32]*openRoot
	next  uint32
	reqs  map[uint32]*request
	runs  running // ranges.go
}

// openRoot is counted while requests use it: CloseRoot only closes the
// descriptor once the last one is done, so that its number cannot be
// reused by another open while a lookup still resolves beneath it.
type openRoot struct {
	r      *rootfs.Root
	role   agentproto.Role
	refs   int
	closed bool
}

// Hello is what this agent says first.
func Hello(o Options) agentproto.Hello {
	return agentproto.Hello{Proto: agentproto.Version, AgentVersion: Version, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		UID: uint32(os.Getuid()), EUID: uint32(os.Geteuid()), Openat2: !o.Root.NoOpenat2 && rootfs.Openat2Available()}
}

// Serve speaks the protocol on in/out until in ends (nil) or a protocol
// error (returned). Open roots are closed on return.
func Serve(ctx context.Context, in io.Reader, out io.Writer, o Options) error {
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Log == nil {
		o.Log = log.New(io.Discard, "", 0)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &server{o: o, w: agentproto.NewWriter(out), sem: make(chan struct{}, o.Workers),
		roots: map[uint32]*openRoot{}, reqs: map[uint32]*request{}}
	defer func() {
		cancel()
		s.mu.Lock()
		for _, rq := range s.reqs {
			if rq.data != nil {
				close(rq.data)
			}
		}
		s.reqs = map[uint32]*request{}
		s.mu.Unlock()
		s.wg.Wait()
		for _, r := range s.roots {
			r.r.Close()
		}
	}()
	if err := s.w.WriteRaw([]byte(agentproto.Magic)); err != nil {
		return err
	}
	if err := s.w.Write(agentproto.THello, 0, Hello(o).Encode()); err != nil {
		return err
	}
	fr := agentproto.NewReader(in)
	for {
		f, err := fr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading requests: %w", err)
		}
		if err := s.dispatch(ctx, f); err != nil {
			o.Log.Printf("protocol error: %v", err)
			return err
		}
	}
}

func (s *server) dispatch(ctx context.Context, f agentproto.Frame) error {
	switch {
	case f.Type == agentproto.TChunk || f.Type == agentproto.TEnd:
		s.mu.Lock()
		rq := s.reqs[f.ID]
		s.mu.Unlock()
		if rq == nil || rq.data == nil {
			return nil // the write already failed or was canceled: drop its data
		}
		if f.Type == agentproto.TEnd {
			s.mu.Lock()
			delete(s.reqs, f.ID)
			s.mu.Unlock()
			close(rq.data)
			return nil
		}
		rq.data <- append([]byte(nil), f.Payload...)
		return nil
	case f.Type == agentproto.THole:
		return s.hole(f)
	case f.Type == agentproto.TCancel:
		s.mu.Lock()
		rq := s.reqs[f.ID]
		s.mu.Unlock()
		if rq != nil {
			rq.cancel()
		}
		return nil
	case !f.Type.IsRequest():
		return fmt.Errorf("agent protocol: a client may not send a %s frame", f.Type)
	case f.Type.IsBatch():
		return s.startBatch(ctx, f)
	case f.Type.IsMetaRequest():
		return s.startMeta(ctx, f)
	}
	req, err := agentproto.DecodeRequest(f.Payload)
	if err != nil {
		return fmt.Errorf("%s request %d: %w", f.Type, f.ID, err)
	}
	rctx, rq, err := s.register(ctx, f.ID, f.Type == agentproto.TWrite || f.Type == agentproto.TWriteRange)
	if err != nil {
		return err
	}
	if f.Type == agentproto.TWrite {
		rq.holes = make(chan int64, cap(rq.data))
	}
	cancel := rq.cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		// Reads and hashes take a worker slot; a write is paced by its
		// client's data and must not wait behind others for one, or the
		// data of writes holding slots could queue behind it.
		if rq.data == nil {
			select {
			case s.sem <- struct{}{}:
				defer func() { <-s.sem }()
			case <-rctx.Done():
			}
		}
		var res *agentproto.Result
		var err error
		if rctx.Err() != nil {
			err = rctx.Err()
		} else {
			res, err = s.handle(rctx, f.Type, f.ID, &req, rq)
		}
		if rq.data == nil {
			s.mu.Lock()
			delete(s.reqs, f.ID)
			s.mu.Unlock()
		}
		if err != nil {
			_ = s.w.Write(agentproto.TError, f.ID, toError(err).Encode())
		} else {
			_ = s.w.Write(agentproto.TResult, f.ID, res.Encode())
		}
		if rq.data != nil {
			// A failed write's client stops sending at the error and ends
			// with End: drop what is still on the way until then.
			for p := range rq.data {
				if isHole(p) {
					<-rq.holes // queued before its mark
				}
			}
		}
	}()
	return nil
}

// toError classifies an error for the client.
func toError(err error) *agentproto.Error {
	c := agentproto.CodeOther
	var errno syscall.Errno
	switch {
	case errors.Is(err, rootfs.ErrCannotLink):
		c = agentproto.CodeCannotLink
	case errors.Is(err, rootfs.ErrIdentityMismatch):
		c = agentproto.CodeIdentity
	case errors.Is(err, rootfs.ErrOutsideRoot), errors.Is(err, syscall.EXDEV):
		c = agentproto.CodeOutsideRoot
	case errors.Is(err, rootfs.ErrInvalidName):
		c = agentproto.CodeInvalidName
	case errors.Is(err, rootfs.ErrDirMoved):
		c = agentproto.CodeDirMoved
	case errors.Is(err, errReadOnly):
		c = agentproto.CodeReadOnlyRoot
	case errors.Is(err, context.Canceled):
		c = agentproto.CodeCanceled
	case errors.Is(err, errProtocol):
		c = agentproto.CodeProtocol
	case errors.As(err, &errno):
		switch errno {
		case syscall.ENOENT:
			c = agentproto.CodeNotExist
		case syscall.EEXIST:
			c = agentproto.CodeExist
		case syscall.ELOOP:
			c = agentproto.CodeSymlink
		case syscall.ENOTDIR:
			c = agentproto.CodeNotDir
		case syscall.EISDIR:
			c = agentproto.CodeIsDir
		case syscall.ENOTEMPTY:
			c = agentproto.CodeNotEmpty
		case syscall.EACCES, syscall.EPERM:
			c = agentproto.CodePermission
		case syscall.ENOSPC, syscall.EDQUOT:
			c = agentproto.CodeNoSpace
		case syscall.EROFS:
			c = agentproto.CodeReadOnlyFS
		}
	case errors.Is(err, fs.ErrNotExist):
		c = agentproto.CodeNotExist
	}
	return &agentproto.Error{Code: c, Message: err.Error()}
}

var (
	errReadOnly = errors.New("the root was opened as a source: it takes no changes")
	errProtocol = errors.New("malformed request")
)

func (s *server) root(req *agentproto.Request, change bool) (*rootfs.Root, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.roots[req.Root]
	if r == nil {
		return nil, nil, fmt.Errorf("%w: no open root with handle %d", errProtocol, req.Root)
	}
	if change && r.role != agentproto.RoleTarget {
		return nil, nil, fmt.Errorf("%s: %w", r.r.Path(), errReadOnly)
	}
	r.refs++
	return r.r, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		r.refs--
		if r.refs == 0 && r.closed {
			r.r.Close()
		}
	}, nil
}

func (s *server) handle(ctx context.Context, t agentproto.Type, id uint32, req *agentproto.Request, rq *request) (*agentproto.Result, error) {
	switch t {
	case agentproto.TOpenRoot:
		if req.Role != agentproto.RoleSource && req.Role != agentproto.RoleTarget {
			return nil, fmt.Errorf("%w: open root with %s", errProtocol, req.Role)
		}
		r, err := rootfs.OpenWith(req.Path, s.o.Root)
		if err != nil {
			return nil, err
		}
		info, err := r.Lstat("")
		if err != nil {
			r.Close()
			return nil, err
		}
		s.mu.Lock()
		s.next++
		h := s.next
		s.roots[h] = &openRoot{r: r, role: req.Role}
		s.mu.Unlock()
		s.o.Log.Printf("opened %s root %s (handle %d, openat2 %v)", req.Role, req.Path, h, r.UsesOpenat2())
		return &agentproto.Result{Root: h, Entry: info, Openat2: r.UsesOpenat2()}, nil
	case agentproto.TCloseRoot:
		s.mu.Lock()
		defer s.mu.Unlock()
		r := s.roots[req.Root]
		delete(s.roots, req.Root)
		if r == nil {
			return nil, fmt.Errorf("%w: no open root with handle %d", errProtocol, req.Root)
		}
		r.closed = true
		if r.refs == 0 {
			return &agentproto.Result{}, r.r.Close()
		}
		return &agentproto.Result{}, nil
	case agentproto.TList:
		return s.list(ctx, id, req)
	case agentproto.TLstat:
		r, release, err := s.root(req, false)
		if err != nil {
			return nil, err
		}
		defer release()
		info, err := r.Lstat(req.Rel)
		info.Name = req.Rel
		return &agentproto.Result{Entry: info}, err
	case agentproto.TRead:
		return s.read(ctx, id, req, true)
	case agentproto.THash, agentproto.TReadSparse:
		return s.readSparse(ctx, id, req, t == agentproto.TReadSparse)
	case agentproto.TFirstHole:
		return s.firstHole(req)
	case agentproto.TLink:
		return s.link(req)
	case agentproto.TWrite:
		return s.write(ctx, req, rq)
	case agentproto.TSums, agentproto.TWriteRange, agentproto.TCommitPartial, agentproto.THashPartial:
		return s.big(ctx, t, req, rq)
	case agentproto.TReadlink:
		r, release, err := s.root(req, false)
		if err != nil {
			return nil, err
		}
		defer release()
		tgt, err := r.Readlink(req.Rel)
		return &agentproto.Result{Target: tgt}, err
	case agentproto.TStatfs:
		r, release, err := s.root(req, false)
		if err != nil {
			return nil, err
		}
		defer release()
		st, err := r.Statfs(req.Rel)
		return &agentproto.Result{Statfs: st}, err
	}
	// The rest change the target.
	r, release, err := s.root(req, true)
	if err != nil {
		return nil, err
	}
	defer release()
	switch t {
	case agentproto.TMkdir:
		err = r.Mkdir(req.Rel, req.Mode)
	case agentproto.TSymlink:
		err = r.Symlink(req.Path, req.Rel)
	case agentproto.TRemove:
		if req.Recursive {
			err = r.RemoveAll(req.Rel)
		} else {
			err = r.Remove(req.Rel)
		}
	case agentproto.TSetMeta:
		err = r.SetMeta(req.Rel, req.Meta)
	default:
		err = fmt.Errorf("%w: unknown request %s", errProtocol, t)
	}
	return &agentproto.Result{}, err
}

// list streams entries in frames of up to entriesBytes.
const entriesBytes = 256 << 10

func (s *server) list(ctx context.Context, id uint32, req *agentproto.Request) (*agentproto.Result, error) {
	r, release, err := s.root(req, false)
	if err != nil {
		return nil, err
	}
	defer release()
	var e agentproto.Enc
	var n, total uint32
	var count uint64
	flush := func() error {
		if n == 0 {
			return nil
		}
		p := e.B
		p[0], p[1], p[2], p[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		err := s.w.Write(agentproto.TEntries, id, p)
		e.B, n = e.B[:4], 0
		return err
	}
	e.U32(0)
	emit := func(i rootfs.Info) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(e.B)+agentproto.EntrySize(i.Name) > entriesBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		agentproto.EncodeEntry(&e, i)
		n++
		total++
		count++
		return nil
	}
	if req.Recursive {
		err = r.Walk(req.Rel, emit)
	} else {
		var l []rootfs.Info
		l, err = r.List(req.Rel)
		for _, i := range l {
			if err != nil {
				break
			}
			if req.Rel != "" && req.Rel != "." {
				i.Name = req.Rel + "/" + i.Name
			}
			err = emit(i)
		}
	}
	if err == nil {
		err = flush()
	}
	return &agentproto.Result{Count: count}, err
}

func (s *server) read(ctx context.Context, id uint32, req *agentproto.Request, stream bool) (*agentproto.Result, error) {
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
	off, length := req.Offset, req.Length
	if !stream {
		off, length = 0, -1
	}
	if off < 0 || length < -1 {
		return nil, fmt.Errorf("%w: read %s at %d for %d bytes", errProtocol, req.Rel, off, length)
	}
	if length == -1 {
		length = 1<<63 - 1 - off
	}
	h := sha256.New()
	buf := make([]byte, agentproto.ChunkSize)
	var done int64
	for done < length {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := int64(len(buf))
		if length-done < want {
			want = length - done
		}
		n, rerr := f.ReadAt(buf[:want], off+done)
		if n > 0 {
			h.Write(buf[:n])
			done += int64(n)
			if stream {
				if err := s.w.Write(agentproto.TChunk, id, buf[:n]); err != nil {
					return nil, err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("read %s: %w", f.Name(), rerr)
		}
	}
	res := &agentproto.Result{Entry: f.Info(), Size: done}
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

func (s *server) write(ctx context.Context, req *agentproto.Request, rq *request) (*agentproto.Result, error) {
	r, release, err := s.root(req, true)
	if err != nil {
		return nil, err
	}
	defer release()
	parent, name := "", req.Rel
	if i := lastSlash(req.Rel); i >= 0 {
		parent, name = req.Rel[:i], req.Rel[i+1:]
	}
	if err := rootfs.CheckName(name); err != nil {
		return nil, err
	}
	d, err := r.OpenDir(parent)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	tf, err := d.CreateTemp()
	if err != nil {
		return nil, err
	}
	defer tf.Close() // removes it unless committed
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case p, ok := <-rq.data:
			if !ok {
				// End after Cancel (the client's data failed): both are
				// ready here, and the cancel must win.
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				return s.commit(req, d, tf, name)
			}
			if isHole(p) {
				if err := tf.WriteHole(<-rq.holes); err != nil {
					return nil, fmt.Errorf("write %s: leave a hole: %w", req.Rel, err)
				}
				continue
			}
			if _, err := tf.Write(p); err != nil {
				return nil, fmt.Errorf("write %s: %w", req.Rel, err)
			}
		}
	}
}

func (s *server) commit(req *agentproto.Request, d *rootfs.Dir, tf *rootfs.TempFile, name string) (*agentproto.Result, error) {
	if req.Fsync {
		if err := tf.Sync(); err != nil {
			return nil, fmt.Errorf("fsync %s: %w", req.Rel, err)
		}
	}
	if err := tf.SetMeta(req.Meta); err != nil {
		return nil, fmt.Errorf("set meta of %s: %w", req.Rel, err)
	}
	// A parent moved away (out of the root, say) while written is refused
	// here rather than given the file.
	if err := d.StillAt(); err != nil {
		return nil, err
	}
	if err := tf.Commit(name); err != nil {
		return nil, err
	}
	return &agentproto.Result{Size: tf.Size(), SHA256: tf.Sum()}, nil
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// register starts request id: its context, and for a request that takes
// the client's data, the channel that data arrives on. A reused id or one
// request too many is a protocol error.
func (s *server) register(ctx context.Context, id uint32, takesData bool) (context.Context, *request, error) {
	rctx, cancel := context.WithCancel(ctx)
	rq := &request{cancel: cancel}
	if takesData {
		rq.data = make(chan []byte, 8)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.reqs[id]; dup || len(s.reqs) >= MaxInFlight {
		cancel()
		return nil, nil, fmt.Errorf("agent protocol: request id %d reused or more than %d requests in flight", id, MaxInFlight)
	}
	s.reqs[id] = rq
	return rctx, rq, nil
}
