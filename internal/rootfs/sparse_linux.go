package rootfs

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// nextData returns the data extent [start, end) at or after off of the
// file fd of size bytes; start == size when only a hole is left. A file
// system without SEEK_DATA reports the whole rest as data.
func nextData(fd int, off, size int64) (start, end int64, err error) {
	start, err = unix.Seek(fd, off, unix.SEEK_DATA)
	switch {
	case errors.Is(err, unix.ENXIO):
		return size, size, nil // only a hole up to the end
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP):
		return off, size, nil
	case err != nil:
		return 0, 0, err
	}
	end, err = unix.Seek(fd, start, unix.SEEK_HOLE)
	if err != nil {
		return 0, 0, err
	}
	return min(start, size), min(end, size), nil
}

// CopySparse writes the file's first size bytes (its size at open) to w:
// its data extents, found with SEEK_DATA and SEEK_HOLE on the descriptor,
// as bytes read at their offsets and the holes between them as WriteHole.
// It returns the logical bytes passed on (data plus holes).
func (f *File) CopySparse(size int64, w HoleWriter, buf []byte) (int64, error) {
	fd := int(f.Fd())
	var off int64
	for off < size {
		start, end, err := nextData(fd, off, size)
		if err != nil {
			return off, fmt.Errorf("find data in %s at %d: %w", f.Name(), off, err)
		}
		if start > off {
			if err := w.WriteHole(start - off); err != nil {
				return off, err
			}
			off = start
		}
		for off < end {
			n, err := f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return off, werr
				}
				off += int64(n)
			}
			if err == io.EOF {
				// Shrunk while read: the caller's restat says so.
				return off, nil
			}
			if err != nil {
				return off, fmt.Errorf("read %s: %w", f.Name(), err)
			}
		}
	}
	return off, nil
}

// FirstHole returns the offset of the first hole below the file's size at
// open, or that size when the file has none.
func (f *File) FirstHole() (int64, error) {
	size := f.info.Size
	if size == 0 {
		return 0, nil
	}
	off, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENXIO) {
		return size, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find a hole in %s: %w", f.Name(), err)
	}
	return min(off, size), nil
}

// WriteHole leaves n bytes unwritten at the end of the file, extending it
// with ftruncate so a hole at the end also counts, and adds them to the
// running digest as zeros.
func (t *TempFile) WriteHole(n int64) error {
	if n < 0 {
		return fmt.Errorf("hole of %d bytes", n)
	}
	if n == 0 {
		return nil
	}
	end := t.n + n
	if err := t.f.Truncate(end); err != nil {
		return err
	}
	if _, err := t.f.Seek(end, io.SeekStart); err != nil {
		return err
	}
	HashZeros(t.h, n)
	t.n = end
	return nil
}

var _ HoleWriter = (*TempFile)(nil)
