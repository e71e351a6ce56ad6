package agentclient

import (
	"context"
	"fmt"
	"io"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Root is a copy root the agent holds open; every name below is resolved
// beneath it on the host.
type Root struct {
	c       *Client
	handle  uint32
	Path    string
	Role    agentproto.Role
	Info    rootfs.Info // the root directory as opened
	Openat2 bool        // the agent resolves names with openat2
}

// OpenRoot opens an absolute directory on the host as a root. A source
// root takes only reads (List, Lstat, Read, Hash, Readlink, Statfs).
func (c *Client) OpenRoot(ctx context.Context, path string, role agentproto.Role) (*Root, error) {
	res, err := c.do(ctx, agentproto.TOpenRoot, &agentproto.Request{Path: path, Role: role})
	if err != nil {
		return nil, err
	}
	return &Root{c: c, handle: res.Root, Path: path, Role: role, Info: res.Entry, Openat2: res.Openat2}, nil
}

// Close releases the root on the agent.
func (r *Root) Close(ctx context.Context) error {
	_, err := r.c.do(ctx, agentproto.TCloseRoot, &agentproto.Request{Root: r.handle})
	return err
}

func (r *Root) req(rel string) *agentproto.Request {
	return &agentproto.Request{Root: r.handle, Rel: rel}
}

// List calls fn for the entries of the directory rel ("" is the root):
// its children, or with recursive everything below it, parents first and
// siblings by name. Names are relative to the root. It returns the count.
// An error from fn stops the listing and is returned.
func (r *Root) List(ctx context.Context, rel string, recursive bool, fn func(rootfs.Info) error) (uint64, error) {
	q := r.req(rel)
	q.Recursive = recursive
	cl, err := r.c.start(agentproto.TList, q)
	if err != nil {
		return 0, err
	}
	for {
		f, res, err := r.c.recv(ctx, cl, "list", rel)
		if err != nil {
			return 0, err
		}
		if res != nil {
			return res.Count, nil
		}
		if f.t != agentproto.TEntries {
			r.c.cancel(cl)
			return 0, fmt.Errorf("agent list %q: unexpected %s frame", rel, f.t)
		}
		if err := agentproto.DecodeEntries(f.p, func(i rootfs.Info) error {
			// The host is not trusted: a name that is not a plain relative
			// path below rel never reaches the caller.
			if comps, err := rootfs.Split(i.Name); err != nil || len(comps) == 0 || !below(i.Name, rel) {
				return fmt.Errorf("agent list %q: the agent sent the name %q, which is not below it", rel, i.Name)
			}
			return fn(i)
		}); err != nil {
			r.c.cancel(cl)
			return 0, err
		}
	}
}

// Lstat describes rel without following a symlink.
func (r *Root) Lstat(ctx context.Context, rel string) (rootfs.Info, error) {
	res, err := r.c.do(ctx, agentproto.TLstat, r.req(rel))
	if err != nil {
		return rootfs.Info{}, err
	}
	return res.Entry, nil
}

// ReadResult is what a Read or Hash saw.
type ReadResult struct {
	Size    int64       // bytes read
	SHA256  [32]byte    // of the bytes read
	Info    rootfs.Info // the file at open
	Changed bool        // size, mtime or ctime moved while it was read
}

func readResult(res *agentproto.Result) ReadResult {
	return ReadResult{Size: res.Size, SHA256: res.SHA256, Info: res.Entry, Changed: res.Changed}
}

// Read streams length bytes (-1: to the end) of the regular file rel from
// offset into w. With expect set, a file whose identity differs is refused
// (errors.Is(err, rootfs.ErrIdentityMismatch)) before a byte is sent.
func (r *Root) Read(ctx context.Context, rel string, expect *rootfs.Identity, offset, length int64, w io.Writer) (ReadResult, error) {
	q := r.req(rel)
	q.Expect, q.Offset, q.Length = expect, offset, length
	cl, err := r.c.start(agentproto.TRead, q)
	if err != nil {
		return ReadResult{}, err
	}
	for {
		f, res, err := r.c.recv(ctx, cl, "read", rel)
		if err != nil {
			return ReadResult{}, err
		}
		if res != nil {
			return readResult(res), nil
		}
		if f.t != agentproto.TChunk {
			r.c.cancel(cl)
			return ReadResult{}, fmt.Errorf("agent read %q: unexpected %s frame", rel, f.t)
		}
		if _, err := w.Write(f.p); err != nil {
			r.c.cancel(cl)
			return ReadResult{}, fmt.Errorf("agent read %q: %w", rel, err)
		}
	}
}

// Hash returns the SHA-256 of the whole regular file rel, computed on the
// host; expect as for Read.
func (r *Root) Hash(ctx context.Context, rel string, expect *rootfs.Identity) (ReadResult, error) {
	q := r.req(rel)
	q.Expect = expect
	res, err := r.c.do(ctx, agentproto.THash, q)
	if err != nil {
		return ReadResult{}, err
	}
	return readResult(res), nil
}

// WriteOptions are applied to a written file before it is renamed into place.
type WriteOptions struct {
	Meta  rootfs.Meta
	Fsync bool
}

// WriteResult is what the agent wrote.
type WriteResult struct {
	Size   int64
	SHA256 [32]byte // of the bytes the agent wrote
}

// Write creates or replaces the file rel with src's bytes: the agent
// writes a temporary file in rel's parent directory handle, optionally
// fsyncs it, sets o.Meta by descriptor and renames it into place.
func (r *Root) Write(ctx context.Context, rel string, src io.Reader, o WriteOptions) (WriteResult, error) {
	q := r.req(rel)
	q.Meta, q.Fsync = o.Meta, o.Fsync
	res, err := r.stream(ctx, agentproto.TWrite, q, rel, src)
	if err != nil {
		return WriteResult{}, err
	}
	return WriteResult{Size: res.Size, SHA256: res.SHA256}, nil
}

// stream sends src's bytes as the data of a request of type t (Write,
// WriteRange) and returns its answer.
func (r *Root) stream(ctx context.Context, t agentproto.Type, q *agentproto.Request, rel string, src io.Reader) (*agentproto.Result, error) {
	cl, err := r.c.start(t, q)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, agentproto.ChunkSize)
	var early *frame
	var srcErr error
send:
	for {
		select {
		case f := <-cl.ch: // an answer before End: the agent failed the write
			early = &f
			break send
		case <-ctx.Done():
			r.c.cancel(cl)
			_ = r.c.w.Write(agentproto.TEnd, cl.id, nil)
			return nil, fmt.Errorf("agent write %q: %w", rel, ctx.Err())
		default:
		}
		var n int
		var hole int64
		if hr, ok := src.(rootfs.HoleReader); ok && t == agentproto.TWrite {
			n, hole, err = readSpans(hr, buf) // linksparse.go
		} else {
			n, err = io.ReadFull(src, buf)
		}
		if n > 0 {
			if werr := r.c.w.Write(agentproto.TChunk, cl.id, buf[:n]); werr != nil {
				r.c.abandon(cl)
				return nil, fmt.Errorf("agent write %q: sending data: %w", rel, werr)
			}
		}
		if hole > 0 {
			if werr := r.c.w.Write(agentproto.THole, cl.id, agentproto.EncodeHole(hole)); werr != nil {
				r.c.abandon(cl)
				return nil, fmt.Errorf("agent write %q: sending a hole: %w", rel, werr)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			srcErr = err
			r.c.cancel(cl)
			break
		}
	}
	if err := r.c.w.Write(agentproto.TEnd, cl.id, nil); err != nil && early == nil {
		r.c.abandon(cl)
		return nil, fmt.Errorf("agent write %q: %w", rel, err)
	}
	if srcErr != nil {
		return nil, fmt.Errorf("agent write %q: reading the source: %w", rel, srcErr)
	}
	if early != nil {
		// Put the answer back for recv to decode.
		ch := make(chan frame, 1)
		ch <- *early
		cl = &call{id: cl.id, ch: ch, gone: cl.gone}
	}
	f, res, err := r.c.recv(ctx, cl, "write", rel)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, fmt.Errorf("agent write %q: unexpected %s frame", rel, f.t)
	}
	return res, nil
}

