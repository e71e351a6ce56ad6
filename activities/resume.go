package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"
)

// A file bigger than one chunk is written to a temporary name that is the
// same for every attempt of the same move, copy set, path and source
// version (size and mtime): an attempt that died mid-file (killed worker,
// lost link) leaves the partial file where the retry finds it. The retry
// keeps the prefix whose chunks hash the same on both hosts and sends the
// rest, so at most the chunks in flight at the crash are sent again.

// partialTag marks resumable temporary names: tmpPrefix+partialTag+
// <16 hex digits>+"."+<final name>.
const partialTag = "part."

// resumeWindow is how many chunks below the partial file's end are checked
// one by one: writes of the chunks in flight (three per lane, up to
// MaxConns lanes) may have finished out of order.
const resumeWindow = 3*MaxConns + 1

// partialName returns the resumable temporary name for rel at dst, or ""
// when the final name is too long to keep in it.
func (e *engine) partialName(dst, rel string, fi os.FileInfo) string {
	dir, base := path.Split(dst)
	if len(base) > 200 {
		return ""
	}
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%d", e.in.MoveID, e.in.Set.Name, rel, fi.Size(), fi.ModTime().Unix())
	sum := sha256.Sum256([]byte(key))
	return dir + tmpPrefix + partialTag + hex.EncodeToString(sum[:8]) + "." + base
}

// keepPartial tells the walk whether a temporary file named name in the
// target directory dirRel is a partial file that this copy will resume:
// its name matches the source file's current version. Other temporary
// files are leftovers of crashed attempts.
func (e *engine) keepPartial(dirRel, name string) bool {
	rest, ok := strings.CutPrefix(name, tmpPrefix+partialTag)
	if !ok || len(rest) < 18 || rest[16] != '.' {
		return false
	}
	rel := rest[17:]
	if dirRel != "" {
		rel = dirRel + "/" + rel
	}
	fi, err := e.src.primary.Lstat(e.srcPath(rel))
	if err != nil || !fi.Mode().IsRegular() || fi.Size() <= chunkSize || e.filter.Excluded(rel, false) {
		return false
	}
	return path.Base(e.partialName(e.dstPath(rel), rel, fi)) == name
}

// openTmp opens the temporary file for a copy of src: a fresh one (from =
// 0), or for big files the partial file of an earlier attempt, with from
// the length of its verified prefix. Anything wrong with a partial file
// costs only the resume: it is removed and the copy starts afresh.
func (e *engine) openTmp(ctx context.Context, dcl *sftp.Client, src, dst, rel string, fi os.FileInfo) (tmp string, f *sftp.File, from int64, err error) {
	tmp = ""
	if fi.Size() > chunkSize {
		tmp = e.partialName(dst, rel, fi)
	}
	if tmp == "" {
		tmp = tmpName(dst)
	} else if pfi, err := dcl.Lstat(tmp); err == nil {
		var held map[int64]bool
		if pfi.Mode().IsRegular() {
			from, held = e.resumeOffset(ctx, src, tmp, fi.Size(), pfi.Size())
		}
		if from > 0 {
			// Bytes past the verified chunks are overwritten by the copy.
			if f, err = dcl.OpenFile(tmp, os.O_WRONLY); err == nil {
				kept := from + int64(len(held))*chunkSize
				e.prog.resumed.Add(kept)
				e.prog.resent.Add(pfi.Size() - kept)
				e.prog.bytesDone.Add(kept)
				if len(held) > 0 {
					e.prog.held.Store(tmp, held)
				}
				return tmp, f, from, nil
			}
		}
		e.prog.resent.Add(pfi.Size())
		if err := e.removeEntry(tmp, pfi); err != nil {
			return tmp, nil, 0, err
		}
	}
	f, err = dcl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_TRUNC)
	if err != nil {
		return tmp, nil, 0, e.dst.fullError(fmt.Errorf("create %s on %s: %w", tmp, e.dst.name, err), tmp)
	}
	return tmp, f, 0, nil
}

