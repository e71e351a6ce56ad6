package activities

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// errVanished: a source file listed by the walk was gone when opened.
var errVanished = errors.New("source file vanished")

// worker takes files from the walk: unchanged ones go to the comparer
// (verify = "sha256") or straight to the manifest; the rest are copied.
func (e *engine) worker(ctx context.Context, idx int) {
	for t := range e.tasks {
		if e.failed() != nil || ctx.Err() != nil {
			continue // drain so the walker never blocks
		}
		if t.same {
			if err := e.fixMeta(t.rel, t.fi, t.old); err != nil {
				e.fail(err)
				continue
			}
			if e.opt.verifySHA {
				if !e.deferUntilListed(t) {
					e.keepOrCompare(ctx, t)
				}
				continue
			}
			e.unchanged.Add(1)
			e.prog.filesDone.Add(1)
			e.man.add(manifestOf(t.rel, t.fi, "", ""))
			continue
		}
		if e.batchable(ctx, t) {
			e.copyBatch(ctx, idx, e.batch.add(t))
			continue
		}
		e.copyTask(ctx, idx, t)
	}
	if e.batch != nil {
		if rest := e.batch.done(); e.failed() == nil && ctx.Err() == nil {
			e.copyBatch(ctx, idx, rest)
		}
	}
}

// copied records a placed file and hands it to verification.
func (e *engine) copied(rel string, fi os.FileInfo, sum string, listed bool) {
	e.copiedFiles.Add(1)
	e.copiedBytes.Add(fi.Size())
	if e.opt.verifySHA {
		if e.landedVerified(rel, fi, sum, listed) {
			return // hashed on the target as it landed (copy_striped.go)
		}
		e.verQ <- sumItem{rel: rel, fi: fi, sum: sum, listed: listed}
		return
	}
	e.prog.filesDone.Add(1)
	e.man.add(manifestOf(rel, fi, sum, ""))
}

// fixMeta corrects the mode (and owner, as root) of an unchanged file
// without touching its content or mtime.
func (e *engine) fixMeta(rel string, fi, old os.FileInfo) error {
	cl := e.dst.primary
	p := e.dstPath(rel)
	if e.ownerDiffers(fi, old) {
		if err := cl.Chown(p, int(uidOf(fi)), int(gidOf(fi))); err != nil && !isPerm(err) {
			return fmt.Errorf("chown %s on %s: %w", p, e.dst.name, err)
		}
	}
	if modeDiffers(fi, old) {
		if err := cl.Chmod(p, modeBits(fi.Mode())); err != nil {
			return fmt.Errorf("chmod %s on %s: %w", p, e.dst.name, err)
		}
	}
	return nil
}

// ownerDiffers reports whether fixMeta would chown the target entry old
// to match fi (only as root).
func (e *engine) ownerDiffers(fi, old os.FileInfo) bool {
	return e.chown && (uidOf(fi) != uidOf(old) || gidOf(fi) != gidOf(old))
}

// modeDiffers reports whether fixMeta would chmod old to match fi.
func modeDiffers(fi, old os.FileInfo) bool { return modeBits(fi.Mode()) != modeBits(old.Mode()) }

// copyFile streams one file to a temporary name next to its final place,
// sets owner, mode and mtime, and renames it over the final name. On any
// error the temporary file is removed (a big file's partial file may be
// kept for a retry to resume). It returns the SHA-256 of the bytes
// streamed.
func (e *engine) copyFile(ctx context.Context, idx int, rel string, fi, old os.FileInfo) (sum string, err error) {
	call(e.hooks.beforeCopy, rel)
	scls, dcls, lanes, release, err := e.lanesFor(ctx, fi.Size())
	if err != nil {
		return "", err
	}
	defer release()
	c := e.newFileCopy(rel, fi, scls, dcls, idx, lanes)
	defer func() { c.cleanup(err) }()
	switch {
	case lanes > 1:
		return c.copyLarge(ctx)
	case fi.Size() <= chunkSize:
		return c.copySmall(ctx)
	default:
		return c.copyStreamed(ctx)
	}
}

// fileCopy is one file on its way: its handles on both hosts (one per
// lane) and its temporary name on the target.
type fileCopy struct {
	e          *engine
	rel        string
	fi         os.FileInfo
	src, dst   string
	scls, dcls []*sftp.Client // lane k uses scls[k], dcls[k]
	srcs, dsts []*sftp.File
	tmp        string
	from       int64 // resumed: the target already holds the bytes before
	created    bool  // tmp exists on the target
	early      bool  // the mode was set right after creating tmp
	checked    bool  // the source was checked after it was read whole
}

