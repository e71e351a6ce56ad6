package activities

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// tarVersionRE finds GNU tar's version; --verbatim-files-from and
// --no-unquote need 1.29.
var tarVersionRE = regexp.MustCompile(`GNU tar\)? (\d+)\.(\d+)`)

// hasTar reports, once per endpoint, whether the host runs GNU tar ≥ 1.29
// over exec.
func (ep *endpoint) hasTar(ctx context.Context) bool {
	ep.tarOnce.Do(func() {
		if ep.run == nil {
			return
		}
		var out bytes.Buffer
		code, err := ep.run.Run(ctx, "LC_ALL=C tar --version", nil, &out, io.Discard)
		ep.tar = err == nil && code == 0 && gnuTar(out.Bytes())
	})
	return ep.tar
}

// knowTar records what a tree listing learnt of the host's tar (treeCmd),
// so hasTar asks no more.
func (ep *endpoint) knowTar(ok bool) { ep.tarOnce.Do(func() { ep.tar = ok }) }

// gnuTar reports whether `tar --version` printed GNU tar 1.29 or later.
func gnuTar(out []byte) bool {
	m := tarVersionRE.FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major > 1 || (major == 1 && minor >= 29)
}

// batchTools reports whether both hosts can stream tar batches.
func (e *engine) batchTools(ctx context.Context) bool {
	var s, d bool
	var wg sync.WaitGroup
	wg.Go(func() { s = e.src.hasTar(ctx) })
	wg.Go(func() { d = e.dst.hasTar(ctx) })
	wg.Wait()
	return s && d
}

// srcTarCmd archives the NUL-separated names on stdin, relative to from,
// literally (no unquoting, no option parsing, no recursion into a name
// that became a directory), hard links as whole files, symlinks as links
// (never followed: such a member differs from its listing).
func srcTarCmd(from string) string {
	return "LC_ALL=C exec tar -c -f - --format=gnu --no-recursion --hard-dereference" +
		" --null --no-unquote --verbatim-files-from -C " + ShellQuote(from) + " -T -"
}

// dstTarCmd lands the worker's stream in the staging directory with the
// modes, mtimes and (as root) numeric owners of its headers.
func dstTarCmd(staging string, root bool) string {
	own := "--no-same-owner"
	if root {
		own = "--same-owner --numeric-owner"
	}
	return "LC_ALL=C exec tar -x -f - -p " + own +
		" --checkpoint=" + strconv.Itoa(gateCheckpoint) + " --checkpoint-action=dot -C " + ShellQuote(staging)
}

// The target's tar prints a dot on stdout each gateCheckpoint records
// (of 10 KiB) it has read, and the worker keeps at most gateAhead bytes
// written beyond what those dots confirm. OpenSSH's sshd keeps what a
// channel received and could not yet write to the command's pipe in a
// buffer it grows 32 KiB at a time, copying it each time; a channel
// filled to its 2 MiB window at once costs sshd about 0.3 s on the test
// machines before it runs at full speed, on every new channel. Held
// under 256 KiB, the buffer stays small and the batch streams at once.
// While tar is slower than the link (tiny files: each is a file to
// create), sshd also moves what the buffer holds at every packet; with
// 1 MiB allowed that was a fifth of the machine's CPU and a batch of 4,000
// tiny files 20 % slower than with 256 KiB (128 KiB was no faster).
const (
	gateCheckpoint = 8
	gateRecord     = 10240
	gateAhead      = 256 << 10
	gateStall      = 200 * time.Millisecond
)

// consumeGate is the writer to the target's tar that waits for its dots
// (or to the lander, which counts the bytes it read: confirm).
type consumeGate struct {
	w             io.Writer
	mu            sync.Mutex
	cond          *sync.Cond
	written, read int64
	ended         bool
}

