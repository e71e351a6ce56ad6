package rootfs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxDepth bounds how deep Walk and RemoveAll descend (one open
// descriptor per level).
const MaxDepth = 1024

// readNames reads all names of an open (O_RDONLY) directory.
func readNames(fd int) ([]string, error) {
	buf := make([]byte, 32<<10)
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// listFd lists an open directory, sorted by name; entries that vanish
// between readdir and stat are left out.
func listFd(fd int) ([]Info, error) {
	names, err := readNames(fd)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	out := make([]Info, 0, len(names))
	var st unix.Stat_t
	for _, n := range names {
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err == unix.ENOENT {
				continue
			}
			return nil, fmt.Errorf("lstat %q: %w", n, err)
		}
		out = append(out, infoFromStat(n, &st))
	}
	return out, nil
}

// List returns the entries of the directory rel ("" is the root), sorted
// by name, each described without following symlinks.
func (r *Root) List(rel string) ([]Info, error) {
	fd, err := r.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, r.pathErr("open dir", rel, err)
	}
	defer unix.Close(fd)
	l, err := listFd(fd)
	if err != nil {
		return nil, r.pathErr("list", rel, err)
	}
	return l, nil
}

// SkipDir returned by a WalkFunc for a directory skips its contents.
var SkipDir = errors.New("skip this directory")

// WalkFunc receives each entry below the walked directory, Name being its
// path relative to the root, parents before children, siblings by name.
type WalkFunc func(info Info) error

// Walk streams every entry below rel (not rel itself). Memory is one
// directory's listing per level; each subdirectory is opened relative to
// its parent's descriptor, O_NOFOLLOW, and must be the directory the
// listing saw (else an *IdentityError).
func (r *Root) Walk(rel string, fn WalkFunc) error {
	fd, err := r.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return r.pathErr("open dir", rel, err)
	}
	if rel == "." {
		rel = ""
	}
	err = r.walkFd(fd, rel, 0, fn)
	if err == SkipDir {
		return nil
	}
	return err
}

func (r *Root) walkFd(fd int, rel string, depth int, fn WalkFunc) error {
	defer unix.Close(fd)
	if depth > MaxDepth {
		return r.pathErr("walk", rel, fmt.Errorf("deeper than %d levels", MaxDepth))
	}
	list, err := listFd(fd)
	if err != nil {
		return r.pathErr("list", rel, err)
	}
	for _, info := range list {
		name := info.Name
		if rel != "" {
			info.Name = rel + "/" + name
		}
		err := fn(info)
		if err == SkipDir {
			continue
		}
		if err != nil {
			return err
		}
		if info.Type != TypeDir {
			continue
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT {
			continue // removed since listed
		}
		if err != nil {
			return r.pathErr("open dir", info.Name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(cfd, &st); err != nil {
			unix.Close(cfd)
			return r.pathErr("stat dir", info.Name, err)
		}
		if st.Dev != info.Dev || st.Ino != info.Ino {
			unix.Close(cfd)
			return &IdentityError{Path: r.path + "/" + info.Name, Want: info.Identity(), Got: infoFromStat("", &st).Identity()}
		}
		if err := r.walkFd(cfd, info.Name, depth+1, fn); err != nil {
			return err
		}
	}
	return nil
}

// File is a regular file opened for reading below the root.
type File struct {
	*os.File
	info Info
}

// Info is the file's fstat at open.
func (f *File) Info() Info { return f.info }

// OpenFile opens the regular file rel for reading. With expect set, a file
// whose device, inode, size or mtime differ is refused with an
// *IdentityError, before any byte is read.
func (r *Root) OpenFile(rel string, expect *Identity) (*File, error) {
	// O_NONBLOCK: a FIFO swapped in must not hang the open.
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
	if info.Type != TypeFile {
		unix.Close(fd)
		return nil, r.pathErr("open", rel, fmt.Errorf("not a regular file but a %s", info.Type))
	}
	if expect != nil && info.Identity() != *expect {
		unix.Close(fd)
		return nil, &IdentityError{Path: r.path + "/" + rel, Want: *expect, Got: info.Identity()}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, r.pathErr("open", rel, err)
	}
	return &File{File: os.NewFile(uintptr(fd), r.path+"/"+rel), info: info}, nil
}

// Restat returns the file's fstat now; a reader compares it with Info to
// notice a file written to while it was read.
func (f *File) Restat() (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Info{}, err
	}
	return infoFromStat(f.info.Name, &st), nil
}

// HashFile returns the SHA-256 of the regular file rel (checked against
// expect as OpenFile does) and its fstat at open.
func (r *Root) HashFile(rel string, expect *Identity) ([32]byte, Info, error) {
	var sum [32]byte
	f, err := r.OpenFile(rel, expect)
	if err != nil {
		return sum, Info{}, err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, 1<<62), buf); err != nil {
		return sum, Info{}, fmt.Errorf("hash %s: %w", f.Name(), err)
	}
	h.Sum(sum[:0])
	return sum, f.info, nil
}

// OpenDir opens a subdirectory handle relative to this one.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.pathErr("open dir", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, d.pathErr("stat dir", name, err)
	}
	return &Dir{r: d.r, fd: fd, rel: d.join(name), dev: st.Dev, ino: st.Ino}, nil
}

