//go:build chaos

package chaos

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	profileSmall    = "small"     // ~40 files, a few hundred KiB
	profileBigSeed  = "big-seed"  // small plus 3 MiB, for a long seed
	profileBigDelta = "big-delta" // small, then 3 MiB more before cutover
)

var modes = []os.FileMode{0o644, 0o600, 0o640, 0o755, 0o400}

func randTime(rng *rand.Rand) time.Time {
	return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(5*365*24)) * time.Hour)
}

// writeFile writes size random bytes with a random old mtime.
func writeFile(p string, rng *rand.Rand, size int, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	if err := os.WriteFile(p, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	mt := randTime(rng)
	return os.Chtimes(p, mt, mt)
}

// makeTree writes a seeded tree: nested files of mixed modes and sizes, a
// symlink inside the tree, an empty directory; big-seed adds 3 MiB.
func makeTree(root string, rng *rand.Rand, profile string) error {
	dirs := []string{"db", "db/journal", "exports", "bin", "secrets", "spool/in"}
	for i := range 36 {
		d := dirs[rng.IntN(len(dirs))]
		p := filepath.Join(root, d, fmt.Sprintf("f%02d.dat", i))
		if err := writeFile(p, rng, rng.IntN(20<<10), modes[rng.IntN(len(modes))]); err != nil {
			return err
		}
	}
	if profile == profileBigSeed {
		for i := range 3 {
			if err := writeFile(filepath.Join(root, "db", fmt.Sprintf("big%d.db", i)), rng, 1<<20, 0o640); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "spool/empty"), 0o750); err != nil {
		return err
	}
	if err := os.Symlink("db/journal", filepath.Join(root, "journal")); err != nil {
		return err
	}
	return os.Chmod(filepath.Join(root, "secrets"), 0o700)
}

// mutate changes the source while the move waits for approval: two files
// rewritten, one added, one removed; big-delta adds 3 MiB.
func mutate(root string, rng *rand.Rand, profile string) error {
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 3 {
		return nil
	}
	for _, p := range files[:2] {
		if err := writeFile(p, rng, 1000+rng.IntN(8000), 0o640); err != nil {
			return err
		}
	}
	if err := os.Remove(files[2]); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(root, "exports/new.csv"), rng, 3000, 0o644); err != nil {
		return err
	}
	if profile == profileBigDelta {
		for i := range 3 {
			if err := writeFile(filepath.Join(root, "db", fmt.Sprintf("delta%d.db", i)), rng, 1<<20, 0o640); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileSum is one tree entry as the checks see it.
type fileSum struct {
	mode fs.FileMode
	size int64
	link string
	sum  [32]byte
}

// sumTree maps every entry under root (slash paths) to its fileSum.
func sumTree(root string) (map[string]fileSum, error) {
	out := map[string]fileSum{}
	// Entries that vanish while walked (a swap in progress) are left out.
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p != root {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		e := fileSum{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := readNoFollow(p)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errSwapped) {
				return nil
			}
			if err != nil {
				return err
			}
			e.size, e.sum = int64(len(b)), sha256.Sum256(b)
		}
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	return out, err
}

// errSwapped says an entry Lstat saw as a file is something else by the
// time it is opened (a swap in progress).
var errSwapped = errors.New("entry changed type while summed")

// readNoFollow reads p only if it is still a regular file when opened:
// reading by name after Lstat would follow a symlink swapped in between
// and sum bytes from outside the tree.
func readNoFollow(p string) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, errSwapped
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, errSwapped
	}
	return io.ReadAll(f)
}
