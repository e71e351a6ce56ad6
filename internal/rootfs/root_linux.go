package rootfs

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Options tune Open; tests use them to force the fallback resolver.
type Options struct {
	// NoOpenat2 resolves names with the per-component O_NOFOLLOW walk even
	// where the kernel has openat2.
	NoOpenat2 bool
	// NoTmpfile creates new files under a random O_EXCL name even where the
	// file system supports O_TMPFILE.
	NoTmpfile bool
	// NoFchmodat2 changes modes through /proc/self/fd as on kernels
	// before 6.6, even where fchmodat2 exists.
	NoFchmodat2 bool
}

// Root is an open directory all names are resolved beneath. It is safe for
// concurrent use; Close it when done.
type Root struct {
	fd      int // O_PATH|O_DIRECTORY
	path    string
	dev     uint64
	ino     uint64
	openat2 bool
	noTmp   bool
	noChm2  bool
}

var (
	probeOnce sync.Once
	probeOK   bool
)

// Openat2Available reports whether the kernel resolves names with openat2
// (Linux 5.6+, not filtered by seccomp). It probes once per process.
func Openat2Available() bool {
	probeOnce.Do(func() {
		fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == nil {
			unix.Close(fd)
			probeOK = true
		}
	})
	return probeOK
}

// Open opens the root directory at an absolute path. The path itself is
// resolved once, here (a symlink in it is followed); everything after goes
// through the handle.
func Open(path string) (*Root, error) { return OpenWith(path, Options{}) }

// OpenWith is Open with options.
func OpenWith(path string, o Options) (*Root, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("open root %q: the root must be an absolute path", path)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open root", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat root", Path: path, Err: err}
	}
	return &Root{fd: fd, path: filepath.Clean(path), dev: st.Dev, ino: st.Ino,
		openat2: !o.NoOpenat2 && Openat2Available(), noTmp: o.NoTmpfile, noChm2: o.NoFchmodat2}, nil
}

// Close releases the root handle. No other call on the Root may run at the
// same time or after: its descriptor number could be reused by another open.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Path is the path the root was opened by (for messages only).
func (r *Root) Path() string { return r.path }

// Dev and Ino identify the root directory as opened.
func (r *Root) Dev() uint64 { return r.dev }

// Ino: see Dev.
func (r *Root) Ino() uint64 { return r.ino }

// UsesOpenat2 reports which resolver this root uses.
func (r *Root) UsesOpenat2() bool { return r.openat2 }

