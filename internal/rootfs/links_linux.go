package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Link gives the regular file oldRel the further name newRel, both beneath
// the root: linkat between the two parents' handles, never following a
// symlink. The link is made under a temporary name in newRel's parent and
// renamed over newRel, so a file already there is replaced, never written
// through. With expect set, a file at oldRel whose device or inode differ
// is refused (*IdentityError) and nothing is left. It returns newRel as it
// stands afterwards.
func (r *Root) Link(oldRel, newRel string, expect *Identity) (Info, error) {
	op, on, err := splitParent(oldRel)
	if err != nil {
		return Info{}, err
	}
	np, nn, err := splitParent(newRel)
	if err != nil {
		return Info{}, err
	}
	od, err := r.OpenDir(op)
	if err != nil {
		return Info{}, err
	}
	defer od.Close()
	nd, err := r.OpenDir(np)
	if err != nil {
		return Info{}, err
	}
	defer nd.Close()
	return od.LinkTo(on, nd, nn, expect)
}

// LinkTo links the regular file name of this directory as newName in dir
// nd (see Root.Link).
func (d *Dir) LinkTo(name string, nd *Dir, newName string, expect *Identity) (Info, error) {
	if err := CheckName(name); err != nil {
		return Info{}, err
	}
	if err := CheckName(newName); err != nil {
		return Info{}, err
	}
	var tmp string
	for try := 0; ; try++ {
		tmp = randomName()
		err := unix.Linkat(d.fd, name, nd.fd, tmp, 0)
		if err == unix.EEXIST && try < 8 {
			continue
		}
		if err == unix.EXDEV || err == unix.EMLINK || err == unix.EPERM || err == unix.EOPNOTSUPP {
			return Info{}, d.pathErr("hard link", name, fmt.Errorf("%w: %w", ErrCannotLink, err))
		}
		if err != nil {
			return Info{}, d.pathErr("hard link", name, err)
		}
		break
	}
	committed := false
	defer func() {
		if !committed {
			_ = unix.Unlinkat(nd.fd, tmp, 0)
		}
	}()
	// The name may have been swapped between the caller's check and the
	// link: what the temporary name holds is what counts.
	got, err := nd.Lstat(tmp)
	if err != nil {
		return Info{}, err
	}
	if got.Type != TypeFile {
		return Info{}, d.pathErr("hard link", name, fmt.Errorf("not a regular file but a %s", got.Type))
	}
	if expect != nil && (got.Dev != expect.Dev || got.Ino != expect.Ino) {
		return Info{}, &IdentityError{Path: d.r.path + "/" + d.join(name), Want: *expect, Got: got.Identity()}
	}
	if err := nd.StillAt(); err != nil {
		return Info{}, err
	}
	if err := unix.Renameat(nd.fd, tmp, nd.fd, newName); err != nil {
		return Info{}, nd.pathErr("rename link into place", newName, err)
	}
	// rename between two names of one inode does nothing: the temporary
	// name is then still there and goes in the deferred unlink.
	if _, err := nd.Lstat(tmp); err != nil {
		committed = true
	}
	now, err := nd.Lstat(newName)
	if err != nil {
		return Info{}, err
	}
	if now.Dev != got.Dev || now.Ino != got.Ino {
		return Info{}, &IdentityError{Path: d.r.path + "/" + nd.join(newName), Want: got.Identity(), Got: now.Identity()}
	}
	now.Name = nd.join(newName)
	return now, nil
}