// newFileCopy assigns the file its lanes, starting at connection idx mod
// N so that files in flight spread over the connections.
func (e *engine) newFileCopy(rel string, fi os.FileInfo, scls, dcls []*sftp.Client, idx, lanes int) *fileCopy {
	n := len(scls)
	c := &fileCopy{e: e, rel: rel, fi: fi, src: e.srcPath(rel), dst: e.dstPath(rel)}
	for k := range lanes {
		c.scls = append(c.scls, scls[(idx+k)%n])
		c.dcls = append(c.dcls, dcls[(idx+k)%n])
	}
	return c
}

// openSources opens the source file once per lane and, with check, checks
// each handle against the listing.
func (c *fileCopy) openSources(check bool) error {
	e := c.e
	for k, cl := range c.scls {
		f, err := cl.Open(c.src)
		switch {
		case err != nil && k == 0 && errors.Is(err, os.ErrNotExist):
			return errVanished
		case err != nil && isPerm(err):
			return &refusedError{kind: RefusalUnreadable, reason: "open source file: permission denied for the SSH user"}
		case err != nil:
			return fmt.Errorf("open %s on %s: %w", c.src, e.src.name, err)
		}
		c.srcs = append(c.srcs, f)
		if check {
			if err := e.checkSource(f, c.fi, "since it was listed"); err != nil {
				return err
			}
		}
		if k == 0 {
			call(e.hooks.afterOpen, c.rel)
		}
	}
	return nil
}

// openTarget creates the temporary file (or reopens a partial one to
// resume) and opens it once more per extra lane.
//
// Restrictive modes are applied right away (access is checked at open, so
// writing through this handle still works), so a 0600 file is never
// readable by others while it is written. A mode that grants at least
// 0644 cannot be tighter than the server's default for new files, so it
// is set with the mtime after the writes: one request less per file.
// Set-id bits always come last (writes clear them).
func (c *fileCopy) openTarget(ctx context.Context) error {
	e := c.e
	tmp, f, from, err := e.openTmp(ctx, c.dcls[0], c.src, c.dst, c.rel, c.fi)
	c.tmp = tmp
	if err != nil {
		return err
	}
	c.created, c.from = true, from
	c.dsts = append(c.dsts, f)
	perm := c.fi.Mode().Perm()
	if c.early = perm&0o644 != 0o644; c.early {
		if err := f.Chmod(perm); err != nil {
			return fmt.Errorf("chmod %s on %s: %w", tmp, e.dst.name, err)
		}
	}
	for _, cl := range c.dcls[1:] {
		g, err := cl.OpenFile(tmp, os.O_WRONLY)
		if err != nil {
			return fmt.Errorf("open %s on %s: %w", tmp, e.dst.name, err)
		}
		c.dsts = append(c.dsts, g)
	}
	return nil
}

// copyLarge copies a big file striped over every lane (chunk i over lane
// i mod N), hashing in order.
func (c *fileCopy) copyLarge(ctx context.Context) (string, error) {
	return c.copyStreamed(ctx)
}

// copyStreamed copies a file through the chunk pipeline, with one lane
// or, for a big file, with every lane.
func (c *fileCopy) copyStreamed(ctx context.Context) (string, error) {
	if err := c.openSources(true); err != nil {
		return "", err
	}
	if err := c.openTarget(ctx); err != nil {
		return "", err
	}
	// Big files are hashed on the target as they land (copy_striped.go).
	sv := c.e.startLanded(ctx, c.tmp, c.fi.Size(), c.from)
	defer sv.stop()
	sum, err := c.transfer(ctx)
	if err != nil {
		return "", err
	}
	// What was read must still be the file that was listed before the
	// target's digest is awaited.
	if err := c.e.checkSource(c.srcs[0], c.fi, "while it was copied"); err != nil {
		return "", err
	}
	c.checked = true
	inFlight, err := sv.finish(ctx, sum)
	if err != nil {
		return "", err
	}
	if err := c.place(); err != nil {
		return "", err
	}
	if inFlight {
		c.e.landedOK.Store(c.rel, landedRec{sum: sum})
	}
	return sum, nil
}

