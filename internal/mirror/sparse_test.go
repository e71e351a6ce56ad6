package mirror

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
)

// SparseFile writes a file of size bytes holding data at off, the rest holes.
func sparseFile(t *testing.T, p string, size, off int64, data []byte) {
	t.Helper()
	f, err := os.Create(p)
	noErr(t, err)
	noErr(t, f.Truncate(size))
	_, err = f.WriteAt(data, off)
	noErr(t, err)
	noErr(t, f.Close())
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	noErr(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	noErr(t, err)
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// checkSparse fails unless dst has src's size and content and at most
// maxBlocks 512-byte blocks allocated.
func checkSparse(t *testing.T, src, dst string, maxBlocks int64) {
	t.Helper()
	s, d := statT(t, src), statT(t, dst)
	if d.Size != s.Size {
		t.Fatalf("%s: %d bytes, source %d", dst, d.Size, s.Size)
	}
	if d.Blocks > maxBlocks {
		t.Fatalf("%s: %d blocks allocated (source %d), want at most %d: the holes were written out", dst, d.Blocks, s.Blocks, maxBlocks)
	}
	if fileSum(t, src) != fileSum(t, dst) {
		t.Fatalf("%s: content differs from the source", dst)
	}
}

func TestSparseFileKeepsHoles(t *testing.T) {
	e := newEnv(t)
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i*7 + 1)
	}
	sparseFile(t, filepath.Join(e.src, "disk.img"), 512<<20, 100<<20, data)
	sparseFile(t, filepath.Join(e.src, "tail-hole"), 1<<20, 0, data)
	sparseFile(t, filepath.Join(e.src, "head-hole"), 1<<20, 1<<20-4096, data)
	if statT(t, filepath.Join(e.src, "disk.img")).Blocks > 64 {
		t.Skip("the temporary directory's file system keeps no holes")
	}
	res, _, _, err := e.run(baseSpec(contract.PhaseSeed))
	noErr(t, err)
	for _, n := range []string{"disk.img", "tail-hole", "head-hole"} {
		checkSparse(t, filepath.Join(e.src, n), filepath.Join(e.dst, n), 64)
	}
	want(t, "copied bytes", res.CopiedBytes, 512<<20+2<<20)
	// A final sync without the state hashes both sides, holes as zeros.
	spec := baseSpec(contract.PhaseFinalSync)
	spec.State = StateRef{}
	res, _, _, err = e.run(spec)
	noErr(t, err)
	want(t, "copied", res.CopiedFiles, 0)
	want(t, "verified", res.Verified, 3)
}
