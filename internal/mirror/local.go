package mirror

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// LocalSide is a Side over a directory of this machine, every name
// resolved through internal/rootfs beneath the root opened at NewLocalSide.
type LocalSide struct {
	root  *rootfs.Root
	state *rootfs.Root // nil: no state directory
	etc   string       // Accounts' passwd and group directory
}

// LocalOptions tune NewLocalSide.
type LocalOptions struct {
	// StateDir is an absolute directory outside the tree that holds the
	// side's private state blobs; "" means ReadState/WriteState fail.
	StateDir string
	// Root tunes the rootfs resolver (tests force the fallback with it).
	Root rootfs.Options
	// Etc is the directory of the passwd and group files Accounts reads
	// ("" is /etc).
	Etc string
}

// NewLocalSide opens root (an absolute path; a symlink in it is followed
// once, here).
func NewLocalSide(root string, o LocalOptions) (*LocalSide, error) {
	r, err := rootfs.OpenWith(root, o.Root)
	if err != nil {
		return nil, err
	}
	s := &LocalSide{root: r, etc: o.Etc}
	if o.StateDir != "" {
		if s.state, err = rootfs.OpenWith(o.StateDir, o.Root); err != nil {
			r.Close()
			return nil, fmt.Errorf("state directory: %w", err)
		}
	}
	return s, nil
}

// Root is the rootfs root the side works in.
func (s *LocalSide) Root() *rootfs.Root { return s.root }

// bufPool recycles copy buffers across files.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (s *LocalSide) Walk(ctx context.Context, fn func(Entry) error) error {
	ri, err := s.root.Lstat("")
	if err != nil {
		return err
	}
	list, err := s.root.List("")
	if err != nil {
		return err
	}
	if err := fn(Entry{Info: ri}); err != nil {
		return err
	}
	return s.walkList(ctx, "", list, fn, 0)
}

// errDirMoved: a directory's name held another directory after its
// listing than the parent's listing showed.
var errDirMoved = errors.New("directory replaced while it was listed")

