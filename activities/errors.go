package activities

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// permanent returns err as a non-retryable ApplicationError, with err's
// whole message, when its cause cannot heal by retrying: a non-retryable
// ApplicationError anywhere in the chain (the SDK only honours one at the
// top), a host-key, configuration or authentication failure of a dial, or
// a permission denied by the server. Other errors are returned unchanged
// and stay retryable.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae == err || !ae.NonRetryable() {
			return err
		}
		// Keep the outer context, drop the inner error's own suffixes.
		prefix := strings.TrimSuffix(err.Error(), ae.Error())
		return temporal.NewNonRetryableApplicationError(prefix+ae.Message(), ae.Type(), errors.Unwrap(ae))
	}
	var de *DialError
	if errors.As(err, &de) && !de.Retryable() {
		return temporal.NewNonRetryableApplicationError(err.Error(), de.Kind, nil)
	}
	if isDenied(err) {
		return temporal.NewNonRetryableApplicationError(err.Error()+
			"; the SSH user may not access this path (file permissions, or an SFTP server confined to other directories): grant access or change the copy set's paths, then retry the move",
			contract.ErrPathDenied, nil)
	}
	return err
}

func isDenied(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxPermissionDenied {
		return true
	}
	return errors.Is(err, os.ErrPermission)
}

// mayBeFull reports whether err could be the target running out of bytes
// or inodes: OpenSSH's sftp-server reports ENOSPC and EDQUOT as a generic
// SSH_FX_FAILURE, so only the file system's own counters can tell.
func mayBeFull(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		return se.FxCode() == sftp.ErrSSHFxFailure
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// lowSpace is the free space below which a failed write counts as "no
// space": less than one SFTP write packet could not hold the write.
const lowSpace = 64 << 10

// fullError classifies a failed write, create or close at p on the target
// by the target's statvfs, asked right after the failure (before cleanup
// frees anything): read-only, out of inodes or out of bytes become non-retryable
// ApplicationErrors naming host, path and remedy; anything else is
// returned unchanged.
func (ep *endpoint) fullError(err error, p string) error {
	if err == nil || ep == nil || !mayBeFull(err) {
		return err
	}
	st, serr := ep.statVFS(path.Dir(p))
	if serr != nil {
		return err
	}
	return fullFromStat(err, ep.name, p, st)
}

// stRdonly is statvfs's ST_RDONLY flag.
const stRdonly = 1

// fullFromStat is fullError's decision for a known statvfs.
func fullFromStat(err error, host, p string, st *sftp.StatVFS) error {
	if st.Flag&stRdonly != 0 {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s has %s on a read-only file system: %v; remount it read-write or choose another `to`, then retry the move",
			host, path.Dir(p), err), contract.ErrTargetReadOnly, nil)
	}
	if st.Files > 0 && (st.Favail == 0 || st.Ffree == 0) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s is out of inodes at %s (0 of %d free): %v; delete files there or choose a file system with more inodes for `to`, then retry the move",
			host, path.Dir(p), st.Files, err), contract.ErrTargetNoInodes, nil)
	}
	if st.Bavail*st.Frsize < lowSpace {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"target %s is out of space at %s (%s free of %s): %v; free space there or choose another `to`, then retry the move",
			host, path.Dir(p), humanBytes(int64(st.Bavail*st.Frsize)), humanBytes(int64(st.Blocks*st.Frsize)), err), contract.ErrTargetNoSpace, nil)
	}
	return err
}

// statVFS asks the target's file system counters (statvfs@openssh.com).
func (ep *endpoint) statVFS(p string) (*sftp.StatVFS, error) {
	if h := faultHooks.statVFS; h != nil {
		return h(p)
	}
	return ep.primary.StatVFS(p)
}

// copyFailure is what CopyTree returns for err: full targets and other
// permanent causes non-retryable, the rest unchanged.
func (e *engine) copyFailure(err error) error {
	if err == nil {
		return nil
	}
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) && mayBeFull(err) {
		// The root may not exist yet: ask its nearest existing ancestor.
		at := e.to
		for at != "/" {
			if _, serr := e.dst.primary.Stat(at); serr == nil {
				break
			}
			at = path.Dir(at)
		}
		err = e.dst.fullError(err, at+"/.")
	}
	err = permanent(err)
	if errors.As(err, &ae) && ae.NonRetryable() {
		// No retry will resume the partial files: remove them.
		e.dropPartials()
	}
	return err
}

// faultHooks let tests fake what a real target's file system decides.
var faultHooks struct {
	statVFS    func(p string) (*sftp.StatVFS, error) // replaces the target's statvfs
	afterWrite func(tmp string, end int64)           // after each chunk written
}
