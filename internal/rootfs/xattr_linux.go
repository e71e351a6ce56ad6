package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Xattr is one extended attribute of a file.
type Xattr struct {
	Name  string
	Value []byte
}

// Bounds of what Xattrs reads: Linux caps a value at 64 KiB and a name at
// 255 bytes; a file holding more than MaxXattrBytes in all is refused
// rather than read into memory.
const (
	MaxXattrValue = 64 << 10
	MaxXattrName  = 255
	MaxXattrBytes = 256 << 10
)

// ErrXattrsTooBig: a file's extended attributes exceed MaxXattrBytes.
var ErrXattrsTooBig = errors.New("extended attributes larger than umzug carries")

// MetaFile is a regular file or directory below the root opened for its
// extended attributes: every call goes through its descriptor.
type MetaFile struct {
	fd   int
	Info Info
}

// OpenMeta opens the regular file or directory rel for its extended
// attributes. A symlink at rel is refused with ELOOP (its attributes
// could only be read by a path); other types with EINVAL.
func (r *Root) OpenMeta(rel string) (*MetaFile, error) {
	flags := unix.O_RDONLY | unix.O_NOCTTY | unix.O_NONBLOCK
	fd, err := r.openat(rel, flags|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = r.openat(rel, flags, 0)
	}
	if err != nil {
		return nil, r.pathErr("open", rel, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, r.pathErr("stat", rel, err)
	}
	info := infoFromStat(rel, &st)
	if info.Type != TypeFile && info.Type != TypeDir {
		unix.Close(fd)
		return nil, r.pathErr("open", rel, fmt.Errorf("a %s has no attributes umzug copies: %w", info.Type, unix.EINVAL))
	}
	return &MetaFile{fd: fd, Info: info}, nil
}

// Close releases the descriptor.
func (m *MetaFile) Close() error { return unix.Close(m.fd) }

// Xattrs returns the file's extended attributes sorted by name. A file
// system without extended attributes gives none.
func (m *MetaFile) Xattrs() ([]Xattr, error) {
	var names []byte
	for try := 0; ; try++ {
		n, err := unix.Flistxattr(m.fd, nil)
		if err == unix.ENOTSUP {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("flistxattr: %w", err)
		}
		if n == 0 {
			return nil, nil
		}
		if n > MaxXattrBytes {
			return nil, ErrXattrsTooBig
		}
		names = make([]byte, n)
		n, err = unix.Flistxattr(m.fd, names)
		if err == unix.ERANGE && try < 4 {
			continue // grew between the calls
		}
		if err != nil {
			return nil, fmt.Errorf("flistxattr: %w", err)
		}
		names = names[:n]
		break
	}
	var out []Xattr
	total := 0
	buf := make([]byte, MaxXattrValue)
	for _, name := range bytes.Split(names, []byte{0}) {
		if len(name) == 0 {
			continue
		}
		n, err := unix.Fgetxattr(m.fd, string(name), buf)
		if err == unix.ENODATA {
			continue // removed since listed
		}
		if err != nil {
			return nil, fmt.Errorf("fgetxattr %s: %w", name, err)
		}
		total += len(name) + n
		if total > MaxXattrBytes {
			return nil, ErrXattrsTooBig
		}
		out = append(out, Xattr{Name: string(name), Value: append([]byte(nil), buf[:n]...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetXattr sets one extended attribute.
func (m *MetaFile) SetXattr(name string, value []byte) error {
	if err := unix.Fsetxattr(m.fd, name, value, 0); err != nil {
		return fmt.Errorf("fsetxattr %s: %w", name, err)
	}
	return nil
}

// RemoveXattr removes one extended attribute; a missing one is no error.
func (m *MetaFile) RemoveXattr(name string) error {
	if err := unix.Fremovexattr(m.fd, name); err != nil && err != unix.ENODATA {
		return fmt.Errorf("fremovexattr %s: %w", name, err)
	}
	return nil
}

// XattrFailure is one attribute SyncXattrs could not set or remove.
type XattrFailure struct {
	Name string
	Err  error
}

// Carried returns the matcher of a list of attribute names and prefixes
// (those end in "."): what a sync makes equal.
func Carried(list []string) func(string) bool {
	return func(name string) bool {
		for _, c := range list {
			if name == c || strings.HasSuffix(c, ".") && strings.HasPrefix(name, c) {
				return true
			}
		}
		return false
	}
}

// SyncXattrs makes the file's carried attributes exactly want: it sets
// those that differ, removes carried ones want lacks, leaves the rest,
// and returns the attributes as they stand afterwards and what failed.
func (m *MetaFile) SyncXattrs(want []Xattr, carried func(string) bool) ([]Xattr, []XattrFailure, error) {
	have, err := m.Xattrs()
	if err != nil {
		return nil, nil, err
	}
	h := map[string][]byte{}
	for _, x := range have {
		if carried(x.Name) {
			h[x.Name] = x.Value
		}
	}
	var failed []XattrFailure
	changed := false
	for _, x := range want {
		v, ok := h[x.Name]
		delete(h, x.Name)
		if ok && bytes.Equal(v, x.Value) {
			continue
		}
		changed = true
		if err := m.SetXattr(x.Name, x.Value); err != nil {
			failed = append(failed, XattrFailure{x.Name, err})
		}
	}
	for _, x := range have {
		if _, ok := h[x.Name]; ok {
			changed = true
			if err := m.RemoveXattr(x.Name); err != nil {
				failed = append(failed, XattrFailure{x.Name, err})
			}
		}
	}
	if !changed {
		return have, nil, nil
	}
	after, err := m.Xattrs()
	return after, failed, err
}