// walkList emits a listed directory's entries; each subdirectory is listed
// before its entry is emitted, so one that cannot be listed comes with
// ListErr set and nothing below it. Every listing opens its name beneath
// the root without following a symlink.
func (s *LocalSide) walkList(ctx context.Context, rel string, list []rootfs.Info, fn func(Entry) error, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, info := range list {
		if rel != "" {
			info.Name = rel + "/" + info.Name
		}
		e := Entry{Info: info}
		switch info.Type {
		case rootfs.TypeSymlink:
			t, err := s.root.Readlink(info.Name)
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
			sub, err := s.root.List(info.Name)
			if err == nil {
				now, lerr := s.root.Lstat(info.Name)
				if lerr != nil || now.Dev != info.Dev || now.Ino != info.Ino {
					err = errDirMoved
				}
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since listed
			}
			if err != nil {
				e.ListErr = err.Error()
				e.ListChanged = errors.Is(err, errDirMoved) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR)
				break
			}
			if err := fn(e); err != nil {
				return err
			}
			if err := s.walkList(ctx, info.Name, sub, fn, depth+1); err != nil {
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

// changedWhileRead compares a file's fstat after reading with the one at
// open: size, mtime and ctime (any write, even one whose mtime was set
// back) and the inode.
func changedWhileRead(f *rootfs.File) error {
	now, err := f.Restat()
	if err != nil {
		return err
	}
	was := f.Info()
	if idOf(now) != idOf(was) {
		return &rootfs.IdentityError{Path: f.Name(), Want: was.Identity(), Got: now.Identity()}
	}
	return nil
}

func (s *LocalSide) read(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (Read, error) {
	f, err := s.openListed(rel, want)
	if err != nil {
		return Read{}, err
	}
	defer f.Close()
	h := sha256.New()
	var dst io.Writer = h
	if w != nil {
		dst = io.MultiWriter(h, w)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	n, err := io.CopyBuffer(dst, ctxReader{ctx, io.NewSectionReader(f, 0, 1<<62)}, *bp)
	return readDone(f, h, n, err)
}

// openListed opens rel expecting the listed identity. A name replaced by
// something that is not a regular file (a directory, a FIFO, a symlink)
// gets the same answer as any other replacement.
func (s *LocalSide) openListed(rel string, want rootfs.Identity) (*rootfs.File, error) {
	f, err := s.root.OpenFile(rel, &want)
	if err != nil {
		if now, lerr := s.root.Lstat(rel); lerr == nil && now.Type != rootfs.TypeFile {
			return nil, &rootfs.IdentityError{Path: s.root.Path() + "/" + rel, Want: want, Got: now.Identity()}
		}
		return nil, err
	}
	return f, nil
}

// readDone ends a read of f that copied n bytes into h: a file that
// changed while read is reported as changed, whatever the copy's error.
func readDone(f *rootfs.File, h hash.Hash, n int64, err error) (Read, error) {
	if err != nil {
		if cerr := changedWhileRead(f); cerr != nil {
			return Read{}, cerr
		}
		return Read{}, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	if err := changedWhileRead(f); err != nil {
		return Read{}, err
	}
	r := Read{Size: n, Info: f.Info()}
	h.Sum(r.Sum[:0])
	return r, nil
}

// ctxReader stops a long read when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (s *LocalSide) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (Read, error) {
	if hw, ok := w.(rootfs.HoleWriter); ok {
		return s.readSparse(ctx, rel, want, hw)
	}
	return s.read(ctx, rel, want, w)
}

func (s *LocalSide) HashFile(ctx context.Context, rel string, want rootfs.Identity) (Read, error) {
	return s.readSparse(ctx, rel, want, discardHoles{})
}

func splitRel(rel string) (parent, name string, err error) {
	comps, err := rootfs.Split(rel)
	if err != nil {
		return "", "", err
	}
	if len(comps) == 0 {
		return "", "", fmt.Errorf("the root has no name to write: %w", rootfs.ErrInvalidName)
	}
	name = comps[len(comps)-1]
	if len(comps) > 1 {
		parent = rel[:len(rel)-len(name)-1]
	}
	return parent, name, nil
}

func (s *LocalSide) WriteFile(ctx context.Context, rel string, meta rootfs.Meta, r io.Reader) (Placed, error) {
	parent, name, err := splitRel(rel)
	if err != nil {
		return Placed{}, err
	}
	d, err := s.root.OpenDir(parent)
	if err != nil {
		return Placed{}, err
	}
	defer d.Close()
	t, err := d.CreateTemp()
	if err != nil {
		return Placed{}, err
	}
	defer t.Abort()
	bp := bufPool.Get().(*[]byte)
	if hr, ok := r.(rootfs.HoleReader); ok {
		_, err = CopySpans(ctx, t, hr, *bp)
	} else {
		_, err = io.CopyBuffer(t, ctxReader{ctx, r}, *bp)
	}
	bufPool.Put(bp)
	if err != nil {
		return Placed{}, err
	}
	if err := t.SetMeta(meta); err != nil {
		return Placed{}, fmt.Errorf("set metadata of new %s/%s: %w", s.root.Path(), rel, err)
	}
	st, err := t.Stat()
	if err != nil {
		return Placed{}, err
	}
	// The handle must still be the directory named parent below the root:
	// a directory moved out of the tree meanwhile would take the file along.
	if err := d.StillAt(); err != nil {
		return Placed{}, err
	}
	if err := t.Commit(name); err != nil {
		return Placed{}, err
	}
	// Rename moved the ctime: describe the file as it stands under its
	// name, and only if the name still holds the inode just written.
	now, err := d.Lstat(name)
	if err != nil {
		return Placed{}, err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return Placed{}, &rootfs.IdentityError{Path: s.root.Path() + "/" + rel, Want: st.Identity(), Got: now.Identity()}
	}
	now.Name = rel
	return Placed{Sum: t.Sum(), Size: t.Size(), Info: now}, nil
}

func (s *LocalSide) Mkdir(_ context.Context, rel string, mode uint32) error {
	return s.root.Mkdir(rel, mode)
}

func (s *LocalSide) Symlink(_ context.Context, target, rel string) error {
	return s.root.Symlink(target, rel)
}

func (s *LocalSide) Remove(_ context.Context, rel string) error { return s.root.Remove(rel) }

func (s *LocalSide) RemoveAll(_ context.Context, rel string) error { return s.root.RemoveAll(rel) }

func (s *LocalSide) SetMeta(_ context.Context, rel string, m rootfs.Meta) error {
	return s.root.SetMeta(rel, m)
}

func (s *LocalSide) Statfs(context.Context) (rootfs.Statfs, error) { return s.root.Statfs("") }

func (s *LocalSide) Sync(context.Context) error {
	// syncfs needs a descriptor on the file system; the path is only used
	// to reach it, nothing is read or written through it.
	fd, err := unix.Open(s.root.Path(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s to sync it: %w", s.root.Path(), err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync the file system of %s: %w", s.root.Path(), err)
	}
	return nil
}

func (s *LocalSide) ReadState(_ context.Context, name string, max int64) ([]byte, error) {
	if s.state == nil {
		return nil, errors.New("read state: this side has no state directory")
	}
	if err := rootfs.CheckName(name); err != nil {
		return nil, err
	}
	f, err := s.state.OpenFile(name, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoState
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Info().Size > max {
		return nil, fmt.Errorf("state %s is %d bytes, more than the %d expected", f.Name(), f.Info().Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("state %s grew past the %d bytes expected", f.Name(), max)
	}
	return b, nil
}

func (s *LocalSide) WriteState(_ context.Context, name string, data []byte) error {
	if s.state == nil {
		return errors.New("write state: this side has no state directory")
	}
	if err := rootfs.CheckName(name); err != nil {
		return err
	}
	d, err := s.state.OpenDir("")
	if err != nil {
		return err
	}
	defer d.Close()
	t, err := d.CreateTemp()
	if err != nil {
		return err
	}
	defer t.Abort()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.Sync(); err != nil {
		return err
	}
	return t.Commit(name)
}

func (s *LocalSide) Close() error {
	err := s.root.Close()
	if s.state != nil {
		err = errors.Join(err, s.state.Close())
	}
	return err
}

var _ Side = (*LocalSide)(nil)
