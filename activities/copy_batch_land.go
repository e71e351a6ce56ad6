package activities

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Where the target has python3, a batch lands in one process there, the
// lander, instead of three (tar, the renames, the hashes): it writes each
// member under its index into the staging directory with the listing's
// mode, mtime in nanoseconds and (as root) owner, and once the worker
// commits the batch (the source's tar ended well) renames each member
// into place, takes its identity through a handle on the placed file and
// hashes the file through that handle. A digest that differs from the
// source stream's is reported, and the worker copies that file again as
// after any failed verification. Before the commit nothing is placed: an
// aborted batch, a lander that dies or a stream cut short leave only the
// staging directory, which the worker removes.
//
// The stream, worker to lander: per member a line
// "F <index> <size> <mode> <mtime ns> <uid> <gid>\n" (uid -1: keep the
// SSH user) and the bytes; then "E\n",
// which the lander answers once every member has landed; then "C\n" and
// NUL-separated pairs (index, final path) up to the end of the input.
// Anything else ends the lander without a rename.
//
// Lander to worker: "L1" once it runs; "+ <bytes of the stream
// consumed>" every 32 KiB, which the consume gate counts; "E"; per
// committed member "<index> = <sha256> <size> <mtime ns> <ctime ns>
// <inode> <device>" or "<index> ! <error>" when the rename or the read
// failed. Exit 97: no python3. The staging directory follows the script
// as python's argument.
const landScript = `command -v python3 >/dev/null 2>&1 || exit 97
exec python3 -c '` + landPy + `'`

// landPy is landScript's program (no single quotes: it travels inside
// them). Acknowledgements are flushed every 32 KiB of stream, not per
// member: a packet per tiny file would cost more than the file.
const landPy = `import hashlib, os, sys
r, w = sys.stdin.buffer, sys.stdout.buffer
st = os.fsencode(sys.argv[1])
os.mkdir(st, 0o700)
os.chmod(st, 0o700)
st += b"/"
fl = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
w.write(b"L1\n")
w.flush()
want, c, acked = set(), 0, 0
def ack():
    global acked
    if c - acked >= 32768:
        w.write(b"+ %d\n" % c)
        w.flush()
        acked = c
while True:
    h = r.readline()
    if h == b"E\n":
        w.write(b"E\n")
        w.flush()
        continue
    if h == b"C\n":
        break
    if not h.startswith(b"F "):
        sys.exit(0)
    c += len(h)
    i, n, m, t, u, g = map(int, h.split()[1:])
    fd = os.open(st + b"%d" % i, fl, 0o600)
    try:
        while n:
            b = r.read(min(n, 65536))
            if not b:
                sys.exit(3)
            n -= len(b)
            c += len(b)
            v = memoryview(b)
            while v:
                v = v[os.write(fd, v):]
            ack()
        if u >= 0:
            os.fchown(fd, u, g)
        os.fchmod(fd, m)
        os.utime(fd, ns=(t, t))
    finally:
        os.close(fd)
    want.add(i)
    ack()
a = r.read().split(b"\0")
for j in range(0, len(a) - 1, 2):
    i, q = int(a[j]), a[j + 1]
    if i not in want:
        continue
    try:
        os.rename(st + a[j], q)
        fd = os.open(q, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            z = os.fstat(fd)
            d, o = hashlib.sha256(), 0
            while True:
                b = os.pread(fd, 1048576, o)
                if not b:
                    break
                d.update(b)
                o += len(b)
        finally:
            os.close(fd)
    except OSError as e:
        w.write(b"%d ! %s\n" % (i, os.fsencode(str(e)).replace(b"\n", b" ")))
        continue
    w.write(b"%d = %s %d %d %d %d %d\n" % (i, d.hexdigest().encode(), z.st_size, z.st_mtime_ns, z.st_ctime_ns, z.st_ino, z.st_dev))
w.flush()`

// landed is what the lander reported of one member.
type landed struct {
	placed bool   // renamed into place
	sum    string // the placed file's sha256, read through its handle
	ident  fileIdent
	err    string // why it was not placed
}

// landOut parses the lander's stdout.
type landOut struct {
	gate   *consumeGate
	hello  chan struct{} // closed at "L1"
	landed chan struct{} // closed at "E"
	mu     sync.Mutex
	buf    []byte
	res    map[int]*landed
}

func newLandOut(g *consumeGate) *landOut {
	return &landOut{gate: g, hello: make(chan struct{}), landed: make(chan struct{}), res: map[int]*landed{}}
}

func (o *landOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	for {
		nl := bytes.IndexByte(o.buf, '\n')
		if nl < 0 {
			break
		}
		o.line(string(o.buf[:nl]))
		o.buf = o.buf[nl+1:]
	}
	return len(p), nil
}