// copySmall copies a file of at most one chunk with one request less on
// the source: it is read whole and then checked through its handle (one
// fstat, which covers the open and the read) before the target file is
// even created, so no byte of a file that is not the listed one is ever
// written.
func (c *fileCopy) copySmall(ctx context.Context) (string, error) {
	e := c.e
	if err := c.openSources(false); err != nil {
		return "", err
	}
	size := c.fi.Size()
	b, release := getBuf(int(size))
	defer release()
	n, err := readFullAt(c.srcs[0], (*b)[:size], 0)
	if err != nil {
		return "", e.readFailed(c.srcs[0], c.fi, fmt.Errorf("read %s on %s: %w", c.src, e.src.name, err))
	}
	if err := e.checkSource(c.srcs[0], c.fi, "while it was copied"); err != nil {
		return "", err
	}
	c.checked = true
	if err := c.openTarget(ctx); err != nil {
		return "", err
	}
	buf := (*b)[:n]
	sum := sha256.Sum256(buf)
	if err := e.limit.wait(ctx, n); err != nil {
		return "", err
	}
	if n > 0 {
		if _, err := c.dsts[0].WriteAt(buf, 0); err != nil {
			return "", e.dst.fullError(fmt.Errorf("write %s on %s: %w", c.tmp, e.dst.name, err), c.tmp)
		}
	}
	e.prog.bytesDone.Add(int64(n))
	if err := c.closeTargets(); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum[:]), c.place()
}

// transfer streams the file's bytes from the source handles to the
// target handles and returns the SHA-256 of the whole file (read again on
// the source when a resume skipped its first bytes), then closes the
// target handles.
func (c *fileCopy) transfer(ctx context.Context) (string, error) {
	e := c.e
	_, sum, err := e.streamFrom(ctx, c.srcs, c.dsts, c.from, c.fi.Size())
	if err != nil {
		return "", e.readFailed(c.srcs[0], c.fi, fmt.Errorf("copy %s from %s to %s on %s: %w", c.src, e.src.name, c.tmp, e.dst.name, err))
	}
	if c.from > 0 {
		if sum, err = e.wholeSum(ctx, c.src); err != nil {
			return "", fmt.Errorf("hash resumed %s on %s: %w", c.src, e.src.name, err)
		}
	}
	return sum, c.closeTargets()
}

// closeTargets closes the target handles; a failed close (a full disk
// reported late) fails the copy.
func (c *fileCopy) closeTargets() error {
	for len(c.dsts) > 0 {
		g := c.dsts[0]
		c.dsts = c.dsts[1:]
		if err := g.Close(); err != nil {
			return c.e.dst.fullError(fmt.Errorf("close %s on %s: %w", c.tmp, c.e.dst.name, err), c.tmp)
		}
	}
	return nil
}

// place checks that what was read is still the file that was listed and
// renames the temporary file into place with the source's metadata.
func (c *fileCopy) place() error {
	e := c.e
	if !c.checked {
		if err := e.checkSource(c.srcs[0], c.fi, "while it was copied"); err != nil {
			return err
		}
	}
	if err := e.placeTmp(c.dcls[0], c.tmp, c.dst, c.fi, c.early); err != nil {
		return err
	}
	c.created = false
	e.markParentDirty(c.rel)
	call(e.hooks.afterPlace, c.rel)
	return nil
}

// cleanup closes what is still open and, after a failure, removes the
// temporary file unless a retry may resume it.
func (c *fileCopy) cleanup(err error) {
	// Nothing depends on the source handles' close: do not wait.
	go func(fs []*sftp.File) {
		for _, f := range fs {
			f.Close()
		}
	}(c.srcs)
	for _, f := range c.dsts {
		f.Close()
	}
	if err != nil && c.created && !c.e.keepTmpOn(c.tmp, err) {
		_ = c.dcls[0].Remove(c.tmp)
	}
}

// lanesFor picks the connections for one file: one lane, or every
// connection for a big file, at most bigFilesAtOnce such files at a time
// (release frees the slot). Both slices have the same length.
func (e *engine) lanesFor(ctx context.Context, size int64) (scls, dcls []*sftp.Client, lanes int, release func(), err error) {
	if size >= e.stripeFrom() {
		e.src.waitGrown(ctx)
		e.dst.waitGrown(ctx)
	}
	scls, dcls = e.src.clients(), e.dst.clients()
	n := min(len(scls), len(dcls))
	scls, dcls = scls[:n], dcls[:n]
	if size < e.stripeFrom() || n == 1 {
		return scls, dcls, 1, func() {}, nil
	}
	select {
	case e.bigSem <- struct{}{}:
		return scls, dcls, n, func() { <-e.bigSem }, nil
	case <-ctx.Done():
		return nil, nil, 0, nil, ctx.Err()
	}
}