// keepTmpOn reports whether a failed copy should leave its partial file
// for the retry: not when the failure is permanent (the move stops). A
// kept file is remembered so that a copy that fails for good removes it.
func (e *engine) keepTmpOn(tmp string, err error) bool {
	if !strings.HasPrefix(path.Base(tmp), tmpPrefix+partialTag) {
		return false
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.NonRetryable() {
		return false
	}
	e.prog.kept.Store(tmp, struct{}{})
	return true
}

// dropPartials removes the partial files this attempt kept.
func (e *engine) dropPartials() {
	e.prog.kept.Range(func(k, _ any) bool {
		_ = e.dst.primary.Remove(k.(string))
		return true
	})
}

// resumeOffset returns how much of the partial file tmp (have bytes) can be
// kept: the longest run of whole chunks equal to the source's, and the
// offsets of the equal chunks after it (writes of the chunks in flight end
// out of order), checked by each host hashing its own file (nothing
// crosses the network). It is 0 when the hosts cannot hash (no sha256sum
// or dd) or the base prefix differs.
func (e *engine) resumeOffset(ctx context.Context, src, tmp string, size, have int64) (int64, map[int64]bool) {
	cs := int64(chunkSize)
	end := min(have, size) / cs // whole chunks present
	if end == 0 || e.src.run == nil || e.dst.run == nil {
		return 0, nil
	}
	base := max(end-resumeWindow, 0)
	var ss, ds []string
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { ss, serr = chunkSums(ctx, e.src, src, base, end) })
	wg.Go(func() { ds, derr = chunkSums(ctx, e.dst, tmp, base, end) })
	wg.Wait()
	if serr != nil || derr != nil || len(ss) != len(ds) || ss[0] != ds[0] {
		e.tracef("resume %s: no verified prefix (%v %v)", tmp, serr, derr)
		return 0, nil
	}
	n := base
	for i := 1; i < len(ss) && ss[i] == ds[i]; i++ {
		n++
	}
	e.prog.moved.Add(end - base)
	if n == 0 {
		return 0, nil
	}
	var held map[int64]bool
	for i := n - base + 1; i < int64(len(ss)); i++ {
		if ss[i] == ds[i] {
			if held == nil {
				held = map[int64]bool{}
			}
			held[(base+i-1)*cs] = true
		}
	}
	return n * cs, held
}

// chunkSums hashes, on the host, the first base chunks of p as one digest,
// then each chunk from base to end on its own.
func chunkSums(ctx context.Context, ep *endpoint, p string, base, end int64) ([]string, error) {
	q := ShellQuote(p)
	cmd := fmt.Sprintf("f=%s; dd if=\"$f\" bs=%d count=%d 2>/dev/null | sha256sum || exit 1; i=%d; "+
		"while [ $i -lt %d ]; do dd if=\"$f\" bs=%d skip=$i count=1 2>/dev/null | sha256sum || exit 1; i=$((i+1)); done",
		q, chunkSize, base, base, end, chunkSize)
	var out, errb bytes.Buffer
	code, err := ep.run.Run(ctx, cmd, nil, &out, &errb)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("hash chunks of %s on %s: exit %d: %s", p, ep.name, code, strings.TrimSpace(errb.String()))
	}
	var sums []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || len(f[0]) != 64 {
			return nil, fmt.Errorf("hash chunks of %s on %s: unexpected output %q", p, ep.name, sc.Text())
		}
		sums = append(sums, f[0])
	}
	if want := int(end-base) + 1; len(sums) != want {
		return nil, fmt.Errorf("hash chunks of %s on %s: %d digests, want %d", p, ep.name, len(sums), want)
	}
	return sums, nil
}

// wholeSum returns the SHA-256 of the source file p, hashed on the source
// host: a resumed copy streamed only the file's tail.
func (e *engine) wholeSum(ctx context.Context, p string) (string, error) {
	sums, _, err := hashSide(ctx, e.src, []string{p})
	if err != nil {
		return "", err
	}
	return sums[0], nil
}

// heldChunks returns (and forgets) the chunks a resumed partial file tmp
// holds past its resume offset.
func (e *engine) heldChunks(tmp string) map[int64]bool {
	if v, ok := e.prog.held.LoadAndDelete(tmp); ok {
		return v.(map[int64]bool)
	}
	return nil
}