// TempFile is a new file being written in a directory handle; Commit gives
// it its name, Abort (or Close without Commit) removes it.
type TempFile struct {
	d       *Dir
	f       *os.File
	tmpName string // "" while anonymous (O_TMPFILE)
	h       hash.Hash
	n       int64
	done    bool
}

func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return ".umzug-tmp-" + hex.EncodeToString(b[:])
}

// CreateTemp creates an empty file (mode 0600) in the directory: anonymous
// (O_TMPFILE) where the file system supports it, else under a random name
// created O_EXCL|O_NOFOLLOW.
func (d *Dir) CreateTemp() (*TempFile, error) {
	if d.r.noTmp {
		return d.createNamedTemp()
	}
	fd, err := unix.Openat(d.fd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0600)
	if err == nil {
		return &TempFile{d: d, f: os.NewFile(uintptr(fd), d.r.path+"/"+d.join("(tmpfile)")), h: sha256.New()}, nil
	}
	if err != unix.EOPNOTSUPP && err != unix.EISDIR && err != unix.EINVAL {
		return nil, d.pathErr("create tmpfile in", "", err)
	}
	return d.createNamedTemp()
}

func (d *Dir) createNamedTemp() (*TempFile, error) {
	for try := 0; ; try++ {
		name := randomName()
		fd, err := unix.Openat(d.fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0600)
		if err == unix.EEXIST && try < 8 {
			continue
		}
		if err != nil {
			return nil, d.pathErr("create", name, err)
		}
		return &TempFile{d: d, f: os.NewFile(uintptr(fd), d.r.path+"/"+d.join(name)), tmpName: name, h: sha256.New()}, nil
	}
}

// Write appends to the file and to its running SHA-256.
func (t *TempFile) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	t.h.Write(p[:n])
	t.n += int64(n)
	return n, err
}

// Size is how many bytes were written.
func (t *TempFile) Size() int64 { return t.n }

// Sum is the SHA-256 of what was written.
func (t *TempFile) Sum() [32]byte {
	var s [32]byte
	t.h.Sum(s[:0])
	return s
}

// Stat is the temporary file's fstat: its inode stays the same through
// Commit, so a writer can check that the name it committed to still holds it.
func (t *TempFile) Stat() (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(t.f.Fd()), &st); err != nil {
		return Info{}, err
	}
	return infoFromStat("", &st), nil
}

// Sync flushes the file to stable storage.
func (t *TempFile) Sync() error { return t.f.Sync() }

// SetMeta sets owner, mode and times through the file's descriptor.
func (t *TempFile) SetMeta(m Meta) error { return setMetaFd(int(t.f.Fd()), m) }

