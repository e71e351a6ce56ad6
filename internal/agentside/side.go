package agentside

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Side is a mirror.Side over an agent's root.
type Side struct {
	root  *agentclient.Root
	state *agentclient.Root // nil: no state directory
	// Fsync makes every written file durable before its rename; Sync is
	// then a no-op (the agent has no file-system-wide sync).
	fsync bool
}

// Options tune New.
type Options struct {
	// State is a root (opened as a target) over the private directory for
	// ReadState/WriteState; nil makes them fail. Close closes it.
	State *agentclient.Root
	// NoFsync skips the fsync of each written file (tests, benchmarks).
	NoFsync bool
}

// New makes a side of root; Close closes root (and o.State).
func New(root *agentclient.Root, o Options) *Side {
	return &Side{root: root, state: o.State, fsync: !o.NoFsync}
}

// errDirMoved: a directory's name held another directory after its
// listing than the parent's listing showed.
var errDirMoved = errors.New("directory replaced while it was listed")

// list collects the children of rel: a List callback must not wait on
// another call of the same client, so Readlink and the sublistings come
// after it returned.
func (s *Side) list(ctx context.Context, rel string) ([]rootfs.Info, error) {
	var l []rootfs.Info
	_, err := s.root.List(ctx, rel, false, func(i rootfs.Info) error {
		l = append(l, i)
		return nil
	})
	return l, err
}

func (s *Side) Walk(ctx context.Context, fn func(mirror.Entry) error) error {
	ri, err := s.root.Lstat(ctx, "")
	if err != nil {
		return err
	}
	list, err := s.list(ctx, "")
	if err != nil {
		return err
	}
	ri.Name = ""
	if err := fn(mirror.Entry{Info: ri}); err != nil {
		return err
	}
	return s.walkList(ctx, list, fn, 0)
}

