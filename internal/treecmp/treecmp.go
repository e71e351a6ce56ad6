package treecmp

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Options tune what Equal compares.
type Options struct {
	// Skip names entries (slash paths relative to the root, or glob-free
	// prefixes) that are ignored on both sides.
	Skip []string
	// IgnoreDirMtime skips directory mtimes, which some tools do not keep.
	IgnoreDirMtime bool
}

// Summary counts what was compared.
type Summary struct {
	Files, Dirs, Symlinks int
	Bytes                 int64
}

type entry struct {
	mode   fs.FileMode
	size   int64
	mtime  int64 // seconds: SFTP carries whole seconds
	link   string
	digest [32]byte
}

// Equal returns nil when the trees are identical, or an error listing up
// to 20 differences.
func Equal(a, b string, o Options) (Summary, error) {
	ea, err := scan(a, o)
	if err != nil {
		return Summary{}, err
	}
	eb, err := scan(b, o)
	if err != nil {
		return Summary{}, err
	}
	var diffs []string
	var sum Summary
	names := make([]string, 0, len(ea))
	for n := range ea {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		x := ea[n]
		y, ok := eb[n]
		if !ok {
			diffs = append(diffs, "missing in "+b+": "+n)
			continue
		}
		switch {
		case x.mode != y.mode:
			diffs = append(diffs, fmt.Sprintf("%s: mode %v vs %v", n, x.mode, y.mode))
		case x.link != y.link:
			diffs = append(diffs, fmt.Sprintf("%s: symlink %q vs %q", n, x.link, y.link))
		case x.size != y.size:
			diffs = append(diffs, fmt.Sprintf("%s: size %d vs %d", n, x.size, y.size))
		case x.digest != y.digest:
			diffs = append(diffs, fmt.Sprintf("%s: content differs", n))
		case x.mtime != y.mtime && !(x.mode.IsDir() && o.IgnoreDirMtime) && x.mode&fs.ModeSymlink == 0:
			diffs = append(diffs, fmt.Sprintf("%s: mtime %d vs %d", n, x.mtime, y.mtime))
		}
		switch {
		case x.mode.IsDir():
			sum.Dirs++
		case x.mode&fs.ModeSymlink != 0:
			sum.Symlinks++
		default:
			sum.Files++
			sum.Bytes += x.size
		}
	}
	for n := range eb {
		if _, ok := ea[n]; !ok {
			diffs = append(diffs, "extra in "+b+": "+n)
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		more := ""
		if len(diffs) > 20 {
			more = fmt.Sprintf("\n  … and %d more", len(diffs)-20)
			diffs = diffs[:20]
		}
		return sum, fmt.Errorf("trees %s and %s differ:\n  %s%s", a, b, strings.Join(diffs, "\n  "), more)
	}
	return sum, nil
}

func scan(root string, o Options) (map[string]entry, error) {
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		for _, s := range o.Skip {
			if rel == s || strings.HasPrefix(rel, s+"/") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{mode: fi.Mode(), mtime: fi.ModTime().Unix()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, err = os.Readlink(p)
			if err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			e.size = fi.Size()
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			copy(e.digest[:], h.Sum(nil))
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan tree %s: %w", root, err)
	}
	return out, nil
}
