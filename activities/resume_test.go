package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// listPartial returns the resumable partial files under root.
func listPartial(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, p := range listTmp(t, root) {
		if strings.HasPrefix(filepath.Base(p), tmpPrefix+partialTag) {
			out = append(out, p)
		}
	}
	return out
}

// interruptCopy starts a copy of f's tree and cancels it once a file is
// written up to at bytes, as when the worker dies mid-file. It returns the
// one partial file the interruption must leave and what the copy returned.
func interruptCopy(t *testing.T, f *copyFixture, at int64) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	faultHooks.afterWrite = func(_ string, end int64) {
		if end >= at {
			once.Do(cancel)
		}
	}
	_, err := f.a.CopyTree(ctx, f.input(CopySet{}))
	faultHooks.afterWrite = nil
	parts := listPartial(t, f.dstRoot)
	if len(parts) != 1 {
		t.Fatalf("partial files after the interruption at %d bytes: %v", at, parts)
	}
	return parts[0], err
}

// A copy interrupted in the middle of a big file leaves the partial file;
// the next attempt keeps its verified prefix and sends at most one chunk
// of it again. The result is byte-identical.
func TestCopyTreeResumesPartialFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conns int
	}{{"one lane", 1}, {"two lanes", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCopyFixture(t)
			f.a.Options.Conns = tc.conns
			oldBig := bigFile
			bigFile = 8 << 20
			defer func() { f.a.Options.Conns, bigFile = 0, oldBig }()
			const size = 41<<20 + 123
			writeFile(t, filepath.Join(f.srcRoot, "db/big.bin"), randBytes(11, size), 0o640, time.Unix(1700000000, 0))
			writeFile(t, filepath.Join(f.srcRoot, "db/small"), []byte("s"), 0o644, time.Unix(1700000000, 0))

			part, err := interruptCopy(t, f, 20<<20)
			if err == nil {
				t.Fatal("interrupted copy returned no error")
			}
			fi, _ := os.Stat(part)
			t.Logf("partial file holds %d of %d bytes", fi.Size(), size)

			res := f.copy(t, f.input(CopySet{}))
			t.Logf("resumed %d bytes, re-sent %d", res.ResumedBytes, res.ResentBytes)
			if res.ResumedBytes < 18<<20 {
				t.Errorf("resumed %d bytes; want the verified prefix (at least %d) kept", res.ResumedBytes, 18<<20)
			}
			if res.ResentBytes > chunkSize {
				t.Errorf("re-sent %d bytes of the partial file; want at most one chunk (%d)", res.ResentBytes, chunkSize)
			}
			if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
				t.Fatal(err)
			}
			if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

// A partial file whose content differs from the source (the target was
// written to behind our back) is not trusted beyond the chunks that match.
func TestCopyTreeResumeChecksContent(t *testing.T) {
	f := newCopyFixture(t)
	const size = 9<<20 + 5
	data := randBytes(12, size)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), data, 0o644, time.Unix(1700000000, 0))
	part, _ := interruptCopy(t, f, 6<<20)
	// Corrupt the second chunk of the partial file, as a write that had
	// not finished when the worker died would leave it.
	pf, err := os.OpenFile(part, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	pf.WriteAt([]byte("garbage"), chunkSize+10)
	pf.Close()
	pfi, _ := os.Stat(part)
	whole := min(pfi.Size(), size) / chunkSize
	if whole < 3 {
		t.Fatalf("partial file of %d bytes; the test needs three whole chunks", pfi.Size())
	}
	res := f.copy(t, f.input(CopySet{}))
	// Every whole chunk but the corrupt one is kept; only it and the
	// unfinished tail are sent again.
	if want := (whole - 1) * chunkSize; res.ResumedBytes != want || res.ResentBytes != pfi.Size()-want {
		t.Errorf("resumed %d re-sent %d of a %d-byte partial file; want %d kept, the corrupt chunk and the tail sent again",
			res.ResumedBytes, res.ResentBytes, pfi.Size(), want)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A partial file of another version of the source file (it changed since
// the interrupted attempt) is not resumed: the walk removes it.
func TestCopyTreeDropsStalePartial(t *testing.T) {
	f := newCopyFixture(t)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(13, 5<<20), 0o644, time.Unix(1700000000, 0))
	part, _ := interruptCopy(t, f, 2<<20)
	// The source file changes (new mtime) before the retry.
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(14, 5<<20), 0o644, time.Unix(1700000100, 0))
	res := f.copy(t, f.input(CopySet{}))
	if res.ResumedBytes != 0 {
		t.Errorf("resumed %d bytes of a partial file of another version", res.ResumedBytes)
	}
	if _, err := os.Lstat(part); !os.IsNotExist(err) {
		t.Errorf("stale partial file %s not removed: %v", part, err)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
