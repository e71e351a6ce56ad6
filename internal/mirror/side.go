package mirror

import (
	"context"
	"errors"
	"io"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Entry is one entry of a walked tree, described without following a
// symlink. Info.Name is the path relative to the side's root ("" for the
// root itself); Target is a symlink's target, read during the walk.
type Entry struct {
	rootfs.Info
	Target string
	// ListErr, for a directory, says why its contents could not be listed
	// (none follow it); ListChanged tells that it was replaced or moved
	// while listed rather than unreadable.
	ListErr     string
	ListChanged bool
}

// Path is the entry's path relative to the root.
func (e Entry) Path() string { return e.Name }

// FileID is what the identity state compares: everything the walk shows
// of a file without reading it. ctime moves on every write, truncate,
// chmod, chown and rename and cannot be set back by a user.
type FileID struct {
	Size    int64
	MtimeNs int64
	CtimeNs int64
	Ino     uint64
	Dev     uint64
}

// FileID returns the entry's identity for the state.
func (e Entry) FileID() FileID { return idOf(e.Info) }

func idOf(i rootfs.Info) FileID {
	return FileID{Size: i.Size, MtimeNs: i.MtimeNs, CtimeNs: i.CtimeNs, Ino: i.Ino, Dev: i.Dev}
}

// Read is what ReadFile and HashFile return: the SHA-256 of the bytes as
// read and the file as it was opened (its identity held until the end).
type Read struct {
	Sum  [32]byte
	Size int64
	Info rootfs.Info
}

// Placed is what WriteFile returns: the SHA-256 of the bytes as written and
// the file as it stands under its name after the rename.
type Placed struct {
	Sum  [32]byte
	Size int64
	Info rootfs.Info
}

// ErrNoState is returned by ReadState when no blob of that name exists.
var ErrNoState = errors.New("no state of that name")

// Side is one host's tree below an already opened root. Names are
// relative to that root, slash-separated, without ".", ".." or empty
// components; a side resolves them beneath the root and fails (never
// follows) where any component is a symlink.
//
// Concurrency: the engine calls Walk once at a time per side, but calls
// ReadFile, HashFile, WriteFile, Mkdir, Symlink, Remove, RemoveAll and
// SetMeta from several goroutines at once (up to Spec.Concurrency, for
// different names); a side must be safe for that. fn passed to Walk and
// the io.Writer/io.Reader passed to ReadFile/WriteFile are used only by the
// call they were passed to and only until it returns.
type Side interface {
	// Walk calls fn for the root (Name "") and then for every entry below
	// it, parents before children and siblings in byte order of their
	// names, so a directory's subtree follows it contiguously. A directory
	// below the root that cannot be listed comes with ListErr set and is
	// not descended; a root that cannot be listed fails the walk. fn is
	// called from one goroutine; an error from fn ends the walk.
	Walk(ctx context.Context, fn func(Entry) error) error
	// ReadFile streams the regular file rel to w. It refuses, before any
	// byte is written to w, a file whose identity differs from want
	// (an error matching rootfs.ErrIdentityMismatch), and fails the same
	// way when the file's size, mtime or ctime moved while it was read.
	ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (Read, error)
	// HashFile is ReadFile without the data: the digest of the file.
	HashFile(ctx context.Context, rel string, want rootfs.Identity) (Read, error)
	// WriteFile writes the bytes of r to a new temporary file in the
	// directory of rel (opened beneath the root), sets meta through the
	// new file's descriptor, and only once r reports io.EOF renames it
	// over rel within that directory. An error from r leaves nothing.
	WriteFile(ctx context.Context, rel string, meta rootfs.Meta, r io.Reader) (Placed, error)
	// Mkdir creates the directory rel with exactly mode.
	Mkdir(ctx context.Context, rel string, mode uint32) error
	// Symlink creates rel as a symlink to target (stored verbatim).
	Symlink(ctx context.Context, target, rel string) error
	// Remove removes the file, symlink or empty directory rel.
	Remove(ctx context.Context, rel string) error
	// RemoveAll removes rel and everything below it, never following a
	// symlink; a missing rel is not an error.
	RemoveAll(ctx context.Context, rel string) error
	// SetMeta changes owner, mode and times of rel ("" is the root) without
	// following a symlink.
	SetMeta(ctx context.Context, rel string, m rootfs.Meta) error
	// Statfs reports the file system holding the root.
	Statfs(ctx context.Context) (rootfs.Statfs, error)
	// Sync flushes everything written below the root to stable storage.
	Sync(ctx context.Context) error
	// ReadState returns the private blob name (kept outside the tree), at
	// most max bytes; ErrNoState when there is none.
	ReadState(ctx context.Context, name string, max int64) ([]byte, error)
	// WriteState replaces the private blob name atomically and durably.
	WriteState(ctx context.Context, name string, data []byte) error
	// Close releases the side.
	Close() error
}