func newConsumeGate(w io.Writer) *consumeGate {
	g := &consumeGate{w: w}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Write passes p on in pieces, each once the target has read enough.
func (g *consumeGate) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		g.mu.Lock()
		for !g.ended && g.written-g.read >= gateAhead {
			// A tar that reads without printing dots must not stall the
			// batch: after gateStall without one, the gate opens for good.
			before := g.read
			t := time.AfterFunc(gateStall, func() {
				g.mu.Lock()
				if g.read == before {
					g.ended = true
				}
				g.cond.Broadcast()
				g.mu.Unlock()
			})
			g.cond.Wait()
			t.Stop()
		}
		g.mu.Unlock()
		k, err := g.w.Write(p[:min(len(p), gateAhead/4)])
		n += k
		g.mu.Lock()
		g.written += int64(k)
		g.mu.Unlock()
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// dots is the target tar's stdout: each dot confirms a checkpoint.
type dots struct{ g *consumeGate }

func (d dots) Write(p []byte) (int, error) {
	c := int64(bytes.Count(p, []byte{'.'}))
	d.g.mu.Lock()
	d.g.read += c * gateCheckpoint * gateRecord
	d.g.cond.Broadcast()
	d.g.mu.Unlock()
	return len(p), nil
}

// confirm records that the target consumed the stream's first n bytes.
func (g *consumeGate) confirm(n int64) {
	g.mu.Lock()
	g.read = max(g.read, n)
	g.cond.Broadcast()
	g.mu.Unlock()
}

// end releases the writer for good: the target's tar ended.
func (g *consumeGate) end() {
	g.mu.Lock()
	g.ended = true
	g.cond.Broadcast()
	g.mu.Unlock()
}

// runBatch sends ts through the two tars and places what arrived intact;
// it returns the tasks left for the per-file path.
func (e *engine) runBatch(ctx context.Context, ts []fileTask) []fileTask {
	began := time.Now()
	listed := e.idsListed(ctx)
	if h := e.hooks.beforeBatch; h != nil {
		rels := make([]string, len(ts))
		for i, t := range ts {
			rels[i] = t.rel
		}
		h(rels)
	}
	var got map[int]string
	var land map[int]*landed
	var placed []bool
	err := errNoLander
	if !e.dst.noLander.Load() {
		l := e.batch.takeLanding()
		if l == nil {
			l, err = e.startLanding(ctx)
		}
		if l != nil {
			defer e.removeStaging(l.staging)
			got, land, err = e.landBatch(l, ts)
			if err == nil {
				placed = e.settleLanded(ts, got, land)
			}
		}
	}
	if errors.Is(err, errNoLander) {
		staging := joinRel(e.to, tmpPrefix+"batch."+randomSuffix())
		if err := e.dst.primary.Mkdir(staging); err != nil {
			e.tracef("batch of %d: mkdir %s: %v", len(ts), staging, err)
			return ts
		}
		defer e.removeStaging(staging)
		// Only the SSH user sees staged files, whatever their modes.
		if err := e.dst.primary.Chmod(staging, 0o700); err != nil {
			e.tracef("batch of %d: chmod %s: %v", len(ts), staging, err)
			return ts
		}
		got, err = e.streamBatch(ctx, ts, staging)
		if err == nil {
			placed = e.placeBatch(ctx, ts, got, staging)
		}
	}
	if err != nil {
		e.tracef("batch of %d files not used: %v", len(ts), err)
		return ts
	}
	var rest []fileTask
	var done []string
	for i, t := range ts {
		if !placed[i] {
			rest = append(rest, t)
			continue
		}
		done = append(done, t.rel)
		if l := land[i]; l != nil && l.placed && e.opt.verifySHA {
			// Hashed on the target through a handle on the placed file;
			// its identity, taken through that handle before the hash,
			// is what a final sync may trust if it still holds the
			// source's size and mtime.
			rec := landedRec{sum: l.sum}
			if l.ident.Size == t.fi.Size() && l.ident.MtimeNs == mtimeNs(t.fi) {
				rec.ident = l.ident
			}
			e.landedOK.Store(t.rel, rec)
		}
		e.copied(t.rel, t.fi, got[i], listed)
	}
	e.tracef("batch of %d files: %d placed in %v", len(ts), len(ts)-len(rest), time.Since(began))
	if h := e.hooks.afterBatch; h != nil {
		h(done)
	}
	return rest
}

// streamBatch runs both tars and relays the members between them. Any
// failure of either tar discards the whole batch: a member may have
// changed while the source's tar read it.
func (e *engine) streamBatch(ctx context.Context, ts []fileTask, staging string) (map[int]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	names := bytes.NewReader(batchNames(ts))
	srcR, srcW := io.Pipe()
	dstR, dstW := io.Pipe()
	var srcErr, dstErr bytes.Buffer
	var srcCode, dstCode int
	var srcRun, dstRun error
	var wg sync.WaitGroup
	wg.Go(func() {
		srcCode, srcRun = e.src.run.Run(ctx, srcTarCmd(e.from), names, srcW, &srcErr)
		srcW.Close()
	})
	gate := newConsumeGate(dstW)
	wg.Go(func() {
		dstCode, dstRun = e.dst.run.Run(ctx, dstTarCmd(staging, e.chown), dstR, dots{gate}, &dstErr)
		gate.end()
		dstR.CloseWithError(errors.New("target tar ended"))
	})
	// Headers are read 512 bytes at a time: not one pipe hand-off each.
	got, relayErr := e.relay(ctx, ts, tar.NewReader(bufio.NewReaderSize(srcR, 256<<10)), newTarSink(e, gate))
	if relayErr != nil {
		cancel()
		dstW.CloseWithError(relayErr)
	} else {
		dstW.Close()
	}
	_, _ = io.Copy(io.Discard, srcR)
	wg.Wait()
	var err error
	switch {
	case relayErr != nil:
		err = relayErr
	case srcRun != nil || srcCode != 0:
		err = fmt.Errorf("tar on %s: exit %d, %v: %s", e.src.name, srcCode, srcRun, stderrTail(srcErr.String()))
	case dstRun != nil || dstCode != 0:
		err = fmt.Errorf("tar on %s: exit %d, %v: %s", e.dst.name, dstCode, dstRun, stderrTail(dstErr.String()))
	default:
		return got, nil
	}
	// Nothing of a discarded batch counts as copied: the per-file path
	// sends it again.
	for i := range got {
		e.prog.bytesDone.Add(-ts[i].fi.Size())
	}
	return nil, err
}

// batchNames is the source tar's stdin: the batch's paths, NUL-separated.
func batchNames(ts []fileTask) []byte {
	var b bytes.Buffer
	for _, t := range ts {
		b.WriteString(t.rel)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// batchSink is where relay writes the members for the target: the
// target's tar (tarSink) or the lander (copy_batch_land.go).
type batchSink interface {
	// member writes member i of fi's size from r and returns the sha256
	// of what it wrote.
	member(i int, fi os.FileInfo, r io.Reader) (string, error)
	// close ends the stream's members.
	close() error
}

// tarSink writes members to the target's tar under their index, with the
// listing's mode, owner and mtime (seconds).
type tarSink struct {
	e  *engine
	bw *bufio.Writer
	tw *tar.Writer
}

func newTarSink(e *engine, w io.Writer) *tarSink {
	// Whole SSH packets rather than one per header, body and padding.
	bw := bufio.NewWriterSize(w, 256<<10)
	return &tarSink{e: e, bw: bw, tw: tar.NewWriter(bw)}
}

func (s *tarSink) member(i int, fi os.FileInfo, r io.Reader) (string, error) {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: strconv.Itoa(i), Size: fi.Size(),
		Mode: tarMode(fi.Mode()), ModTime: fi.ModTime().Truncate(time.Second),
		Format: tar.FormatGNU,
	}
	if s.e.chown {
		hdr.Uid, hdr.Gid = int(uidOf(fi)), int(gidOf(fi))
	}
	if err := s.tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(s.tw, h), r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *tarSink) close() error { return firstErr(s.tw.Close(), s.bw.Flush()) }

// relay copies each member that matches its listing (a regular file of
// the listed size and mtime, asked for once) to the sink, hashing it on
// the way. Other members are skipped: their bytes never reach the
// target. It returns the members relayed so far, also with an error.
func (e *engine) relay(ctx context.Context, ts []fileTask, tr *tar.Reader, sink batchSink) (map[int]string, error) {
	want := make(map[string]int, len(ts))
	for i, t := range ts {
		want[t.rel] = i
	}
	got := map[int]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return got, fmt.Errorf("read tar stream from %s: %w", e.src.name, err)
		}
		i, ok := want[h.Name]
		if !ok || !memberMatches(h, ts[i].fi) {
			continue
		}
		delete(want, h.Name)
		if err := e.limit.wait(ctx, int(ts[i].fi.Size())); err != nil {
			return got, err
		}
		cr := &countReader{r: tr}
		sum, err := sink.member(i, ts[i].fi, cr)
		if err != nil {
			return got, fmt.Errorf("relay tar member from %s to %s: %w", e.src.name, e.dst.name, err)
		}
		e.prog.bytesDone.Add(cr.n)
		got[i] = sum
	}
	if err := sink.close(); err != nil {
		return got, fmt.Errorf("write batch stream to %s: %w", e.dst.name, err)
	}
	return got, nil
}

