package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenPartial opens the file name (one component) in the directory handle
// for reading and writing, never following a symlink: reopened beneath the
// handle (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS where the root uses
// openat2, else O_NOFOLLOW), or with create and when absent created
// O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600. A file that is not regular, has
// other links or is not owned by this process's user is refused: someone
// else put it there. fs.ErrNotExist when absent and not create.
func (d *Dir) OpenPartial(name string, create bool) (*os.File, Info, error) {
	if err := CheckName(name); err != nil {
		return nil, Info{}, err
	}
	const flags = unix.O_RDWR | unix.O_NOFOLLOW | unix.O_CLOEXEC
	reopen := func() (int, error) {
		if d.r.openat2 {
			return unix.Openat2(d.fd, name, &unix.OpenHow{Flags: flags,
				Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
		}
		return unix.Openat(d.fd, name, flags, 0)
	}
	fd, err := reopen()
	if err == unix.ENOENT && create {
		fd, err = unix.Openat(d.fd, name, flags|unix.O_CREAT|unix.O_EXCL, 0600)
		if err == unix.EEXIST {
			// Another range of the same copy created it meanwhile: open
			// that one, with the same checks below.
			fd, err = reopen()
		}
	}
	if err != nil {
		return nil, Info{}, d.pathErr("open partial copy", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, Info{}, d.pathErr("stat partial copy", name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 || st.Uid != uint32(os.Geteuid()) {
		unix.Close(fd)
		return nil, Info{}, d.pathErr("open partial copy", name,
			fmt.Errorf("%w: not a regular file of this user with one link", ErrIdentityMismatch))
	}
	return os.NewFile(uintptr(fd), d.r.path+"/"+d.join(name)), infoFromStat(d.join(name), &st), nil
}

// SetMetaFile sets owner, mode and times of an open file by descriptor.
func SetMetaFile(f *os.File, m Meta) error { return setMetaFd(int(f.Fd()), m) }

// FileInfo describes an open file.
func FileInfo(f *os.File, name string) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return Info{}, err
	}
	return infoFromStat(name, &st), nil
}

// Rename renames old to name within the directory handle, replacing a
// file or symlink of that name (never following it).
func (d *Dir) Rename(old, name string) error {
	if err := CheckName(old); err != nil {
		return err
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if err := unix.Renameat(d.fd, old, d.fd, name); err != nil {
		return d.pathErr("rename into place", name, err)
	}
	return nil
}
