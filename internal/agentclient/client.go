package agentclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"syscall"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Client is a connection to one agent.
type Client struct {
	w       *agentproto.Writer
	closer  io.Closer
	hello   agentproto.Hello
	mu      sync.Mutex
	next    uint32
	pending map[uint32]*call
	err     error // why the connection ended
	done    chan struct{}
}

type frame struct {
	t agentproto.Type
	p []byte
}

type call struct {
	id   uint32
	ch   chan frame
	gone chan struct{} // closed when the caller stops listening
}

// ErrClosed is returned by calls after the connection ended.
var ErrClosed = errors.New("agent connection closed")

// New reads the agent's greeting from r and checks it; w carries requests
// and is closed by Close (the agent exits when its stdin ends). ctx bounds
// the wait for the greeting.
func New(ctx context.Context, r io.Reader, w io.WriteCloser) (*Client, error) {
	fr := agentproto.NewReader(r)
	type hello struct {
		h   agentproto.Hello
		err error
	}
	got := make(chan hello, 1)
	go func() {
		if err := fr.ReadMagic(); err != nil {
			got <- hello{err: err}
			return
		}
		f, err := fr.Read()
		if err != nil {
			got <- hello{err: fmt.Errorf("reading the agent's hello: %w", err)}
			return
		}
		if f.Type != agentproto.THello {
			got <- hello{err: fmt.Errorf("agent opened with a %s frame instead of hello", f.Type)}
			return
		}
		h, err := agentproto.DecodeHello(f.Payload)
		got <- hello{h, err}
	}()
	var h hello
	select {
	case h = <-got:
	case <-ctx.Done():
		w.Close()
		return nil, fmt.Errorf("waiting for the agent's hello: %w", ctx.Err())
	}
	if h.err != nil {
		w.Close()
		return nil, h.err
	}
	c := &Client{w: agentproto.NewWriter(w), closer: w, hello: h.h, pending: map[uint32]*call{}, done: make(chan struct{})}
	go c.readLoop(fr)
	return c, nil
}

// Hello is what the agent said about itself.
func (c *Client) Hello() agentproto.Hello { return c.hello }

// Close ends the session: the agent sees its input end and exits. Calls in
// flight fail with ErrClosed.
func (c *Client) Close() error { return c.w.CloseWith(c.closer) }

// Done is closed when the connection has ended; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) readLoop(fr *agentproto.Reader) {
	var err error
	for {
		var f agentproto.Frame
		f, err = fr.Read()
		if err != nil {
			break
		}
		c.mu.Lock()
		cl := c.pending[f.ID]
		last := f.Type == agentproto.TResult || f.Type == agentproto.TError || f.Type == agentproto.TMetaResult
		if last {
			delete(c.pending, f.ID)
		}
		c.mu.Unlock()
		if cl == nil {
			continue // answer to a call its caller gave up on
		}
		select {
		case cl.ch <- frame{f.Type, append([]byte(nil), f.Payload...)}:
		case <-cl.gone:
		}
	}
	if err == io.EOF {
		err = ErrClosed
	} else {
		err = fmt.Errorf("%w: %v", ErrClosed, err)
	}
	c.mu.Lock()
	c.err = err
	pend := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, cl := range pend {
		close(cl.ch)
	}
	close(c.done)
}

func (c *Client) start(t agentproto.Type, req *agentproto.Request) (*call, error) {
	return c.startPayload(t, req.Encode())
}

// startPayload sends a request whose payload is already encoded.
func (c *Client) startPayload(t agentproto.Type, payload []byte) (*call, error) {
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.next++
	cl := &call{id: c.next, ch: make(chan frame, 16), gone: make(chan struct{})}
	c.pending[cl.id] = cl
	c.mu.Unlock()
	if err := c.w.Write(t, cl.id, payload); err != nil {
		c.abandon(cl)
		return nil, fmt.Errorf("sending %s to the agent: %w", t, err)
	}
	return cl, nil
}

// abandon stops listening to a call; later frames for it are dropped.
func (c *Client) abandon(cl *call) {
	c.mu.Lock()
	if c.pending != nil {
		delete(c.pending, cl.id)
	}
	c.mu.Unlock()
	select {
	case <-cl.gone:
	default:
		close(cl.gone)
	}
}

