package activities

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/pkg/sftp"
)

// SFTP opens and lists by name, and follows symlinks doing so: an entry
// swapped for a symlink between the listing and the read would bring data
// from outside the copy root. So each file is checked through its open
// handle (fstat) against the listing, once after opening and once after
// reading, and each directory's real path and type are checked around its
// listing (a final sync walking find's listing checks a directory before
// any work in it, copy_tree.go). A mismatch refuses the entry as
// RefusalChanged. SFTP shows no
// inode numbers: a swap for a file with the same type, size, mtime, mode
// and owner is beyond what these checks can see.

func uidOf(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return st.UID
	}
	return 0
}

func gidOf(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return st.GID
	}
	return 0
}

func isPerm(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxPermissionDenied {
		return true
	}
	return errors.Is(err, os.ErrPermission)
}

// identityDiff says how now differs from the listed entry, or "".
func identityDiff(listed, now os.FileInfo) string {
	lm, nm := listed.Mode(), now.Mode()
	switch {
	case lm.Type() != nm.Type():
		return fmt.Sprintf("listed as a %s, now a %s", kindName(lm), kindName(nm))
	case lm != nm:
		return fmt.Sprintf("mode %v when listed, now %v", lm, nm)
	case lm.IsRegular() && listed.Size() != now.Size():
		return fmt.Sprintf("size %d when listed, now %d", listed.Size(), now.Size())
	case listed.ModTime().Unix() != now.ModTime().Unix():
		return fmt.Sprintf("mtime %s when listed, now %s", listed.ModTime().UTC().Format("2006-01-02T15:04:05Z"), now.ModTime().UTC().Format("2006-01-02T15:04:05Z"))
	case uidOf(listed) != uidOf(now) || gidOf(listed) != gidOf(now):
		return fmt.Sprintf("owner %d:%d when listed, now %d:%d", uidOf(listed), gidOf(listed), uidOf(now), gidOf(now))
	}
	return ""
}

// checkSource compares an open source handle with the listed entry.
func (e *engine) checkSource(f *sftp.File, listed os.FileInfo, when string) error {
	now, err := f.Stat()
	if err != nil {
		return fmt.Errorf("fstat %s on %s: %w", f.Name(), e.src.name, err)
	}
	if d := identityDiff(listed, now); d != "" {
		return &refusedError{kind: RefusalChanged, reason: "source file changed " + when + ": " + d}
	}
	return nil
}

// readFailed explains a failed read: a source file that changed under the
// copy (shrank, was replaced) is refused as changed rather than failing
// the copy; any other error is returned as it is.
func (e *engine) readFailed(f *sftp.File, listed os.FileInfo, err error) error {
	if cerr := e.checkSource(f, listed, "while it was copied"); isRefused(cerr) {
		return cerr
	}
	return err
}

// listSource lists a source directory after checking that its real path
// is where the walk expects it and that it is still the directory the
// parent's listing showed; it checks again after the listing that
// nothing changed meanwhile. A directory that fails is refused whole.
func (e *engine) listSource(d walkDir) ([]os.FileInfo, error) {
	pre, err := e.checkSourceDir(d)
	if err != nil {
		return nil, err
	}
	p := e.srcPath(d.rel)
	ents, err := e.src.primary.ReadDir(p)
	if err != nil {
		return nil, err
	}
	post, err := e.statSourceDir(d.rel)
	if err != nil {
		return nil, err
	}
	if d := identityDiff(pre, post); d != "" {
		return nil, changedDir("while it was listed: " + d)
	}
	return ents, nil
}

// statSourceDir stats a source directory without following a symlink
// (the root, which prepare resolved, is followed).
func (e *engine) statSourceDir(rel string) (os.FileInfo, error) {
	if rel == "" {
		return e.src.primary.Stat(e.srcPath(rel))
	}
	return e.src.primary.Lstat(e.srcPath(rel))
}

// checkSourceDir checks that a source directory's real path is where the
// walk expects it and that it is still the directory its parent's
// listing showed; it returns what it found.
func (e *engine) checkSourceDir(d walkDir) (os.FileInfo, error) {
	cl := e.src.primary
	p := e.srcPath(d.rel)
	var real string
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { real, rerr = cl.RealPath(p) })
	pre, err := e.statSourceDir(d.rel)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if !pre.IsDir() || pre.Mode() != d.mode {
		return nil, changedDir("since its parent was listed: " + dirDiff(d.mode, pre))
	}
	if rerr != nil {
		return nil, rerr
	}
	if real != path.Clean(p) { // Clean: a root of "/" joins to "//name"
		return nil, changedDir(fmt.Sprintf("it resolves to %s (a symlink in its path)", real))
	}
	return pre, nil
}

func changedDir(why string) error {
	return &refusedError{kind: RefusalChanged, reason: "source directory changed " + why + "; nothing below it was copied or deleted"}
}

func dirDiff(listed fs.FileMode, now os.FileInfo) string {
	if !now.IsDir() {
		return "now a " + kindName(now.Mode())
	}
	return fmt.Sprintf("mode %v when listed, now %v", listed, now.Mode())
}
