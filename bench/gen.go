package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// GenLargeFile writes size bytes of incompressible data to p.
func GenLargeFile(p string, size int64, seed uint64) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8(seedBytes(seed))
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	return f.Close()
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

// GenSmallFiles writes n files of minSize..maxSize bytes, perDir files per
// directory (two levels: dNNN/eNN), with mtimes in the past so a re-sync
// in the same second cannot confuse a size+mtime check. It returns the
// total bytes written.
func GenSmallFiles(root string, n, minSize, maxSize, perDir int, seed uint64) (int64, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	data := rand.NewChaCha8(seedBytes(seed))
	buf := make([]byte, maxSize)
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	var total int64
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", i/perDir/100), fmt.Sprintf("e%02d", i/perDir%100))
		if i%perDir == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return total, err
			}
		}
		size := minSize
		if maxSize > minSize {
			size += rng.IntN(maxSize - minSize + 1)
		}
		b := buf[:size]
		data.Read(b)
		p := filepath.Join(dir, fmt.Sprintf("f%06d.dat", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return total, err
		}
		if err := os.Chtimes(p, old, old); err != nil {
			return total, err
		}
		total += int64(size)
	}
	return total, nil
}

// modifyCalls counts ModifyFraction calls (benchmarks run sequentially).
var modifyCalls int

// ModifyFraction rewrites every k-th regular file under root (k = 1/frac)
// with new content of the same size and a new mtime, like an application
// updating records in place. It returns the number of files and bytes.
func ModifyFraction(root string, frac float64, seed uint64) (files int, bytes int64, err error) {
	k := int(1 / frac)
	i := 0
	data := rand.NewChaCha8(seedBytes(seed + 99))
	// Each call gets a later whole-second mtime than the last, even within
	// one second: with the same size and mtime a size_mtime re-sync rightly
	// sees no change, which would make the case measure nothing.
	modifyCalls++
	now := time.Now().Add(-time.Hour).Truncate(time.Second).Add(time.Duration(modifyCalls) * time.Second)
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		i++
		if i%k != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b := make([]byte, fi.Size())
		data.Read(b)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		files++
		bytes += fi.Size()
		return os.Chtimes(p, now, now)
	})
	return files, bytes, err
}