// countReader counts what passes through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// memberMatches reports whether a source member is the listed file, by
// what the per-file path checks through its handle (identityDiff): type,
// mode, size, mtime and owner as tar saw them when it opened the file.
func memberMatches(h *tar.Header, fi os.FileInfo) bool {
	return (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) &&
		h.Mode&0o7777 == tarMode(fi.Mode()) && h.Size == fi.Size() &&
		h.ModTime.Unix() == fi.ModTime().Unix() &&
		uint32(h.Uid) == uidOf(fi) && uint32(h.Gid) == gidOf(fi)
}

// tarMode gives a tar header's mode bits, set-id and sticky included.
func tarMode(m fs.FileMode) int64 {
	v := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return v
}

// placeBatch renames the target tar's staged members over their final
// names: in one process on the target where it can
// (copy_batch_place.go), the rest several at a time over the target's
// connections; placed[i] tells which are in place.
func (e *engine) placeBatch(ctx context.Context, ts []fileTask, got map[int]string, staging string) []bool {
	placed := make([]bool, len(ts))
	e.placeRemote(ctx, ts, got, staging, placed)
	cls := e.dst.clients()
	// Renames are cheap for sftp-server; keeping many in flight hides the
	// round trips.
	sem := make(chan struct{}, 32*len(cls))
	var wg sync.WaitGroup
	k := 0
	for i := range got {
		if placed[i] {
			continue
		}
		cl := cls[k%len(cls)]
		k++
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := renameReplace(cl, joinRel(staging, strconv.Itoa(i)), e.dstPath(ts[i].rel)); err != nil {
				e.tracef("batch: %v", err)
				return
			}
			e.markParentDirty(ts[i].rel)
			placed[i] = true
		})
	}
	wg.Wait()
	return placed
}