// Mkdir creates the directory rel with exactly mode.
func (r *Root) Mkdir(ctx context.Context, rel string, mode uint32) error {
	q := r.req(rel)
	q.Mode = mode
	_, err := r.c.do(ctx, agentproto.TMkdir, q)
	return err
}

// Symlink creates rel as a symlink to target (stored verbatim).
func (r *Root) Symlink(ctx context.Context, target, rel string) error {
	q := r.req(rel)
	q.Path = target
	_, err := r.c.do(ctx, agentproto.TSymlink, q)
	return err
}

// Readlink returns the target of the symlink rel.
func (r *Root) Readlink(ctx context.Context, rel string) (string, error) {
	res, err := r.c.do(ctx, agentproto.TReadlink, r.req(rel))
	if err != nil {
		return "", err
	}
	return res.Target, nil
}

// Remove removes the file, symlink or empty directory rel.
func (r *Root) Remove(ctx context.Context, rel string) error {
	_, err := r.c.do(ctx, agentproto.TRemove, r.req(rel))
	return err
}

// RemoveAll removes rel and everything below it without following
// symlinks; a missing rel is not an error.
func (r *Root) RemoveAll(ctx context.Context, rel string) error {
	q := r.req(rel)
	q.Recursive = true
	_, err := r.c.do(ctx, agentproto.TRemove, q)
	return err
}

// SetMeta sets owner, mode and times of rel (never through a symlink; on
// a symlink, owner and times of the link itself).
func (r *Root) SetMeta(ctx context.Context, rel string, m rootfs.Meta) error {
	q := r.req(rel)
	q.Meta = m
	_, err := r.c.do(ctx, agentproto.TSetMeta, q)
	return err
}

// Statfs reports free space and inodes of the file system holding the
// directory rel.
func (r *Root) Statfs(ctx context.Context, rel string) (rootfs.Statfs, error) {
	res, err := r.c.do(ctx, agentproto.TStatfs, r.req(rel))
	if err != nil {
		return rootfs.Statfs{}, err
	}
	return res.Statfs, nil
}

func below(name, dir string) bool {
	if dir == "" || dir == "." {
		return true
	}
	return len(name) > len(dir) && name[:len(dir)] == dir && name[len(dir)] == '/'
}
