package demo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// DataStats counts what GenerateFinanceShare wrote.
type DataStats struct {
	Files, Dirs, Symlinks int
	Bytes                 int64
}

// GenerateFinanceShare writes a finance share under root: nested ledger
// directories with a few thousand files of mixed sizes, a symlink, an
// empty directory, restrictive modes and excluded scratch files. The
// content is pseudo-random from seed, so runs are reproducible. scale
// multiplies the file count (1 = about 2,600 files, ~60 MiB).
func GenerateFinanceShare(root string, seed uint64, scale int) (DataStats, error) {
	if scale < 1 {
		scale = 1
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return DataStats{}, fmt.Errorf("create finance share %s: %w", root, err)
	}
	w := &shareWriter{root: root, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		base: time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)}
	// The order of the parts fixes the random sequence: keep it.
	for _, part := range []func(int) error{w.ledger, w.invoicesAndReports, w.applicationFiles} {
		if err := part(scale); err != nil {
			return w.st, err
		}
	}
	return w.st, nil
}

// shareWriter writes the finance share's files from one random source
// and counts them.
type shareWriter struct {
	root string
	rng  *rand.Rand
	base time.Time
	st   DataStats
}

// ledger: years × months × bookings, mostly small CSV files.
func (w *shareWriter) ledger(scale int) error {
	n := 0
	for y := 2019; y <= 2025; y++ {
		for m := 1; m <= 12; m++ {
			for k := 0; k < 25*scale; k++ {
				size := 1024 + w.rng.IntN(63*1024)
				rel := fmt.Sprintf("ledger/%d/%02d/buchungen-%04d.csv", y, m, k)
				if err := w.write(rel, size, 0o640, time.Duration(n)*time.Minute); err != nil {
					return err
				}
				n++
			}
		}
	}
	return nil
}

// invoicesAndReports: scanned invoices (fewer, larger binaries) and
// monthly reports.
func (w *shareWriter) invoicesAndReports(scale int) error {
	for k := 0; k < 40*scale; k++ {
		size := 256*1024 + w.rng.IntN(768*1024)
		if err := w.write(fmt.Sprintf("invoices/2025/rechnung-%05d.pdf", k), size, 0o644, time.Duration(k)*time.Hour); err != nil {
			return err
		}
	}
	for m := 1; m <= 12; m++ {
		if err := w.write(fmt.Sprintf("reports/2025-%02d-abschluss.xlsx", m), 64*1024+w.rng.IntN(192*1024), 0o644, time.Duration(m)*24*time.Hour); err != nil {
			return err
		}
	}
	return nil
}

// applicationFiles: restrictive config and key material, scratch the
// plan excludes, an empty directory the application expects and a
// relative symlink inside the tree.
func (w *shareWriter) applicationFiles(int) error {
	if err := w.write("config/finance.conf", 2048, 0o600, 0); err != nil {
		return err
	}
	if err := w.write("keys/bank-transfer.key", 3243, 0o400, 0); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(w.root, "keys"), 0o700); err != nil {
		return err
	}
	for k := 0; k < 5; k++ {
		if err := w.write(fmt.Sprintf("cache/session-%d.bin", k), 4096, 0o644, 0); err != nil {
			return err
		}
		if err := w.write(fmt.Sprintf("ledger/2025/12/upload-%d.tmp", k), 512, 0o644, 0); err != nil {
			return err
		}
	}
	if err := w.mkdir("archive/2026", 0o750); err != nil {
		return err
	}
	if err := os.Symlink("ledger/2025", filepath.Join(w.root, "current")); err != nil {
		return err
	}
	w.st.Symlinks++
	return nil
}

func (w *shareWriter) mkdir(rel string, mode os.FileMode) error {
	p := filepath.Join(w.root, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	w.st.Dirs++
	return os.Chmod(p, mode)
}

// write creates rel with size pseudo-random bytes, mode, and an mtime
// age after the base time.
func (w *shareWriter) write(rel string, size int, mode os.FileMode, age time.Duration) error {
	p := filepath.Join(w.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, w.content(rel, size), mode); err != nil {
		return err
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		return err
	}
	mt := w.base.Add(age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		return err
	}
	w.st.Files++
	w.st.Bytes += int64(size)
	return nil
}

// content is text-like for CSV and random for binaries: both compress
// differently.
func (w *shareWriter) content(rel string, size int) []byte {
	buf := make([]byte, size)
	if filepath.Ext(rel) == ".csv" {
		line := []byte("2025-03-14;4711;Kostenstelle 0815;Buchungstext Gewerbesteuer;1234,56 EUR\n")
		for i := range buf {
			buf[i] = line[(i+w.rng.IntN(3))%len(line)]
		}
		return buf
	}
	for i := 0; i+8 <= len(buf); i += 8 {
		v := w.rng.Uint64()
		for j := 0; j < 8; j++ {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	return buf
}