// settleLanded reports which members the lander placed intact. The rest
// go file by file: a member it never placed (its staged copy is removed
// with the staging directory), and a placed file whose digest differs
// from the source stream's, copied again as after any failed
// verification.
func (e *engine) settleLanded(ts []fileTask, got map[int]string, land map[int]*landed) []bool {
	placed := make([]bool, len(ts))
	for i, sum := range got {
		l := land[i]
		switch {
		case l != nil && l.placed && l.sum == sum:
			placed[i] = true
			e.markParentDirty(ts[i].rel)
			continue
		case l != nil && l.placed:
			e.recopied.Add(1)
			e.tracef("batch: %s landed with sha256 %s, the source stream had %s; copying it again", e.dstPath(ts[i].rel), l.sum, sum)
		case l != nil && l.err != "":
			e.tracef("batch: place %s: %s", e.dstPath(ts[i].rel), l.err)
		}
		e.prog.bytesDone.Add(-ts[i].fi.Size())
	}
	return placed
}

// removeStaging removes the staging directory and whatever is left in it.
func (e *engine) removeStaging(staging string) {
	fi, err := e.dst.primary.Lstat(staging)
	if err == nil {
		err = e.removeEntry(staging, fi)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		e.tracef("batch: remove %s: %v", staging, err)
	}
}

// stderrTail keeps the end of a tool's stderr for an error message.
func stderrTail(s string) string {
	if len(s) > 400 {
		return "…" + s[len(s)-400:]
	}
	return s
}
