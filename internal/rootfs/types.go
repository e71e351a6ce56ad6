package rootfs

import (
	"errors"
	"fmt"
	"strings"
)

// Type is the kind of a directory entry.
type Type uint8

// Entry kinds. Their values are part of the agent protocol: do not renumber.
const (
	TypeUnknown Type = iota
	TypeFile
	TypeDir
	TypeSymlink
	TypeFIFO
	TypeSocket
	TypeChar
	TypeBlock
)

func (t Type) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	case TypeFIFO:
		return "fifo"
	case TypeSocket:
		return "socket"
	case TypeChar:
		return "char"
	case TypeBlock:
		return "block"
	}
	return "unknown"
}

// Info is what lstat says about an entry, read relative to its parent's
// handle without following a symlink.
type Info struct {
	// Name is the base name (List) or the path relative to the root (Walk).
	Name    string
	Type    Type
	Mode    uint32 // permission bits with setuid, setgid and sticky (07777)
	UID     uint32
	GID     uint32
	Size    int64
	MtimeNs int64
	CtimeNs int64
	Ino     uint64
	Dev     uint64
	Nlink   uint64
}

// Identity returns the fields a later read checks against.
func (i Info) Identity() Identity {
	return Identity{Dev: i.Dev, Ino: i.Ino, Size: i.Size, MtimeNs: i.MtimeNs}
}

// Identity pins a file a listing saw: a read opens the name again and
// refuses a file whose identity differs.
type Identity struct {
	Dev     uint64
	Ino     uint64
	Size    int64
	MtimeNs int64
}

// ErrIdentityMismatch is what errors.Is finds in an *IdentityError.
var ErrIdentityMismatch = errors.New("file identity changed since it was listed")

// IdentityError says that the file opened under a name is not the one a
// listing saw there (replaced, exchanged or modified in between).
type IdentityError struct {
	Path      string
	Want, Got Identity
}

func (e *IdentityError) Error() string {
	return fmt.Sprintf("%s: %v (listed dev %d ino %d size %d mtime %d, found dev %d ino %d size %d mtime %d); list it again",
		e.Path, ErrIdentityMismatch, e.Want.Dev, e.Want.Ino, e.Want.Size, e.Want.MtimeNs,
		e.Got.Dev, e.Got.Ino, e.Got.Size, e.Got.MtimeNs)
}

// Is makes errors.Is(err, ErrIdentityMismatch) true.
func (e *IdentityError) Is(target error) bool { return target == ErrIdentityMismatch }

// ErrInvalidName is returned for a name that is absolute, empty where a
// name is needed, or has ".", ".." , empty or NUL-containing components.
var ErrInvalidName = errors.New("invalid name below the root (must be relative, without '.', '..', empty components or NUL)")

// ErrOutsideRoot says a lookup was refused because it left the root: a
// directory on the way was moved or exchanged while it was looked up.
var ErrOutsideRoot = errors.New("lookup left the root (a directory was moved during it); refused")

// ErrDirMoved says a directory handle no longer sits at its name below the
// root: it was moved or replaced while in use.
var ErrDirMoved = errors.New("directory was moved or replaced while in use")

// MaxNameLen bounds a relative name; MaxComponentLen one component of it.
const (
	MaxNameLen      = 4096
	MaxComponentLen = 255
)

// Split checks a name relative to the root and returns its components;
// "" and "." name the root itself and yield none.
func Split(rel string) ([]string, error) {
	if rel == "" || rel == "." {
		return nil, nil
	}
	if len(rel) > MaxNameLen || strings.IndexByte(rel, 0) >= 0 || rel[0] == '/' {
		return nil, fmt.Errorf("%q: %w", rel, ErrInvalidName)
	}
	comps := strings.Split(rel, "/")
	for _, c := range comps {
		if c == "" || c == "." || c == ".." || len(c) > MaxComponentLen {
			return nil, fmt.Errorf("%q: %w", rel, ErrInvalidName)
		}
	}
	return comps, nil
}

// CheckName checks a single component (a name inside a directory handle).
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > MaxComponentLen ||
		strings.IndexByte(name, '/') >= 0 || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%q: %w", name, ErrInvalidName)
	}
	return nil
}

// Meta is what SetMeta changes; only the parts whose Set flag is on.
type Meta struct {
	SetOwner bool
	UID, GID uint32
	SetMode  bool
	Mode     uint32 // 07777 bits; ignored for symlinks
	SetTimes bool
	AtimeNs  int64
	MtimeNs  int64
}

// Statfs is the free space of the file system holding a directory.
type Statfs struct {
	BlockSize  uint64
	Blocks     uint64
	BlocksFree uint64 // available to unprivileged users
	Files      uint64
	FilesFree  uint64
	NameMax    uint64
	FsType     int64
}

// BytesFree is the space an unprivileged writer may still use.
func (s Statfs) BytesFree() uint64 { return s.BlocksFree * s.BlockSize }