func (o *landOut) line(s string) {
	switch s {
	case "L1":
		closeOnce(o.hello)
		return
	case "E":
		closeOnce(o.landed)
		return
	}
	f := strings.Fields(s)
	if len(f) == 2 && f[0] == "+" {
		if c, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			o.gate.confirm(c)
		}
		return
	}
	if len(f) < 2 {
		return
	}
	i, err := strconv.Atoi(f[0])
	if err != nil || i < 0 {
		return
	}
	l := o.res[i]
	if l == nil {
		l = &landed{}
		o.res[i] = l
	}
	switch {
	case f[1] == "=" && len(f) == 8:
		var v [5]int64
		for k := range v {
			if v[k], err = strconv.ParseInt(f[3+k], 10, 64); err != nil {
				return
			}
		}
		l.placed, l.sum = true, f[2]
		l.ident = fileIdent{Size: v[0], MtimeNs: v[1], CtimeNs: v[2], Inode: uint64(v[3]), Dev: uint64(v[4])}
	case f[1] == "!":
		l.err = strings.Join(f[2:], " ")
	}
}

// closeOnce closes ch unless it is closed (the caller holds landOut.mu).
func closeOnce(ch chan struct{}) {
	if !isClosed(ch) {
		close(ch)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// landSink writes members in the lander's framing.
type landSink struct {
	e  *engine
	bw *bufio.Writer
}

func (s *landSink) member(i int, fi os.FileInfo, r io.Reader) (string, error) {
	uid, gid := int64(-1), int64(-1)
	if s.e.chown {
		uid, gid = int64(uidOf(fi)), int64(gidOf(fi))
	}
	fmt.Fprintf(s.bw, "F %d %d %d %d %d %d\n", i, fi.Size(), tarMode(fi.Mode()), mtimeNs(fi), uid, gid)
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(s.bw, h), r)
	if err != nil {
		return "", err
	}
	if n != fi.Size() {
		return "", fmt.Errorf("member %d: %d bytes, listed %d", i, n, fi.Size())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *landSink) close() error { return s.bw.Flush() }

// mtimeNs is the mtime a landed file gets: to the nanosecond where find
// listed the source, else the second SFTP reports.
func mtimeNs(fi os.FileInfo) int64 {
	if id, ok := listedIdent(fi); ok {
		return id.MtimeNs
	}
	return fi.ModTime().UnixNano()
}

// errNoLander: the target cannot run the lander; the batch goes through
// the target's tar.
var errNoLander = errors.New("no lander")

// landing is a lander running on the target with the source's tar
// started beside it, waiting for a batch's names.
type landing struct {
	staging string
	parent  context.Context
	ctx     context.Context
	cancel  context.CancelFunc
	t0      time.Time
	up      time.Duration // until the lander ran

	dstW     *io.PipeWriter
	gate     *consumeGate
	out      *landOut
	dstErr   *outputTail
	dstCode  int
	dstRun   error
	byItself bool // the lander ended before the worker stopped it
	dstDone  chan struct{}

	namesW  *io.PipeWriter
	srcR    *io.PipeReader
	srcErr  *outputTail
	srcCode int
	srcRun  error
	srcDone chan struct{}
}

// startLanding starts the lander, which creates a fresh staging
// directory, and the source's tar, which gets its names once the lander
// runs: both sessions start at once, and a target without python3 costs
// the source an empty archive. It returns errNoLander when the lander did
// not start.
func (e *engine) startLanding(parent context.Context) (*landing, error) {
	ctx, cancel := context.WithCancel(parent)
	l := &landing{
		staging: joinRel(e.to, tmpPrefix+"batch."+randomSuffix()),
		parent:  parent, ctx: ctx, cancel: cancel, t0: time.Now(),
		dstErr: newOutputTail(2 << 10), dstDone: make(chan struct{}),
		srcErr: newOutputTail(2 << 10), srcDone: make(chan struct{}),
	}
	dstR, dstW := io.Pipe()
	l.dstW = dstW
	l.gate = newConsumeGate(dstW)
	l.out = newLandOut(l.gate)
	go func() {
		defer close(l.dstDone)
		l.dstCode, l.dstRun = e.dst.run.Run(ctx, landScript+" "+ShellQuote(l.staging), dstR, l.out, l.dstErr)
		l.byItself = ctx.Err() == nil
		l.gate.end()
		dstR.CloseWithError(errors.New("lander ended"))
	}()
	namesR, namesW := io.Pipe()
	srcR, srcW := io.Pipe()
	l.namesW, l.srcR = namesW, srcR
	go func() {
		defer close(l.srcDone)
		l.srcCode, l.srcRun = e.src.run.Run(ctx, srcTarCmd(e.from), namesR, srcW, l.srcErr)
		namesR.Close()
		srcW.Close()
	}()
	select {
	case <-l.out.hello:
	case <-l.dstDone:
	case <-ctx.Done():
	}
	if isClosed(l.out.hello) {
		l.up = time.Since(l.t0)
		return l, nil
	}
	l.abort()
	// A lander that failed after creating the staging directory leaves it.
	e.removeStaging(l.staging)
	if err := parent.Err(); err != nil {
		return nil, err
	}
	// No python3 (97), or one that cannot run the program: the later
	// batches of this copy go through the target's tar, and their renames
	// over SFTP.
	e.dst.noLander.Store(true)
	e.dst.noPlacer.Store(true)
	e.tracef("batch: no lander on %s: exit %d, %v: %s", e.dst.name, l.dstCode, l.dstRun, l.dstErr)
	return nil, errNoLander
}

// abort ends a landing without a batch: the lander renames nothing and
// the source's tar archives nothing. The caller removes the staging
// directory.
func (l *landing) abort() {
	l.namesW.Close()
	_, _ = l.dstW.Write([]byte("A\n"))
	l.dstW.Close()
	_, _ = io.Copy(io.Discard, l.srcR)
	<-l.srcDone
	<-l.dstDone
	l.cancel()
}

// landBatch streams ts from the source's tar to the lander and commits
// it. It returns the source digests of the relayed members and what the
// lander did with each.
func (e *engine) landBatch(l *landing, ts []fileTask) (map[int]string, map[int]*landed, error) {
	defer l.cancel()
	ctx, gate, out := l.ctx, l.gate, l.out
	t0 := time.Now()
	go func() {
		_, _ = l.namesW.Write(batchNames(ts))
		l.namesW.Close()
	}()
	sink := &landSink{e: e, bw: bufio.NewWriterSize(gate, 256<<10)}
	got, relayErr := e.relay(ctx, ts, tar.NewReader(bufio.NewReaderSize(l.srcR, 256<<10)), sink)
	if relayErr != nil {
		l.cancel()
	}
	_, _ = io.Copy(io.Discard, l.srcR)
	<-l.srcDone
	relayed := time.Since(t0)

	err := relayErr
	if err == nil && (l.srcRun != nil || l.srcCode != 0) {
		err = fmt.Errorf("tar on %s: exit %d, %v: %s", e.src.name, l.srcCode, l.srcRun, l.srcErr)
	}
	if err == nil {
		// Every member has landed once the lander answers "E".
		if _, werr := l.dstW.Write([]byte("E\n")); werr != nil {
			err = fmt.Errorf("lander on %s: %w", e.dst.name, werr)
		} else {
			select {
			case <-out.landed:
			case <-l.dstDone:
				err = fmt.Errorf("lander on %s ended before its commit", e.dst.name)
			}
		}
	}
	if h := e.hooks.beforeCommit; h != nil && err == nil {
		var rels []string
		for i := range got {
			rels = append(rels, ts[i].rel)
		}
		h(l.staging, rels)
	}
	if err == nil {
		// The commit: every relayed member, in index order.
		var c bytes.Buffer
		c.WriteString("C\n")
		for _, i := range slices.Sorted(maps.Keys(got)) {
			c.WriteString(strconv.Itoa(i))
			c.WriteByte(0)
			c.WriteString(e.dstPath(ts[i].rel))
			c.WriteByte(0)
		}
		if _, werr := l.dstW.Write(c.Bytes()); werr != nil {
			err = fmt.Errorf("commit batch on %s: %w", e.dst.name, werr)
		}
		l.dstW.Close()
	} else {
		_, _ = l.dstW.Write([]byte("A\n"))
		l.dstW.CloseWithError(err)
	}
	<-l.dstDone
	if l.dstRun != nil || l.dstCode != 0 {
		lerr := fmt.Errorf("lander on %s: exit %d, %v: %s", e.dst.name, l.dstCode, l.dstRun, l.dstErr)
		err = cmp.Or(err, lerr)
		if l.byItself && l.parent.Err() == nil {
			// A lander that fails (python3 too old, a full disk) is not
			// asked again by this copy: the target's tar lands the rest,
			// or the per-file path says what is wrong.
			e.dst.noLander.Store(true)
			e.tracef("batch: %v", lerr)
		}
	}
	e.tracef("batch of %d: lander up %v, relayed %v, committed %v", len(ts), l.up, relayed, time.Since(t0))
	out.mu.Lock()
	res := out.res
	out.mu.Unlock()
	placed := 0
	for _, r := range res {
		if r.placed {
			placed++
		}
	}
	if err != nil && placed == 0 {
		for i := range got {
			e.prog.bytesDone.Add(-ts[i].fi.Size())
		}
		return nil, nil, err
	}
	if err != nil {
		// Whatever was renamed holds the relayed bytes; the rest goes
		// file by file.
		e.tracef("batch: %v", err)
	}
	return got, res, nil
}
