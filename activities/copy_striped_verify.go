package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A big file copied with verify = "sha256" is hashed on the target while
// it is copied: one exec session per file runs a shell loop that reads,
// stripe by stripe, the part of the temporary file whose chunks have all
// been written, and pipes it into one digest. The worker feeds it the
// landed prefix as it grows, so when the last chunk lands only its stripe
// is left to hash; the digest is of the whole file, read in order from
// the target's disk, and must equal the digest of the bytes the worker
// read from the source. That is the same proof as a sha256sum after the
// transfer, without reading the file a second time at the end.

// errLandedMismatch: the target's digest of a file copied with in-flight
// verification differs from the digest of the bytes read from the source.
var errLandedMismatch = errors.New("the target's digest differs from the source's")

// landedHashScript hashes the stripes named on stdin ("first-chunk
// chunk-count" per line, chunks of chunkSize bytes) of the file $f as one
// stream, and writes a "+" line to stderr per stripe hashed. python3
// (pread into one buffer, OpenSSL's sha256) is preferred: it costs a third
// of the CPU of dd piped into a hasher. Otherwise dd feeds openssl (SHA
// CPU extensions) or coreutils' sha256sum (none). Exit 97: the host has
// none of these; the file is then verified after it is placed, as small
// files are.
const landedHashScript = `f=%[1]s
if command -v python3 >/dev/null 2>&1 && python3 -c 'import hashlib, os; os.preadv' >/dev/null 2>&1; then
exec python3 -c '` + landedHashPy + `' "$f" %[2]d
fi
if command -v openssl >/dev/null 2>&1 && openssl dgst -sha256 -r </dev/null >/dev/null 2>&1; then h='openssl dgst -sha256 -r'
elif command -v sha256sum >/dev/null 2>&1; then h=sha256sum
else exit 97; fi
command -v dd >/dev/null 2>&1 || exit 97
while read o n; do dd if="$f" bs=%[2]d skip="$o" count="$n" 2>/dev/null || { echo "dd failed reading $n chunks from chunk $o of $f" >&2; exit 1; }; echo + >&2; done | $h`

// landedHashPy is landedHashScript's loop in python3 (no single quotes:
// it travels inside them).
const landedHashPy = `import hashlib, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
cs = int(sys.argv[2])
h = hashlib.sha256()
m = memoryview(bytearray(cs))
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break
    o, n = line.split()
    off, end = int(o) * cs, (int(o) + int(n)) * cs
    while off < end:
        k = os.preadv(fd, [m[:min(cs, end - off)]], off)
        if k <= 0:
            break
        h.update(m[:k])
        off += k
    sys.stderr.write("+\n")
    sys.stderr.flush()
print(h.hexdigest())`

// stripeHooks let tests act on the target file between a stripe landing
// and its hashing.
var stripeHooks struct {
	beforeHash func(tmp string, off, n int64) // called before a landed range is handed to the target's hasher
}

// landedVerifier hashes one temporary file on the target as it lands.
type landedVerifier struct {
	e      *engine
	tmp    string
	size   int64
	stripe int64 // bytes handed over at a time (a multiple of chunkSize)

	mu     sync.Mutex
	landed map[int64]int64 // chunks written past ready: offset -> length
	ready  int64           // every byte below is written
	fed    int64           // bytes handed to the hasher (<= ready)
	feed   chan [2]int64   // ranges for the feeder goroutine

	pr         *io.PipeReader
	pw         *io.PipeWriter
	cancel     context.CancelFunc
	done       chan struct{}
	out        bytes.Buffer
	errb       stripeMarks
	code       int
	err        error
	stopOnce   sync.Once
	finishOnce bool
}

// startLanded starts hashing tmp on the target for a file of size bytes
// whose first from bytes are already in place (a resumed partial file).
// It returns nil when the file is verified after placement instead.
func (e *engine) startLanded(ctx context.Context, tmp string, size, from int64) *landedVerifier {
	if !e.verifiesInFlight(size) {
		return nil
	}
	cs := int64(chunkSize)
	stripe := max(e.stripeBytes()/cs, 1) * cs
	rctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	v := &landedVerifier{
		e: e, tmp: tmp, size: size, stripe: stripe,
		landed: map[int64]int64{},
		feed:   make(chan [2]int64, size/stripe+3),
		pr:     pr, pw: pw, cancel: cancel, done: make(chan struct{}),
	}
	cmd := fmt.Sprintf(landedHashScript, ShellQuote(tmp), chunkSize)
	// The hasher runs as long as the copy: counted as a running remote
	// command it would hide a stalled data stream from the watchdog.
	// Each stripe it has hashed counts as progress instead.
	run := e.dst.run
	if wr, ok := run.(progressRunner); ok {
		run = wr.r
	}
	v.errb.moved = &e.prog.moved
	go func() {
		defer close(v.done)
		v.code, v.err = run.Run(rctx, cmd, pr, &v.out, &v.errb)
		// A hasher that ended early must not block the feeder.
		pr.CloseWithError(io.ErrClosedPipe)
	}()
	go v.feeder()
	v.land(0, from)
	e.landing.Store(tmp, v)
	return v
}

