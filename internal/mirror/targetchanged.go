package mirror

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// A local user on the target can replace a directory of the target tree
// (by a symlink, a file, or another directory) while the copy writes into
// it. The side refuses to resolve a name through it; the engine refuses
// the entries below it as changed, so the rest of the copy goes on and a
// seed is not blocked by whoever can write into the target tree.

// targetSwapped reports whether err from the target means that a
// component of the name no longer is the directory the walk listed (or
// is gone: the engine creates every name it writes, so a missing one is
// a parent removed under it).
func targetSwapped(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) ||
		errors.Is(err, rootfs.ErrDirMoved) || errors.Is(err, rootfs.ErrIdentityMismatch) ||
		errors.Is(err, rootfs.ErrOutsideRoot)
}

// ErrDigestMismatch: a file's bytes as written on the target differed
// from the bytes read on the source, on the copy and on its one retry.
var ErrDigestMismatch = errors.New("digest mismatch")

const targetSwappedWhy = "a directory on its path in the target was replaced (by a symlink or other) or removed during the copy; nothing was written through it"

// refuseTarget refuses rel as changed when err is a target swap and
// reports whether it did.
func (r *run) refuseTarget(rel string, err error) bool {
	if !targetSwapped(err) {
		return false
	}
	why := targetSwappedWhy
	if r.spec.Phase == contract.PhaseSeed {
		why += "; left for the final sync"
	}
	r.refs.refuse(rel, contract.RefusalChanged, why+": "+err.Error())
	return true
}

// targetFileFailed is refuseTarget for a file task, which also takes the
// file out of the tallies.
func (r *run) targetFileFailed(t fileTask, err error) bool {
	if !r.refuseTarget(t.e.Name, err) {
		return false
	}
	r.t.files.Add(-1)
	r.t.bytes.Add(-t.e.Size)
	r.t.workFiles.Add(-1)
	r.t.workBytes.Add(-t.e.Size)
	return true
}
