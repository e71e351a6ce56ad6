package rootfs

import (
	"hash"
	"io"
)

// HoleWriter takes a file's content with its holes: WriteHole stands for n
// zero bytes that a sparse file does not store, so that they need neither
// be read, sent nor written.
type HoleWriter interface {
	io.Writer
	WriteHole(n int64) error
}

// HoleReader hands out a file's content with its holes: ReadSpan fills p
// with data (n > 0) or reports a hole of hole zero bytes (n == 0), or fails
// (io.EOF at the end). Its Read yields the holes as zero bytes.
type HoleReader interface {
	io.Reader
	ReadSpan(p []byte) (n int, hole int64, err error)
}

// zeros is what a hole hashes as.
var zeros = make([]byte, 256<<10)

// HashZeros adds n zero bytes to h without reading them from anywhere: a
// hole's digest is the digest of its zeros.
func HashZeros(h hash.Hash, n int64) {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		h.Write(zeros[:k])
		n -= k
	}
}

// WriteZeros writes n zero bytes to w: a hole for a writer that keeps none.
func WriteZeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
