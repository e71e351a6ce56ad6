package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// stripedFixture is a copy fixture whose Activities stripe files from
// 4 MiB and hash 4 MiB at a time on the target.
func stripedFixture(t *testing.T) *copyFixture {
	f := newCopyFixture(t)
	f.a.Options.StripeFrom, f.a.Options.StripeBytes = 4<<20, 4<<20
	return f
}

// hashLog records what the target's hasher was handed and how much of
// the file had been written at that moment.
type hashLog struct {
	mu      sync.Mutex
	ranges  [][2]int64
	written atomic.Int64 // highest end offset written so far
	early   int          // ranges handed over before the last write
}

func (l *hashLog) install(t *testing.T, size int64, corrupt func(tmp string, off, n int64)) {
	faultHooks.afterWrite = func(_ string, end int64) {
		for {
			w := l.written.Load()
			if end <= w || l.written.CompareAndSwap(w, end) {
				return
			}
		}
	}
	stripeHooks.beforeHash = func(tmp string, off, n int64) {
		l.mu.Lock()
		l.ranges = append(l.ranges, [2]int64{off, n})
		if l.written.Load() < size {
			l.early++
		}
		l.mu.Unlock()
		if corrupt != nil {
			corrupt(tmp, off, n)
		}
	}
	t.Cleanup(func() { faultHooks.afterWrite, stripeHooks.beforeHash = nil, nil })
}

// covered returns the bytes handed to the hasher, checking that the
// ranges follow each other from offset 0.
func (l *hashLog) covered(t *testing.T) int64 {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var end int64
	for _, r := range l.ranges {
		if r[0] != end {
			t.Fatalf("hashed ranges %v are not contiguous", l.ranges)
		}
		end += r[1]
	}
	return end
}

// manifestSum returns the sha256 the manifest records for rel.
func manifestSum(t *testing.T, res CopyResult, rel string) string {
	t.Helper()
	data, err := os.ReadFile(res.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e manifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Path == rel {
			return e.SHA256
		}
	}
	t.Fatalf("manifest %s has no entry %q", res.ManifestPath, rel)
	return ""
}

func sumHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// A file of many stripes is copied over two connections and hashed on
// the target while later stripes are still being written; the manifest
// records the sha256 of the file.
func TestCopyTreeStripedVerifiesWhileCopying(t *testing.T) {
	f := stripedFixture(t)
	const size = 23<<20 + 77
	data := randBytes(21, size)
	writeFile(t, filepath.Join(f.srcRoot, "db/big.bin"), data, 0o640, time.Unix(1700000000, 0))
	writeFile(t, filepath.Join(f.srcRoot, "db/small"), []byte("s"), 0o644, time.Unix(1700000000, 0))
	var log hashLog
	log.install(t, size, nil)
	res := f.copy(t, f.input(CopySet{}))
	if res.Verified != 2 || res.Recopied != 0 || res.CopiedBytes != size+1 {
		t.Errorf("verified %d recopied %d copied %d bytes", res.Verified, res.Recopied, res.CopiedBytes)
	}
	if got := log.covered(t); got != size {
		t.Errorf("the target hashed %d bytes as they landed, want %d", got, size)
	}
	if len(log.ranges) < 3 || log.early == 0 {
		t.Errorf("hashed in %d ranges, %d before the last write; want stripes hashed while others were in flight", len(log.ranges), log.early)
	}
	if got := manifestSum(t, res, "db/big.bin"); got != sumHex(data) {
		t.Errorf("manifest sha256 %s, want %s", got, sumHex(data))
	}
	checkManifest(t, f, res, 3)
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// corruptAt flips a byte of the target's temporary file.
func corruptAt(t *testing.T, tmp string, off int64) {
	fh, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer fh.Close()
	b := make([]byte, 1)
	fh.ReadAt(b, off)
	b[0] ^= 0xff
	fh.WriteAt(b, off)
}

// A stripe changed on the target between landing and hashing is caught:
// the file is copied again, and the manifest records the source's digest.
func TestCopyTreeStripedCatchesCorruptStripe(t *testing.T) {
	f := stripedFixture(t)
	const size = 17<<20 + 5
	data := randBytes(22, size)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), data, 0o644, time.Unix(1700000000, 0))
	var log hashLog
	var once sync.Once
	log.install(t, size, func(tmp string, off, n int64) {
		if off > 0 {
			once.Do(func() { corruptAt(t, tmp, off+n/2) })
		}
	})
	res := f.copy(t, f.input(CopySet{}))
	if res.Recopied != 1 || res.Verified != 1 {
		t.Errorf("recopied %d verified %d; want the corrupt copy sent again once", res.Recopied, res.Verified)
	}
	if got := manifestSum(t, res, "big.bin"); got != sumHex(data) {
		t.Errorf("manifest sha256 %s, want %s", got, sumHex(data))
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A target that corrupts every copy fails the copy for good, leaves no
// temporary file and records no digest.
func TestCopyTreeStripedFailsOnRepeatedCorruption(t *testing.T) {
	f := stripedFixture(t)
	const size = 9<<20 + 1
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(23, size), 0o644, time.Unix(1700000000, 0))
	var log hashLog
	log.install(t, size, func(tmp string, off, n int64) { corruptAt(t, tmp, off) })
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != contract.ErrVerificationFailed || !strings.Contains(err.Error(), "big.bin") {
		t.Fatalf("want non-retryable VerificationFailed naming big.bin, got %v", err)
	}
	if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if _, err := os.Lstat(filepath.Join(f.dstRoot, "big.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file that failed verification was placed: %v", err)
	}
	man := filepath.Join(filepath.Dir(f.dstRoot), ".umzug", "umzug_test_finance", "ledger-seed.jsonl")
	if b, err := os.ReadFile(man); err == nil && bytes.Contains(b, []byte("big.bin")) {
		t.Errorf("manifest records the file that failed verification: %s", b)
	}
}

