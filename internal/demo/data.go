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
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var st DataStats
	base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	mkdir := func(rel string, mode os.FileMode) error {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		st.Dirs++
		return os.Chmod(p, mode)
	}
	write := func(rel string, size int, mode os.FileMode, age time.Duration) error {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		buf := make([]byte, size)
		// Text-like for CSV, random for binaries: both compress differently.
		if filepath.Ext(rel) == ".csv" {
			line := []byte("2025-03-14;4711;Kostenstelle 0815;Buchungstext Gewerbesteuer;1234,56 EUR\n")
			for i := range buf {
				buf[i] = line[(i+rng.IntN(3))%len(line)]
			}
		} else {
			for i := 0; i+8 <= len(buf); i += 8 {
				v := rng.Uint64()
				for j := 0; j < 8; j++ {
					buf[i+j] = byte(v >> (8 * j))
				}
			}
		}
		if err := os.WriteFile(p, buf, mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil { // umask-proof
			return err
		}
		mt := base.Add(age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			return err
		}
		st.Files++
		st.Bytes += int64(size)
		return nil
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return st, fmt.Errorf("create finance share %s: %w", root, err)
	}
	// Ledger: years × months × bookings, mostly small CSV files.
	n := 0
	for y := 2019; y <= 2025; y++ {
		for m := 1; m <= 12; m++ {
			for k := 0; k < 25*scale; k++ {
				size := 1024 + rng.IntN(63*1024)
				rel := fmt.Sprintf("ledger/%d/%02d/buchungen-%04d.csv", y, m, k)
				if err := write(rel, size, 0o640, time.Duration(n)*time.Minute); err != nil {
					return st, err
				}
				n++
			}
		}
	}
	// Scanned invoices: fewer, larger binaries.
	for k := 0; k < 40*scale; k++ {
		size := 256*1024 + rng.IntN(768*1024)
		if err := write(fmt.Sprintf("invoices/2025/rechnung-%05d.pdf", k), size, 0o644, time.Duration(k)*time.Hour); err != nil {
			return st, err
		}
	}
	// Monthly reports.
	for m := 1; m <= 12; m++ {
		if err := write(fmt.Sprintf("reports/2025-%02d-abschluss.xlsx", m), 64*1024+rng.IntN(192*1024), 0o644, time.Duration(m)*24*time.Hour); err != nil {
			return st, err
		}
	}
	// Restrictive config and key material of the application itself.
	if err := write("config/finance.conf", 2048, 0o600, 0); err != nil {
		return st, err
	}
	if err := write("keys/bank-transfer.key", 3243, 0o400, 0); err != nil {
		return st, err
	}
	if err := os.Chmod(filepath.Join(root, "keys"), 0o700); err != nil {
		return st, err
	}
	// Scratch that the plan excludes.
	for k := 0; k < 5; k++ {
		if err := write(fmt.Sprintf("cache/session-%d.bin", k), 4096, 0o644, 0); err != nil {
			return st, err
		}
		if err := write(fmt.Sprintf("ledger/2025/12/upload-%d.tmp", k), 512, 0o644, 0); err != nil {
			return st, err
		}
	}
	// An empty directory the application expects to exist.
	if err := mkdir("archive/2026", 0o750); err != nil {
		return st, err
	}
	// A relative symlink inside the tree.
	if err := os.Symlink("ledger/2025", filepath.Join(root, "current")); err != nil {
		return st, err
	}
	st.Symlinks++
	return st, nil
}