// placeTmp gives a fully written temporary file the source's owner (as
// root), mode and mtime and renames it over its final name.
func (e *engine) placeTmp(dcl *sftp.Client, tmp, dst string, fi os.FileInfo, early bool) error {
	chowned := false
	// As root, the new file is root's already: chown only to someone else
	// (a setgid target directory whose source file is root:root is the one
	// case this leaves to the directory's group).
	if e.chown && (uidOf(fi) != 0 || gidOf(fi) != 0) {
		if err := dcl.Chown(tmp, int(uidOf(fi)), int(gidOf(fi))); err != nil && !isPerm(err) {
			return fmt.Errorf("chown %s on %s: %w", tmp, e.dst.name, err)
		}
		chowned = true
	}
	if !early || fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || chowned {
		if err := dcl.Chmod(tmp, modeBits(fi.Mode())); err != nil {
			return fmt.Errorf("chmod %s on %s: %w", tmp, e.dst.name, err)
		}
	}
	// mtime before the rename: a file at its final name always carries
	// the source's mtime, which is what lets a retry skip it.
	mt := fi.ModTime()
	if err := dcl.Chtimes(tmp, mt, mt); err != nil {
		return fmt.Errorf("set mtime of %s on %s: %w", tmp, e.dst.name, err)
	}
	if err := renameReplace(dcl, tmp, dst); err != nil {
		return fmt.Errorf("place %s on %s: %w", dst, e.dst.name, err)
	}
	return nil
}

// hashSide returns the SHA-256 of each path on one side: sha256sum in
// batches over exec where the host has it, read-back over SFTP otherwise
// or for paths the command did not report. readBack counts the latter.
func hashSide(ctx context.Context, ep *endpoint, paths []string) (sums []string, readBack int, err error) {
	return hashSideSized(ctx, ep, paths, -1)
}

// readBackBelow: a batch of copied files holding less than this is read
// back over the SFTP session already open instead of starting an exec
// session for sha256sum, which costs more than reading a few small files
// (the final sync of a few changed files, inside the window).
const readBackBelow = 4 << 20

// hashSideSized is hashSide for paths known to hold size bytes in all
// (-1: unknown).
func hashSideSized(ctx context.Context, ep *endpoint, paths []string, size int64) (sums []string, readBack int, err error) {
	if size >= 0 && size < readBackBelow {
		sums = make([]string, len(paths))
	} else {
		sums, err = remoteSums(ctx, ep, paths)
	}
	if err != nil {
		// The exec channel failed (not a missing file): read back instead.
		sums = make([]string, len(paths))
	}
	return readBackMissing(ctx, ep, paths, sums)
}

// readBackParallel is how many files are read back at once: each is a
// few round trips, which a single file at a time would wait out.
const readBackParallel = 8

// readBackMissing reads back, over SFTP, the paths without a digest.
func readBackMissing(ctx context.Context, ep *endpoint, paths, sums []string) ([]string, int, error) {
	cls := ep.clients()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	n := 0
	sem := make(chan struct{}, readBackParallel)
	for i, p := range paths {
		if sums[i] != "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			mu.Lock()
			first = cmp.Or(first, err)
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s, err := readBackSum(cls[i%len(cls)], ep.name, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				first = cmp.Or(first, err)
				return
			}
			sums[i] = s
			n++
		})
	}
	wg.Wait()
	if first != nil {
		return nil, 0, first
	}
	return sums, n, nil
}

// Hash batches: one remote command per batch (a session start can cost
// far more than hashing a small file), bounded so that two batches in
// parallel keep both hosts busy near the end of a copy.
const (
	hashBatchFiles = 4096
	hashBatchBytes = 1 << 30
)

// batches groups a queue into slices of up to sumBatchFiles items, handing
// over a partial batch when the queue runs dry for a moment so the tail of
// a copy does not wait for the end of the walk.
func batches(q <-chan sumItem, fn func([]sumItem)) {
	var b []sumItem
	var bytes int64
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if len(b) == 0 {
			it, ok := <-q
			if !ok {
				return
			}
			b = append(b, it)
			bytes = it.fi.Size()
			t.Reset(50 * time.Millisecond)
			continue
		}
		select {
		case it, ok := <-q:
			if !ok {
				fn(b)
				return
			}
			b = append(b, it)
			bytes += it.fi.Size()
			if len(b) >= hashBatchFiles || bytes >= hashBatchBytes {
				fn(b)
				b, bytes = nil, 0
			}
		case <-t.C:
			fn(b)
			b, bytes = nil, 0
		}
	}
}

