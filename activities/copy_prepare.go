package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// prepare checks both roots, resolves the source root, checks the target
// root and its free space and opens the manifest. The two hosts are asked
// at the same time: each answer is a round trip that, in a final sync,
// is part of the downtime window.
func (e *engine) prepare(ctx context.Context) error {
	if e.hooks.forceReadBack {
		e.dst.setTool(sumTool{})
	}
	var fi, tfi os.FileInfo
	var serr, terr error
	var wg sync.WaitGroup
	wg.Go(func() { fi, serr = e.prepareSource() })
	wg.Go(func() { tfi, terr = e.dst.primary.Lstat(e.to) })
	wg.Wait()
	if serr != nil {
		return serr
	}
	tfi, targetExists, err := e.prepareTarget(fi, tfi, terr)
	if err != nil {
		return err
	}
	if e.opt.dry {
		e.measureFree(targetExists)
		return nil
	}
	if err := e.guardSFTPOnly(ctx); err != nil {
		return err
	}
	dcl := e.dst.primary
	if !targetExists {
		e.measureFree(false)
		// A first seed copies everything: dial the extra connections now,
		// in parallel with the walk.
		e.src.grow(ctx)
		e.dst.grow(ctx)
		if err := dcl.MkdirAll(e.to); err != nil {
			return fmt.Errorf("create target root %s on %s: %w", e.to, e.dst.name, err)
		}
	} else {
		wg.Go(func() { e.measureFree(true) })
		if tfi.Mode().Perm()&0o700 != 0o700 {
			_ = dcl.Chmod(e.to, tfi.Mode().Perm()|0o700)
			e.markDirty("")
		}
	}
	e.man, err = openManifest(dcl, e.dst.name, manifestPath(e.to, e.in.MoveID, e.in.Set.Name, e.in.Phase))
	wg.Wait()
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
	var real string
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { real, rerr = scl.RealPath(e.from) })
	fi, err := scl.Lstat(e.from)
	wg.Wait()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, e.refusedSet(err, "source directory %s does not exist on %s", e.from, e.src.name)
		}
		return nil, fmt.Errorf("stat source %s on %s: %w", e.from, e.src.name, err)
	}
	isLink := fi.Mode()&os.ModeSymlink != 0
	err = rerr
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

// prepareTarget checks the target root (tfi, err: its Lstat): a real
// directory or missing.
func (e *engine) prepareTarget(srcRoot, tfi os.FileInfo, err error) (os.FileInfo, bool, error) {
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