// A copy interrupted in the middle of a striped file resumes it: only
// the chunks not yet in place are sent again, and the target hashes the
// whole file, the kept part included, before it is placed.
func TestCopyTreeStripedResumes(t *testing.T) {
	f := stripedFixture(t)
	const size = 41<<20 + 123
	data := randBytes(24, size)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), data, 0o640, time.Unix(1700000000, 0))
	if _, err := interruptCopy(t, f, 20<<20); err == nil {
		t.Fatal("interrupted copy returned no error")
	}
	var log hashLog
	log.install(t, size, nil)
	res := f.copy(t, f.input(CopySet{}))
	if res.ResumedBytes < 18<<20 || res.ResentBytes > chunkSize {
		t.Errorf("resumed %d re-sent %d bytes; want at least %d kept and at most one chunk sent again", res.ResumedBytes, res.ResentBytes, 18<<20)
	}
	if got := log.covered(t); got != size || res.Verified != 1 {
		t.Errorf("the target hashed %d of %d bytes; verified %d", got, size, res.Verified)
	}
	if got := manifestSum(t, res, "big.bin"); got != sumHex(data) {
		t.Errorf("manifest sha256 %s, want %s", got, sumHex(data))
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// The target hashes with python3, else dd and openssl, else dd and
// sha256sum; a target with none of them has the file verified after
// placement instead.
func TestCopyTreeStripedTargetTools(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tools    []string
		inFlight bool
	}{
		{"python3 alone", []string{"python3"}, true},
		{"dd and openssl", []string{"openssl", "dd"}, true},
		{"dd and sha256sum", []string{"sha256sum", "dd", "xargs"}, true},
		{"no dd", []string{"sha256sum", "xargs"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			for _, tool := range tc.tools {
				if err := os.Symlink("/usr/bin/"+tool, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			f := newCopyFixture(t, "PATH="+bin)
			f.classicOnly(t, "the target's tools are the classic engine's; the agent needs none")
			f.a.Options.StripeFrom, f.a.Options.StripeBytes = 4<<20, 4<<20
			const size = 11<<20 + 9
			data := randBytes(26, size)
			writeFile(t, filepath.Join(f.srcRoot, "big.bin"), data, 0o644, time.Unix(1700000000, 0))
			// Verified as it lands, a stripe corrupted before its hash
			// is caught before the file is placed. Verified after
			// placement (no dd), a file corrupted once placed is caught
			// and placed again.
			var log hashLog
			var once sync.Once
			log.install(t, size, func(tmp string, off, n int64) {
				if off > 0 && tc.inFlight {
					once.Do(func() { corruptAt(t, tmp, off) })
				}
			})
			var placed atomic.Int64
			f.a.hooks.afterPlace = func(rel string) {
				if placed.Add(1) == 1 && !tc.inFlight {
					corruptAt(t, filepath.Join(f.dstRoot, rel), 5)
				}
			}
			defer func() { f.a.hooks.afterPlace = nil }()
			res := f.copy(t, f.input(CopySet{}))
			if res.Verified != 1 || res.Recopied != 1 || res.VerifiedBy != "sha256sum" {
				t.Errorf("verified %d by %q, recopied %d", res.Verified, res.VerifiedBy, res.Recopied)
			}
			if want := map[bool]int64{true: 1, false: 2}[tc.inFlight]; placed.Load() != want {
				t.Errorf("placed %d times, want %d (in flight: %v)", placed.Load(), want, tc.inFlight)
			}
			if got := manifestSum(t, res, "big.bin"); got != sumHex(data) {
				t.Errorf("manifest sha256 %s, want %s", got, sumHex(data))
			}
			if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The target's hasher runs as long as the copy of a striped file; it must
// not hide a data stream that stopped moving from the no-progress bound.
func TestCopyTreeStripedStallIsNoProgress(t *testing.T) {
	f := stripedFixture(t)
	f.a.Options.NoProgress = 500 * time.Millisecond
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(27, 17<<20), 0o644, time.Unix(1700000000, 0))
	var once sync.Once
	faultHooks.afterWrite = func(_ string, end int64) {
		if end >= 6<<20 {
			once.Do(func() { time.Sleep(5 * time.Second) }) // the target stops taking writes
		}
	}
	defer func() { faultHooks.afterWrite = nil }()
	err := copyReturns(t, f.a, context.Background(), f.input(CopySet{}))
	if err == nil || !strings.Contains(err.Error(), "no progress for 500ms") {
		t.Fatalf("want the no-progress failure, got %v", err)
	}
}