func (r *Root) pathErr(op, rel string, err error) error {
	p := r.path
	if rel != "" && rel != "." {
		p = r.path + "/" + rel
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// openat opens rel below the root with flags; the last component is never
// followed if it is a symlink, and no component before it may be one.
func (r *Root) openat(rel string, flags int, mode uint32) (int, error) {
	comps, err := Split(rel)
	if err != nil {
		return -1, err
	}
	flags |= unix.O_CLOEXEC
	if len(comps) == 0 {
		return unix.Openat(r.fd, ".", flags, mode)
	}
	flags |= unix.O_NOFOLLOW
	if r.openat2 {
		how := unix.OpenHow{Flags: uint64(flags),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
		if flags&(unix.O_CREAT|unix.O_TMPFILE) != 0 {
			how.Mode = uint64(mode)
		}
		for try := 0; ; try++ {
			fd, err := unix.Openat2(r.fd, rel, &how)
			// EAGAIN: a concurrent rename raced the lookup; the kernel asks to retry.
			if err == unix.EAGAIN && try < 16 {
				continue
			}
			if err == unix.EXDEV {
				// RESOLVE_BENEATH saw the lookup leave the root (a directory
				// was moved or exchanged during it).
				return fd, ErrOutsideRoot
			}
			return fd, err
		}
	}
	return walkOpen(r.fd, comps, flags, mode)
}

// walkOpen is the resolver for kernels without openat2: one component at a
// time, each directory opened O_NOFOLLOW|O_DIRECTORY relative to the last.
func walkOpen(dirfd int, comps []string, flags int, mode uint32) (int, error) {
	cur, owned := dirfd, false
	for _, c := range comps[:len(comps)-1] {
		nfd, err := unix.Openat(cur, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if owned {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur, owned = nfd, true
	}
	fd, err := unix.Openat(cur, comps[len(comps)-1], flags, mode)
	if owned {
		unix.Close(cur)
	}
	return fd, err
}

// splitParent returns the parent's name and the last component of rel.
func splitParent(rel string) (string, string, error) {
	comps, err := Split(rel)
	if err != nil {
		return "", "", err
	}
	if len(comps) == 0 {
		return "", "", fmt.Errorf("the root itself has no name in a parent: %w", ErrInvalidName)
	}
	parent := ""
	if len(comps) > 1 {
		parent = rel[:len(rel)-len(comps[len(comps)-1])-1]
	}
	return parent, comps[len(comps)-1], nil
}

// Dir is a handle of a directory below (or at) the root. Names given to its
// methods are single components.
type Dir struct {
	r   *Root
	fd  int // O_PATH|O_DIRECTORY
	rel string
	dev uint64
	ino uint64
}

// OpenDir opens a directory handle; "" is the root.
func (r *Root) OpenDir(rel string) (*Dir, error) {
	fd, err := r.openat(rel, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, r.pathErr("open dir", rel, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, r.pathErr("stat dir", rel, err)
	}
	if rel == "." {
		rel = ""
	}
	return &Dir{r: r, fd: fd, rel: rel, dev: st.Dev, ino: st.Ino}, nil
}

// Close releases the handle.
func (d *Dir) Close() error { return unix.Close(d.fd) }

// Rel is the name the handle was opened by.
func (d *Dir) Rel() string { return d.rel }

func (d *Dir) join(name string) string {
	if d.rel == "" {
		return name
	}
	return d.rel + "/" + name
}

func (d *Dir) pathErr(op, name string, err error) error { return d.r.pathErr(op, d.join(name), err) }

// StillAt checks that the handle's directory is still what its name
// resolves to below the root; a writer calls it before committing so that a
// directory moved out from under the root is noticed.
func (d *Dir) StillAt() error {
	fd, err := d.r.openat(d.rel, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return d.r.pathErr("recheck dir", d.rel, fmt.Errorf("%w: %v", ErrDirMoved, err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return d.r.pathErr("recheck dir", d.rel, err)
	}
	if st.Dev != d.dev || st.Ino != d.ino {
		return d.r.pathErr("recheck dir", d.rel, ErrDirMoved)
	}
	return nil
}

func infoFromStat(name string, st *unix.Stat_t) Info {
	var t Type
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		t = TypeFile
	case unix.S_IFDIR:
		t = TypeDir
	case unix.S_IFLNK:
		t = TypeSymlink
	case unix.S_IFIFO:
		t = TypeFIFO
	case unix.S_IFSOCK:
		t = TypeSocket
	case unix.S_IFCHR:
		t = TypeChar
	case unix.S_IFBLK:
		t = TypeBlock
	}
	return Info{
		Name: name, Type: t, Mode: st.Mode & 07777, UID: st.Uid, GID: st.Gid, Size: st.Size,
		MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano(), Ino: st.Ino, Dev: st.Dev, Nlink: uint64(st.Nlink),
	}
}

// Lstat describes rel without following a symlink; "" is the root.
func (r *Root) Lstat(rel string) (Info, error) {
	parent, name, err := splitParent(rel)
	if err != nil {
		if comps, e2 := Split(rel); e2 == nil && len(comps) == 0 {
			var st unix.Stat_t
			if err := unix.Fstat(r.fd, &st); err != nil {
				return Info{}, r.pathErr("lstat", rel, err)
			}
			return infoFromStat("", &st), nil
		}
		return Info{}, err
	}
	d, err := r.OpenDir(parent)
	if err != nil {
		return Info{}, err
	}
	defer d.Close()
	return d.Lstat(name)
}

// Lstat describes name in the directory without following a symlink.
func (d *Dir) Lstat(name string) (Info, error) {
	if err := CheckName(name); err != nil {
		return Info{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Info{}, d.pathErr("lstat", name, err)
	}
	return infoFromStat(name, &st), nil
}