// Commit renames the file to name within the same directory handle,
// replacing a file or symlink of that name (never following it).
func (t *TempFile) Commit(name string) error {
	if t.done {
		return errors.New("commit: temporary file already committed or aborted")
	}
	if err := CheckName(name); err != nil {
		return err
	}
	d := t.d
	if t.tmpName == "" {
		tmp := randomName()
		fd := int(t.f.Fd())
		// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works for anyone.
		err := unix.Linkat(fd, "", d.fd, tmp, unix.AT_EMPTY_PATH)
		if err != nil {
			err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), d.fd, tmp, unix.AT_SYMLINK_FOLLOW)
		}
		if err != nil {
			return d.pathErr("link tmpfile as", tmp, err)
		}
		t.tmpName = tmp
	}
	if err := unix.Renameat(d.fd, t.tmpName, d.fd, name); err != nil {
		return d.pathErr("rename into place", name, err)
	}
	t.done = true
	return t.f.Close()
}

// Abort removes the temporary file (if it has a name) and closes it.
func (t *TempFile) Abort() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.tmpName != "" {
		_ = unix.Unlinkat(t.d.fd, t.tmpName, 0)
	}
	return t.f.Close()
}

// Close is Abort unless committed.
func (t *TempFile) Close() error { return t.Abort() }

func timespecs(m Meta) [2]unix.Timespec {
	return [2]unix.Timespec{unix.NsecToTimespec(m.AtimeNs), unix.NsecToTimespec(m.MtimeNs)}
}

// setMetaFd changes an open file: owner first, since chown clears setuid.
func setMetaFd(fd int, m Meta) error {
	if m.SetOwner {
		if err := unix.Fchown(fd, int(m.UID), int(m.GID)); err != nil {
			return fmt.Errorf("fchown: %w", err)
		}
	}
	if m.SetMode {
		if err := unix.Fchmod(fd, m.Mode&07777); err != nil {
			return fmt.Errorf("fchmod: %w", err)
		}
	}
	if m.SetTimes {
		ts := timespecs(m)
		// utimensat(fd, NULL, ...) is futimens: it changes the open file itself.
		if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
			return fmt.Errorf("futimens: %w", e)
		}
	}
	return nil
}

// Mkdir creates a directory with exactly mode (umask does not apply).
func (d *Dir) Mkdir(name string, mode uint32) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := unix.Mkdirat(d.fd, name, 0700); err != nil {
		return d.pathErr("mkdir", name, err)
	}
	return d.SetMeta(name, Meta{SetMode: true, Mode: mode})
}

// Symlink creates name as a symlink to target (stored verbatim).
func (d *Dir) Symlink(target, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if target == "" || len(target) > MaxNameLen {
		return d.pathErr("symlink", name, errors.New("symlink target empty or longer than 4096 bytes"))
	}
	if err := unix.Symlinkat(target, d.fd, name); err != nil {
		return d.pathErr("symlink", name, err)
	}
	return nil
}

// Readlink returns a symlink's target.
func (d *Dir) Readlink(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	buf := make([]byte, MaxNameLen+1)
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return "", d.pathErr("readlink", name, err)
	}
	return string(buf[:n]), nil
}

// Remove removes a file, symlink or empty directory.
func (d *Dir) Remove(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	err := unix.Unlinkat(d.fd, name, 0)
	if err == unix.EISDIR {
		err = unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return d.pathErr("remove", name, err)
	}
	return nil
}

// RemoveAll removes name and, if it is a directory, everything below it,
// never following a symlink. A missing name is not an error.
func (d *Dir) RemoveAll(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if err := removeAllAt(d.fd, name, 0); err != nil && err != unix.ENOENT {
		return d.pathErr("remove all", name, err)
	}
	return nil
}