// walkList emits a listed directory's entries (names already relative to
// the root); each subdirectory is listed before its entry is emitted.
func (s *Side) walkList(ctx context.Context, list []rootfs.Info, fn func(mirror.Entry) error, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, info := range list {
		e := mirror.Entry{Info: info}
		switch info.Type {
		case rootfs.TypeSymlink:
			t, err := s.root.Readlink(ctx, info.Name)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since listed
			}
			if err != nil {
				return err
			}
			e.Target = t
		case rootfs.TypeDir:
			if depth+1 > rootfs.MaxDepth {
				e.ListErr = fmt.Sprintf("deeper than %d levels", rootfs.MaxDepth)
				break
			}
			sub, err := s.list(ctx, info.Name)
			if err == nil {
				now, lerr := s.root.Lstat(ctx, info.Name)
				if lerr != nil || now.Dev != info.Dev || now.Ino != info.Ino {
					err = errDirMoved
				}
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since listed
			}
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, agentclient.ErrClosed) {
					return err
				}
				e.ListErr = err.Error()
				e.ListChanged = errors.Is(err, errDirMoved) || isChanged(err)
				break
			}
			if err := fn(e); err != nil {
				return err
			}
			if err := s.walkList(ctx, sub, fn, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// isChanged tells an agent error that means the name no longer holds a
// directory (a symlink or file stands there now, or it moved) from one
// that means it cannot be read.
func isChanged(err error) bool {
	var ae *agentclient.Error
	if errors.As(err, &ae) && (ae.Code == agentproto.CodeSymlink || ae.Code == agentproto.CodeNotDir) {
		return true
	}
	return errors.Is(err, rootfs.ErrDirMoved) || errors.Is(err, rootfs.ErrIdentityMismatch) || errors.Is(err, rootfs.ErrOutsideRoot)
}

func (s *Side) read(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (mirror.Read, error) {
	var res agentclient.ReadResult
	var err error
	if w == nil {
		res, err = s.root.Hash(ctx, rel, &want)
	} else {
		res, err = s.root.Read(ctx, rel, &want, 0, -1, w)
	}
	if err != nil {
		return mirror.Read{}, err
	}
	if res.Changed {
		return mirror.Read{}, fmt.Errorf("changed while it was copied: %w",
			&rootfs.IdentityError{Path: s.root.Path + "/" + rel, Want: want, Got: res.Info.Identity()})
	}
	return mirror.Read{Sum: res.SHA256, Size: res.Size, Info: res.Info}, nil
}

func (s *Side) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (mirror.Read, error) {
	if hw, ok := w.(rootfs.HoleWriter); ok {
		return s.readSparse(ctx, rel, want, hw)
	}
	return s.read(ctx, rel, want, w)
}

func (s *Side) HashFile(ctx context.Context, rel string, want rootfs.Identity) (mirror.Read, error) {
	return s.read(ctx, rel, want, nil)
}

func (s *Side) WriteFile(ctx context.Context, rel string, meta rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	wr, err := s.root.Write(ctx, rel, r, agentclient.WriteOptions{Meta: meta, Fsync: s.fsync})
	if err != nil {
		return mirror.Placed{}, err
	}
	// The agent renamed the file into place; describe it as it stands.
	now, err := s.root.Lstat(ctx, rel)
	if err != nil {
		return mirror.Placed{}, err
	}
	if now.Type != rootfs.TypeFile || now.Size != wr.Size {
		return mirror.Placed{}, fmt.Errorf("%s/%s changed right after it was written (now %s of %d bytes, wrote %d): %w",
			s.root.Path, rel, now.Type, now.Size, wr.Size, rootfs.ErrIdentityMismatch)
	}
	now.Name = rel
	return mirror.Placed{Sum: wr.SHA256, Size: wr.Size, Info: now}, nil
}

func (s *Side) Mkdir(ctx context.Context, rel string, mode uint32) error {
	return s.root.Mkdir(ctx, rel, mode)
}

func (s *Side) Symlink(ctx context.Context, target, rel string) error {
	return s.root.Symlink(ctx, target, rel)
}

func (s *Side) Remove(ctx context.Context, rel string) error { return s.root.Remove(ctx, rel) }

func (s *Side) RemoveAll(ctx context.Context, rel string) error { return s.root.RemoveAll(ctx, rel) }

func (s *Side) SetMeta(ctx context.Context, rel string, m rootfs.Meta) error {
	return s.root.SetMeta(ctx, rel, m)
}

func (s *Side) Statfs(ctx context.Context) (rootfs.Statfs, error) { return s.root.Statfs(ctx, "") }

// Sync is a no-op: each file was fsynced before its rename (unless
// NoFsync).
func (s *Side) Sync(context.Context) error { return nil }

func (s *Side) ReadState(ctx context.Context, name string, max int64) ([]byte, error) {
	if s.state == nil {
		return nil, errors.New("read state: this side has no state directory")
	}
	if err := rootfs.CheckName(name); err != nil {
		return nil, err
	}
	fi, err := s.state.Lstat(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, mirror.ErrNoState
	}
	if err != nil {
		return nil, err
	}
	if fi.Type != rootfs.TypeFile {
		return nil, fmt.Errorf("state %s/%s is a %s, not a regular file", s.state.Path, name, fi.Type)
	}
	if fi.Size > max {
		return nil, fmt.Errorf("state %s/%s is %d bytes, more than the %d expected", s.state.Path, name, fi.Size, max)
	}
	var b limitedBuf
	b.max = max
	want := fi.Identity()
	res, err := s.state.Read(ctx, name, &want, 0, -1, &b)
	if err != nil {
		return nil, err
	}
	if res.Changed {
		return nil, fmt.Errorf("state %s/%s changed while read: %w", s.state.Path, name, rootfs.ErrIdentityMismatch)
	}
	return b.b, nil
}

// limitedBuf fails a write past max bytes.
type limitedBuf struct {
	b   []byte
	max int64
}

func (l *limitedBuf) Write(p []byte) (int, error) {
	if int64(len(l.b)+len(p)) > l.max {
		return 0, fmt.Errorf("state grew past the %d bytes expected", l.max)
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

func (s *Side) WriteState(ctx context.Context, name string, data []byte) error {
	if s.state == nil {
		return errors.New("write state: this side has no state directory")
	}
	if err := rootfs.CheckName(name); err != nil {
		return err
	}
	_, err := s.state.Write(ctx, name, bytes.NewReader(data), agentclient.WriteOptions{Meta: rootfs.Meta{Mode: 0o600}, Fsync: true})
	return err
}

// Close releases the roots on the agent (not the agent itself).
func (s *Side) Close() error {
	ctx := context.Background()
	err := s.root.Close(ctx)
	if s.state != nil {
		err = errors.Join(err, s.state.Close(ctx))
	}
	return err
}

var _ mirror.Side = (*Side)(nil)