// comparer checks files whose size and mtime match (verify = "sha256") by
// hashing them on both hosts, each with its own sha256sum, so unchanged
// data never crosses the network. Files that differ are copied again.
func (e *engine) comparer(ctx context.Context) {
	batches(e.cmpQ, func(b []sumItem) {
		if e.failed() != nil || ctx.Err() != nil {
			return
		}
		sp := make([]string, len(b))
		dp := make([]string, len(b))
		for i, it := range b {
			sp[i], dp[i] = e.srcPath(it.rel), e.dstPath(it.rel)
		}
		var ss, ds []string
		var serr, derr error
		var wg sync.WaitGroup
		var dRead int
		listed := e.idsListed(ctx)
		ids := e.dstIdents(ctx, dp)
		wg.Go(func() { ss, _, serr = hashSide(ctx, e.src, sp) })
		wg.Go(func() { ds, dRead, derr = hashSide(ctx, e.dst, dp) })
		t0 := time.Now()
		wg.Wait()
		e.tracef("compare batch of %d: %v (target read back %d)", len(b), time.Since(t0), dRead)
		if serr != nil || derr != nil {
			e.fail(fmt.Errorf("compare unchanged files of copy set %s: %w", e.in.Set.Name, firstErr(serr, derr)))
			return
		}
		e.verRead.Add(int64(dRead))
		e.verSum.Add(int64(len(b) - dRead))
		for i, it := range b {
			if ss[i] == ds[i] {
				e.unchanged.Add(1)
				e.verified.Add(1)
				e.prog.filesDone.Add(1)
				e.man.add(manifestOf(it.rel, it.fi, ss[i], ""))
				if listed {
					e.ids.add(it.rel, ss[i], ids[dp[i]])
				}
				continue
			}
			// Same size and mtime, different content: copy it again.
			sum, err := e.copyFileChecked(ctx, i, it.rel, it.fi, nil)
			if err != nil {
				if err := e.notCopied(it.rel, it.fi, err); err != nil {
					e.fail(err)
					return
				}
				continue
			}
			e.prog.bytesTotal.Add(it.fi.Size())
			e.copied(it.rel, it.fi, sum, listed)
		}
	})
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// verifier confirms copied files against the target host's own digest.
// A mismatch is copied once more; a second mismatch fails the copy.
func (e *engine) verifier(ctx context.Context) {
	batches(e.verQ, func(b []sumItem) {
		if e.failed() != nil || ctx.Err() != nil {
			return
		}
		dp := make([]string, len(b))
		for i, it := range b {
			dp[i] = e.dstPath(it.rel)
		}
		ids := e.dstIdents(ctx, dp)
		size := int64(-1)
		if e.in.Phase == PhaseFinalSync {
			size = 0
			for _, it := range b {
				size += it.fi.Size()
			}
		}
		got, nRead, err := hashSideSized(ctx, e.dst, dp, size)
		if err == nil {
			e.verRead.Add(int64(nRead))
			e.verSum.Add(int64(len(b) - nRead))
		}
		if err != nil {
			e.fail(fmt.Errorf("verify copied files of copy set %s: %w", e.in.Set.Name, err))
			return
		}
		for i, it := range b {
			sum := it.sum
			if got[i] != sum {
				e.recopied.Add(1)
				s2, err := e.copyFileChecked(ctx, i, it.rel, it.fi, nil)
				if err != nil {
					if err := e.notCopied(it.rel, it.fi, err); err != nil {
						e.fail(err)
						return
					}
					continue
				}
				g2, _, err := hashSide(ctx, e.dst, dp[i:i+1])
				if err != nil {
					e.fail(err)
					return
				}
				if g2[0] != s2 {
					e.fail(temporal.NewNonRetryableApplicationError(fmt.Sprintf(
						"verification failed twice for %s on %s: the target holds sha256 %s, the source stream had %s; check the target's disk and memory before retrying",
						dp[i], e.dst.name, g2[0], s2), contract.ErrVerificationFailed, nil))
					return
				}
				sum = s2
			} else if it.listed {
				e.ids.add(it.rel, sum, ids[dp[i]])
			}
			e.verified.Add(1)
			e.prog.filesDone.Add(1)
			e.man.add(manifestOf(it.rel, it.fi, sum, ""))
		}
	})
}