// feeder writes the ranges to the hasher's stdin, off the write path.
func (v *landedVerifier) feeder() {
	for r := range v.feed {
		if h := stripeHooks.beforeHash; h != nil {
			h(v.tmp, r[0], r[1])
		}
		cs := int64(chunkSize)
		n := (r[1] + cs - 1) / cs
		if _, err := fmt.Fprintf(v.pw, "%d %d\n", r[0]/cs, n); err != nil {
			return // the hasher ended; finish reports why
		}
	}
	v.pw.Close()
}

// landedAt is called by the copy pipeline for every chunk in place on the
// target (written, or held by a resumed partial file).
func (e *engine) landedAt(tmp string, off int64, n int) {
	if v, ok := e.landing.Load(tmp); ok {
		v.(*landedVerifier).land(off, int64(n))
	}
}

// land records bytes [off, off+n) as written and hands the grown prefix
// to the hasher once it holds a stripe, or the whole file.
func (v *landedVerifier) land(off, n int64) {
	if n <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.finishOnce {
		return
	}
	v.landed[off] = n
	for {
		k, ok := v.landed[v.ready]
		if !ok {
			break
		}
		delete(v.landed, v.ready)
		v.ready += k
	}
	if v.ready-v.fed >= v.stripe || (v.ready >= v.size && v.ready > v.fed) {
		v.feed <- [2]int64{v.fed, v.ready - v.fed}
		v.fed = v.ready
	}
}

// finish waits for the target's digest of the whole file and compares it
// with sum, the digest of the bytes read from the source. ok is false
// when the target could not hash (the file is then verified after it is
// placed); a different digest is errLandedMismatch.
func (v *landedVerifier) finish(ctx context.Context, sum string) (ok bool, err error) {
	if v == nil {
		return false, nil
	}
	v.mu.Lock()
	fed := v.fed
	v.finishOnce = true
	close(v.feed)
	v.mu.Unlock()
	v.e.landing.Delete(v.tmp)
	if fed != v.size {
		v.stop()
		return false, fmt.Errorf("verify %s on %s: %d of %d bytes reached the target's hasher", v.tmp, v.e.dst.name, fed, v.size)
	}
	t0 := time.Now()
	select {
	case <-v.done:
	case <-ctx.Done():
		v.stop()
		return false, ctx.Err()
	}
	v.e.tracef("in-flight verify of %s: digest %v after the last chunk landed", v.tmp, time.Since(t0))
	return v.result(sum)
}

// result interprets the hasher's exit and output.
func (v *landedVerifier) result(sum string) (bool, error) {
	host := v.e.dst.name
	switch {
	case v.err != nil:
		return false, fmt.Errorf("hash %s on %s while copying: %w", v.tmp, host, v.err)
	case v.code == 97:
		v.e.tracef("in-flight verify of %s: no openssl or sha256sum, or no dd, on %s", v.tmp, host)
		return false, nil
	case v.code != 0 || v.errb.other.Len() > 0:
		return false, fmt.Errorf("hash %s on %s while copying: exit %d: %s", v.tmp, host, v.code, strings.TrimSpace(v.errb.other.String()))
	}
	f := strings.Fields(v.out.String())
	if len(f) == 0 || len(f[0]) != 64 {
		return false, fmt.Errorf("hash %s on %s while copying: unexpected output %q", v.tmp, host, v.out.String())
	}
	if got := strings.ToLower(f[0]); got != sum {
		return false, fmt.Errorf("verify %s on %s: target sha256 %s, source stream %s: %w", v.tmp, host, got, sum, errLandedMismatch)
	}
	return true, nil
}

// stop ends the hasher (the copy failed or is done with it).
func (v *landedVerifier) stop() {
	if v == nil {
		return
	}
	v.stopOnce.Do(func() {
		v.e.landing.Delete(v.tmp)
		v.mu.Lock()
		if !v.finishOnce {
			v.finishOnce = true
			close(v.feed)
		}
		v.mu.Unlock()
		v.cancel()
		v.pw.CloseWithError(io.ErrClosedPipe)
		<-v.done
	})
}

// stripeMarks takes the hasher's stderr: each "+" line is a stripe
// hashed (progress for the watchdog); anything else is an error message.
type stripeMarks struct {
	moved *atomic.Int64
	other bytes.Buffer
}

func (m *stripeMarks) Write(b []byte) (int, error) {
	for _, c := range b {
		switch c {
		case '+':
			m.moved.Add(1)
		case '\n':
		default:
			m.other.WriteByte(c)
		}
	}
	return len(b), nil
}