func removeAllAt(dirfd int, name string, depth int) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err != unix.EISDIR {
		return err
	}
	if depth > MaxDepth {
		return fmt.Errorf("deeper than %d levels", MaxDepth)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	for {
		names, err := readNames(fd)
		if err != nil {
			unix.Close(fd)
			return err
		}
		if len(names) == 0 {
			break
		}
		for _, n := range names {
			if err := removeAllAt(fd, n, depth+1); err != nil && err != unix.ENOENT {
				unix.Close(fd)
				return fmt.Errorf("%s/%s: %w", name, n, err)
			}
		}
		if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
			unix.Close(fd)
			return err
		}
	}
	unix.Close(fd)
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// SetMeta changes owner, mode and times of name without following a
// symlink: for a symlink owner and times are set on the link itself and
// mode is ignored.
func (d *Dir) SetMeta(name string, m Meta) error {
	if err := CheckName(name); err != nil {
		return err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return d.pathErr("open", name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return d.pathErr("stat", name, err)
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if m.SetOwner {
		if err := unix.Fchownat(fd, "", int(m.UID), int(m.GID), unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return d.pathErr("chown", name, err)
		}
	}
	if m.SetMode && !isLink {
		var err error = unix.EOPNOTSUPP
		if !d.r.noChm2 {
			err = unix.Fchmodat(fd, "", m.Mode&07777, unix.AT_EMPTY_PATH)
		}
		if err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL {
			// Before fchmodat2 (Linux 6.6): chmod the O_PATH descriptor's own inode.
			err = unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), m.Mode&07777)
		}
		if err != nil {
			return d.pathErr("chmod", name, err)
		}
	}
	if m.SetTimes {
		ts := timespecs(m)
		if err := unix.UtimesNanoAt(d.fd, name, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return d.pathErr("set times", name, err)
		}
	}
	return nil
}

// Statfs reports the file system holding the directory.
func (d *Dir) Statfs() (Statfs, error) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(d.fd, &s); err != nil {
		return Statfs{}, d.pathErr("statfs", "", err)
	}
	return Statfs{BlockSize: uint64(s.Bsize), Blocks: s.Blocks, BlocksFree: s.Bavail,
		Files: s.Files, FilesFree: s.Ffree, NameMax: uint64(s.Namelen), FsType: int64(s.Type)}, nil
}

// Name-based conveniences: each opens the parent handle and delegates.

func (r *Root) withParent(rel string, fn func(d *Dir, name string) error) error {
	parent, name, err := splitParent(rel)
	if err != nil {
		return err
	}
	d, err := r.OpenDir(parent)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(d, name)
}

// Mkdir creates the directory rel with mode.
func (r *Root) Mkdir(rel string, mode uint32) error {
	return r.withParent(rel, func(d *Dir, n string) error { return d.Mkdir(n, mode) })
}

// Symlink creates rel as a symlink to target.
func (r *Root) Symlink(target, rel string) error {
	return r.withParent(rel, func(d *Dir, n string) error { return d.Symlink(target, n) })
}

// Readlink reads the symlink rel.
func (r *Root) Readlink(rel string) (string, error) {
	var s string
	err := r.withParent(rel, func(d *Dir, n string) (err error) { s, err = d.Readlink(n); return })
	return s, err
}

// Remove removes the file, symlink or empty directory rel.
func (r *Root) Remove(rel string) error {
	return r.withParent(rel, func(d *Dir, n string) error { return d.Remove(n) })
}

// RemoveAll removes rel and everything below it.
func (r *Root) RemoveAll(rel string) error {
	return r.withParent(rel, func(d *Dir, n string) error { return d.RemoveAll(n) })
}

// SetMeta changes rel's owner, mode and times; "" is the root.
func (r *Root) SetMeta(rel string, m Meta) error {
	if comps, err := Split(rel); err == nil && len(comps) == 0 {
		fd, err := unix.Openat(r.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return r.pathErr("open", rel, err)
		}
		defer unix.Close(fd)
		if err := setMetaFd(fd, m); err != nil {
			return r.pathErr("set meta", rel, err)
		}
		return nil
	}
	return r.withParent(rel, func(d *Dir, n string) error { return d.SetMeta(n, m) })
}

// Statfs reports the file system holding the directory rel.
func (r *Root) Statfs(rel string) (Statfs, error) {
	d, err := r.OpenDir(rel)
	if err != nil {
		return Statfs{}, err
	}
	defer d.Close()
	return d.Statfs()
}
