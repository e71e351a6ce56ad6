package activities

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
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

// dirMetaAtOnce bounds the directories whose metadata is set at once.
const dirMetaAtOnce = 32

// applyDirMetas sets directory modes and mtimes after their contents:
// writing into a directory changes its mtime, and a mode that closes it
// would block the writes below it. So the deepest directories go first,
// and the directories of one depth, which do not contain each other, at
// the same time: a final sync that touched a hundred directories does
// not wait for a hundred times three round trips inside the window.
func (e *engine) applyDirMetas() error {
	byDepth := map[int][]int{}
	deepest := 0
	for i, d := range e.dirList {
		n := 0
		if d.rel != "" {
			n = strings.Count(d.rel, "/") + 1
		}
		byDepth[n] = append(byDepth[n], i)
		deepest = max(deepest, n)
	}
	for n := deepest; n >= 0; n-- {
		var mu sync.Mutex
		var first error
		var wg sync.WaitGroup
		sem := make(chan struct{}, dirMetaAtOnce)
		for _, i := range byDepth[n] {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := e.applyDirMeta(e.dirList[i]); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if first != nil {
			return first
		}
	}
	return nil
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
