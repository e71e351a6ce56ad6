package activities

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// inside reports whether p is strictly inside the target root: the guard
// in front of every delete.
func (e *engine) inside(p string) bool {
	return path.Clean(p) == p && strings.HasPrefix(p, e.to+"/") && !strings.Contains(p[len(e.to):], "/../")
}

// leftovers handles target entries that the source does not have: stale
// temporary files of a crashed attempt are always removed; the rest only
// with delete, and never when excluded (excluded entries are not ours).
func (e *engine) leftovers(dirRel string, tgt map[string]os.FileInfo) error {
	names := make([]string, 0, len(tgt))
	for n := range tgt {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fi := tgt[name]
		if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			continue
		}
		rel := name
		if dirRel != "" {
			rel = dirRel + "/" + name
		}
		p := e.dstPath(rel)
		if isTmpName(name) {
			if !e.opt.dry && !e.keepPartial(dirRel, name) {
				if err := e.removeEntry(p, fi); err != nil {
					return err
				}
			}
			continue
		}
		if !e.opt.delete || e.filter.Excluded(rel, fi.IsDir()) {
			continue
		}
		if e.opt.dry {
			n, err := e.countTree(p, fi)
			if err != nil {
				return err
			}
			e.deleted.Add(n)
			continue
		}
		if err := e.removeEntry(p, fi); err != nil {
			return err
		}
	}
	return nil
}

// removeEntry deletes a target entry, recursively for real directories
// (symlinks are removed as links, never followed). Every path is checked
// to lie strictly inside the target root first.
func (e *engine) removeEntry(p string, fi os.FileInfo) error {
	if !e.inside(p) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("refusing to delete %s on %s: outside the copy root %s", p, e.dst.name, e.to), contract.ErrCopyRefused, nil)
	}
	cl := e.dst.primary
	if fi.IsDir() {
		if fi.Mode().Perm()&0o700 != 0o700 {
			_ = cl.Chmod(p, 0o700)
		}
		ents, err := cl.ReadDir(p)
		if err != nil {
			return fmt.Errorf("list %s on %s to delete it: %w", p, e.dst.name, err)
		}
		for _, c := range ents {
			n := c.Name()
			if n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
				continue
			}
			if err := e.removeEntry(p+"/"+n, c); err != nil {
				return err
			}
		}
		if err := cl.RemoveDirectory(p); err != nil {
			return fmt.Errorf("remove directory %s on %s: %w", p, e.dst.name, err)
		}
	} else if err := cl.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s on %s: %w", p, e.dst.name, err)
	}
	e.markParentDirty(strings.TrimPrefix(p, e.to+"/"))
	if !isTmpName(path.Base(p)) {
		e.deleted.Add(1)
	}
	return nil
}

// countTree counts the entries a delete would remove (dry run).
func (e *engine) countTree(p string, fi os.FileInfo) (int64, error) {
	if !fi.IsDir() {
		return 1, nil
	}
	ents, err := e.dst.primary.ReadDir(p)
	if err != nil {
		return 0, fmt.Errorf("list %s on %s: %w", p, e.dst.name, err)
	}
	n := int64(1)
	for _, c := range ents {
		k, err := e.countTree(p+"/"+c.Name(), c)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// replaceDir clears the way for a source file or symlink where the target
// has a directory. Without delete, nothing that exists only on the target
// is removed: a directory that still holds entries is left alone and the
// entry is refused (RefusalTargetConflict), so the copy fails unless the
// plan accepts that. It reports whether the directory is gone.
func (e *engine) replaceDir(rel string, fi, old os.FileInfo) (bool, error) {
	p := e.dstPath(rel)
	if !e.opt.delete {
		ents, err := e.dst.primary.ReadDir(p)
		if err != nil {
			return false, fmt.Errorf("list target directory %s on %s before replacing it: %w", p, e.dst.name, err)
		}
		var kept []string
		for _, c := range ents {
			if n := c.Name(); n != "." && n != ".." && !isTmpName(n) {
				kept = append(kept, n)
			}
		}
		if len(kept) > 0 {
			sort.Strings(kept)
			e.refuse(rel, RefusalTargetConflict, fmt.Sprintf(
				"the source now has a %s here, the target a directory holding %d entries the source does not have (e.g. %q); "+
					"without delete = true umzug never removes them: move them away on the target or set delete = true",
				kindName(fi.Mode()), len(kept), kept[0]))
			return false, nil
		}
	}
	if err := e.removeEntry(p, old); err != nil {
		return false, err
	}
	return true, nil
}
