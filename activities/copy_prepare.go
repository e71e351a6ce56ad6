package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// prepare checks both roots, resolves the source root, checks the target
// root and its free space and opens the manifest.
func (e *engine) prepare(ctx context.Context) error {
	if e.hooks.forceReadBack {
		e.dst.setTool(sumTool{})
	}
	fi, err := e.prepareSource()
	if err != nil {
		return err
	}
	tfi, targetExists, err := e.prepareTarget(fi)
	if err != nil {
		return err
	}
	e.measureFree(targetExists)
	if e.opt.dry {
		return nil
	}
	dcl := e.dst.primary
	if !targetExists {
		// A first seed copies everything: dial the extra connections now,
		// in parallel with the walk.
		e.src.grow(ctx)
		e.dst.grow(ctx)
		if err := dcl.MkdirAll(e.to); err != nil {
			return fmt.Errorf("create target root %s on %s: %w", e.to, e.dst.name, err)
		}
	} else if tfi.Mode().Perm()&0o700 != 0o700 {
		_ = dcl.Chmod(e.to, tfi.Mode().Perm()|0o700)
		e.markDirty("")
	}
	e.man, err = openManifest(dcl, e.dst.name, manifestPath(e.to, e.in.MoveID, e.in.Set.Name, e.in.Phase))
	return err
}

// refusedSet is a non-retryable error about the copy set's configuration.
func (e *engine) refusedSet(err error, format string, a ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: ", e.in.Set.Name)+fmt.Sprintf(format, a...), contract.ErrCopyRefused, err)
}

// prepareSource checks the source root and resolves it to its real path
// (symlinks in it or above it), so that every directory's real path can
// be checked against the path the walk expects before it is listed.
func (e *engine) prepareSource() (os.FileInfo, error) {
	scl := e.src.primary
	fi, err := scl.Lstat(e.from)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, e.refusedSet(err, "source directory %s does not exist on %s", e.from, e.src.name)
		}
		return nil, fmt.Errorf("stat source %s on %s: %w", e.from, e.src.name, err)
	}
	isLink := fi.Mode()&os.ModeSymlink != 0
	real, err := scl.RealPath(e.from)
	if err == nil {
		fi, err = scl.Stat(real)
	}
	switch {
	case err != nil && isLink:
		return nil, e.refusedSet(err, "source %s on %s is a symlink that does not lead to a directory", e.from, e.src.name)
	case err != nil:
		return nil, fmt.Errorf("resolve source %s on %s: %w", e.from, e.src.name, err)
	case !fi.IsDir() && isLink:
		return nil, e.refusedSet(nil, "source %s on %s is a symlink that does not lead to a directory", e.from, e.src.name)
	case !fi.IsDir():
		return nil, e.refusedSet(nil, "source %s on %s is not a directory", e.from, e.src.name)
	}
	if isLink {
		e.note(fmt.Sprintf("note: source root %s is a symlink; copied the directory it points to, %s", e.from, real))
	}
	e.from, e.rootMode = real, fi.Mode()
	return fi, nil
}

// prepareTarget checks the target root: a real directory or missing.
func (e *engine) prepareTarget(srcRoot os.FileInfo) (os.FileInfo, bool, error) {
	tfi, err := e.dst.primary.Lstat(e.to)
	if err == nil {
		e.dirList = append(e.dirList, newDirMeta("", srcRoot, tfi))
	} else {
		e.dirList = append(e.dirList, newDirMeta("", srcRoot, nil))
	}
	switch {
	case err == nil && tfi.Mode()&os.ModeSymlink != 0:
		return nil, false, e.refusedSet(nil, "target root %s on %s is a symlink; refusing to write through it (point `to` at the real directory)", e.to, e.dst.name)
	case err == nil && !tfi.IsDir():
		return nil, false, e.refusedSet(nil, "target %s on %s exists and is not a directory", e.to, e.dst.name)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("stat target %s on %s: %w", e.to, e.dst.name, err)
	}
	return tfi, err == nil, nil
}

// measureFree records the free space (statvfs) at the target root or its
// nearest existing ancestor.
func (e *engine) measureFree(targetExists bool) {
	dcl := e.dst.primary
	at := e.to
	if !targetExists {
		for at != "/" {
			at = path.Dir(at)
			if _, err := dcl.Stat(at); err == nil {
				break
			}
		}
	}
	if st, err := dcl.StatVFS(at); err == nil {
		e.free, e.freeAt = int64(st.FreeSpace()), at
		if st.Bavail > 0 || st.Bfree > 0 {
			e.free = int64(st.Bavail) * int64(st.Frsize)
		}
	}
	if e.hooks.freeBytes > 0 {
		e.free = e.hooks.freeBytes
	}
}
