package activities

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// dirMeta is what the post-order pass needs of a directory: compact, so a
// tree with many directories stays small in memory.
type dirMeta struct {
	rel      string
	mode     fs.FileMode
	mtime    int64
	uid, gid uint32
	// The target directory as the walk found it; a directory that
	// already matched and saw no change in this run is left alone.
	existed        bool
	oldMode        fs.FileMode
	oldMtime       int64
	oldUID, oldGID uint32
}

func newDirMeta(rel string, fi, old os.FileInfo) dirMeta {
	d := dirMeta{rel: rel, mode: fi.Mode(), mtime: fi.ModTime().Unix(), uid: uidOf(fi), gid: gidOf(fi)}
	if old != nil && old.IsDir() {
		d.existed, d.oldMode, d.oldMtime, d.oldUID, d.oldGID = true, old.Mode(), old.ModTime().Unix(), uidOf(old), gidOf(old)
	}
	return d
}

// markDirty notes that directory rel (relative to the target root) was
// written to in this run, so its mtime must be set again.
func (e *engine) markDirty(rel string) { e.dirty.Store(rel, struct{}{}) }

// markParentDirty marks the directory holding entry rel.
func (e *engine) markParentDirty(rel string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		e.markDirty(rel[:i])
	} else {
		e.markDirty("")
	}
}

func (e *engine) applyDirMeta(d dirMeta) error {
	if _, dirty := e.dirty.Load(d.rel); d.existed && !dirty && modeBits(d.oldMode) == modeBits(d.mode) &&
		d.oldMtime == d.mtime && (!e.chown || (d.oldUID == d.uid && d.oldGID == d.gid)) {
		return nil
	}
	cl := e.dst.primary
	p := e.dstPath(d.rel)
	if e.chown {
		if err := cl.Chown(p, int(d.uid), int(d.gid)); err != nil && !isPerm(err) {
			return fmt.Errorf("chown directory %s on %s: %w", p, e.dst.name, err)
		}
	}
	if err := cl.Chmod(p, modeBits(d.mode)); err != nil {
		return fmt.Errorf("chmod directory %s on %s: %w", p, e.dst.name, err)
	}
	t := time.Unix(d.mtime, 0)
	if err := cl.Chtimes(p, t, t); err != nil {
		return fmt.Errorf("set mtime of directory %s on %s: %w", p, e.dst.name, err)
	}
	return nil
}

func modeBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// ensureDir makes the target directory exist as a real directory (a file or
// symlink in its place is removed, never followed) and writable for the
// copy. It reports whether the directory existed before (worth listing).
func (e *engine) ensureDir(rel string, old os.FileInfo) (bool, error) {
	if e.opt.dry {
		return old != nil && old.IsDir(), nil
	}
	cl := e.dst.primary
	p := e.dstPath(rel)
	if old != nil && old.IsDir() {
		if old.Mode().Perm()&0o700 != 0o700 {
			if err := cl.Chmod(p, old.Mode().Perm()|0o700); err != nil {
				return true, fmt.Errorf("make directory %s writable on %s: %w", p, e.dst.name, err)
			}
			e.markDirty(rel)
		}
		return true, nil
	}
	e.markParentDirty(rel)
	if old != nil {
		if err := e.removeEntry(p, old); err != nil {
			return false, err
		}
	}
	if err := cl.Mkdir(p); err != nil {
		return false, fmt.Errorf("create directory %s on %s: %w", p, e.dst.name, err)
	}
	return false, nil
}