// cancel asks the agent to stop a call and stops listening to it.
func (c *Client) cancel(cl *call) {
	_ = c.w.Write(agentproto.TCancel, cl.id, nil)
	c.abandon(cl)
}

// next returns the call's next frame; stream frames are returned as they
// are, a Result decoded into res, an Error as error.
func (c *Client) recv(ctx context.Context, cl *call, op, rel string) (frame, *agentproto.Result, error) {
	select {
	case f, ok := <-cl.ch:
		if !ok {
			return frame{}, nil, fmt.Errorf("agent %s %q: %w", op, rel, c.Err())
		}
		switch f.t {
		case agentproto.TResult:
			res, err := agentproto.DecodeResult(f.p)
			if err != nil {
				return frame{}, nil, fmt.Errorf("agent %s %q: %w", op, rel, err)
			}
			return f, &res, nil
		case agentproto.TError:
			e, err := agentproto.DecodeError(f.p)
			if err != nil {
				return frame{}, nil, fmt.Errorf("agent %s %q: %w", op, rel, err)
			}
			return frame{}, nil, &Error{Op: op, Rel: rel, Code: e.Code, Message: e.Message}
		}
		return f, nil, nil
	case <-ctx.Done():
		c.cancel(cl)
		return frame{}, nil, fmt.Errorf("agent %s %q: %w", op, rel, ctx.Err())
	}
}

// do runs a request that answers with one Result.
func (c *Client) do(ctx context.Context, t agentproto.Type, req *agentproto.Request) (*agentproto.Result, error) {
	cl, err := c.start(t, req)
	if err != nil {
		return nil, err
	}
	f, res, err := c.recv(ctx, cl, t.String(), req.Rel)
	if err != nil {
		return nil, err
	}
	if res == nil {
		c.cancel(cl)
		return nil, fmt.Errorf("agent %s %q: unexpected %s frame", t, req.Rel, f.t)
	}
	return res, nil
}

// ErrReadOnlyRoot is what errors.Is finds when a change was asked of a
// root opened as a source.
var ErrReadOnlyRoot = errors.New("root opened as a source takes no changes")

// Error is a failure the agent reported; errors.Is maps its code to
// fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, rootfs.ErrIdentityMismatch,
// rootfs.ErrOutsideRoot, rootfs.ErrInvalidName, rootfs.ErrDirMoved,
// ErrReadOnlyRoot and context.Canceled.
type Error struct {
	Op      string
	Rel     string
	Code    agentproto.Code
	Message string // the agent's message, naming the path on the host
}

func (e *Error) Error() string {
	msg := "agent " + e.Op + ": " + e.Message
	switch e.Code {
	case agentproto.CodeSymlink:
		msg += " (a symlink stands where a directory or file is needed: nothing below a copy root is looked up through a symlink)"
	case agentproto.CodeIdentity, agentproto.CodeOutsideRoot, agentproto.CodeDirMoved:
		msg += " (the tree changed under the copy: list it again)"
	}
	return msg
}

// Is maps the agent's error code to the matching sentinel.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case agentproto.CodeNotExist:
		return target == fs.ErrNotExist
	case agentproto.CodeExist:
		return target == fs.ErrExist
	case agentproto.CodePermission:
		return target == fs.ErrPermission
	case agentproto.CodeIdentity:
		return target == rootfs.ErrIdentityMismatch
	case agentproto.CodeOutsideRoot:
		return target == rootfs.ErrOutsideRoot
	case agentproto.CodeInvalidName:
		return target == rootfs.ErrInvalidName
	case agentproto.CodeDirMoved:
		return target == rootfs.ErrDirMoved
	case agentproto.CodeReadOnlyRoot:
		return target == ErrReadOnlyRoot
	case agentproto.CodeCanceled:
		return target == context.Canceled
	case agentproto.CodeSymlink:
		return target == syscall.ELOOP
	case agentproto.CodeNotDir:
		return target == syscall.ENOTDIR
	case agentproto.CodeCannotLink:
		return target == rootfs.ErrCannotLink
	}
	return false
}
