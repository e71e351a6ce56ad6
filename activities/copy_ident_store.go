package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
)

// verifiedRec is one line of the verified-identity state file.
type verifiedRec struct {
	Path    string    `json:"path"`
	PathB64 string    `json:"path_b64,omitempty"`
	SHA256  string    `json:"sha256"`
	Src     fileIdent `json:"src"`
	Dst     fileIdent `json:"dst"`
}

// identState is what a copy knows of verified identities: the records of
// the last seed (prev, by relative path), both trees' identities listed
// when this copy started, and the files this copy verified (rec).
type identState struct {
	prev           map[string]*verifiedRec
	srcNow, dstNow map[string]fileIdent // by path relative to the root
	inEntries      bool                 // instead, in the tree listings' entries (listedIdent)
	write          bool                 // this copy writes the state file (seed)
	mu             sync.Mutex
	rec            map[string]verifiedRec
}

// identStatePathOld is where earlier versions kept the state file, next
// to the manifests (a final sync reads and parses the whole file inside
// the window: the binary form of identStateMagic, as JSON lines were
// three times the bytes and slower to parse). It is no longer read: its
// digest is in no history; a seed removes it.
func identStatePathOld(to, moveID, set string) string {
	return strings.TrimSuffix(manifestPath(to, moveID, set, "verified"), ".jsonl") + ".bin"
}

// identStatePathPlain is where earlier versions kept the state file as
// JSON lines; a seed removes it.
func identStatePathPlain(to, moveID, set string) string {
	return manifestPath(to, moveID, set, "verified")
}

// loadIdentities reads the last seed's verified identities and lists both
// trees, all at once. It leaves e.ids nil when the source host cannot
// list identities (SFTP only): every unchanged file is then hashed.
func (e *engine) loadIdentities(ctx context.Context) {
	if !e.opt.verifySHA {
		return
	}
	if e.dstNoExec {
		if e.in.IdentState != nil {
			e.stateNote = "the target runs no commands (SFTP only): identity state not trusted there, every file hashed"
		}
		return
	}
	st := &identState{write: e.in.Phase == PhaseSeed, rec: map[string]verifiedRec{}}
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case p := <-e.prevC:
			if p.overSFTP { // the target could not run cat
				p = e.readIdentState()
			}
			st.prev = e.trustState(p)
		case <-ctx.Done():
		}
	})
	if e.srcTree != nil {
		st.inEntries = true
	} else {
		wg.Go(func() { st.srcNow = listIdents(ctx, e.src, identTreeCmd(e.from), nil, e.from+"/") })
		wg.Go(func() { st.dstNow = listIdents(ctx, e.dst, identTreeCmd(e.to), nil, e.to+"/") })
	}
	wg.Wait()
	if st.srcNow == nil && !st.inEntries {
		return
	}
	if st.dstNow == nil && !st.inEntries {
		st.prev = nil
	}
	e.ids = st
}

// prevState is the state file as read from the start of a copy, with
// the SHA-256 and record count of what was read; with overSFTP it is
// still to be read, over SFTP.
type prevState struct {
	recs     map[string]*verifiedRec
	n        int64
	sum      string
	found    bool
	overSFTP bool
}

// readIdentState reads the state file over SFTP; a missing one is not
// found. Without a digest to compare with, nothing is read.
func (e *engine) readIdentState() prevState {
	if e.in.IdentState == nil {
		return prevState{}
	}
	l, err := e.stateLoc()
	if err != nil {
		e.tracef("identity state on %s: %v", e.dst.name, err)
		return prevState{}
	}
	f, err := e.dst.primary.Open(l.file)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			e.tracef("read %s on %s: %v", l.file, e.dst.name, err)
		}
		return prevState{}
	}
	defer f.Close()
	return readState(f)
}

// readIdentStateExec reads the state file with one `cat` over the
// target's first connection, which a final sync has before its SFTP
// session: the file is then read while both trees are listed. Where no
// state directory is configured the path is relative to the session's
// start, the SSH user's home, as SFTP's is. ok is false when the command
// could not run; a missing file is not found.
func (e *engine) readIdentStateExec(ctx context.Context, r Runner) (prevState, bool) {
	if e.in.IdentState == nil {
		return prevState{}, true
	}
	p := identStateRel(e.in.MoveID, e.in.Set.Name)
	if e.stateBase != "" {
		p = path.Join(path.Clean(e.stateBase), sanitizeName(e.in.MoveID), sanitizeName(e.in.Set.Name)+"-verified.bin")
	}
	pr, pw := io.Pipe()
	var out prevState
	done := make(chan struct{})
	go func() {
		defer close(done)
		out = readState(pr)
	}()
	var stderr bytes.Buffer
	code, err := r.Run(ctx, "LC_ALL=C exec cat -- "+ShellQuote(p), nil, pw, &stderr)
	pw.Close()
	<-done
	switch {
	case err != nil, code == 126, code == 127: // no session, or no cat
		return prevState{}, false
	case code != 0:
		if !strings.Contains(stderr.String(), "No such file") {
			// e.dst is not set yet: this runs while it connects.
			e.tracef("read %s on %s: exit %d: %s", p, hostLabel(e.in.Target), code, stderrTail(stderr.String()))
		}
		return prevState{}, true
	}
	return out, true
}

// parseIdentState reads the state file, binary or JSON lines (earlier
// versions), and counts its records; nil if it cannot be read to its end.
// Records are kept in
// fixed blocks (never copied to grow) and indexed once, in a map sized
// for them: fresh memory is what costs most here, and a slice or map
// grown record by record touches twice as much.
func parseIdentState(r io.Reader) (map[string]*verifiedRec, int64) {
	br := bufio.NewReaderSize(r, 64<<10)
	var blocks [][]verifiedRec
	var ok bool
	if magic, _ := br.Peek(len(identStateMagic)); string(magic) == identStateMagic {
		_, _ = br.Discard(len(magic))
		blocks, ok = readIdentRecs(br)
	} else {
		blocks, ok = readIdentLines(br)
	}
	if !ok {
		return nil, 0
	}
	n := 0
	for _, b := range blocks {
		n += len(b)
	}
	out := make(map[string]*verifiedRec, n)
	for _, b := range blocks {
		for i := range b {
			out[exactName(b[i].Path, b[i].PathB64)] = &b[i]
		}
	}
	return out, int64(n)
}

// identBlock is how many records a block of parseIdentState holds.
const identBlock = 1024

func appendToBlock(blocks [][]verifiedRec, r verifiedRec) [][]verifiedRec {
	if len(blocks) == 0 || len(blocks[len(blocks)-1]) == identBlock {
		blocks = append(blocks, make([]verifiedRec, 0, identBlock))
	}
	blocks[len(blocks)-1] = append(blocks[len(blocks)-1], r)
	return blocks
}

// readIdentLines reads the JSON lines of earlier versions.
func readIdentLines(r io.Reader) ([][]verifiedRec, bool) {
	var blocks [][]verifiedRec
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rec, ok := parseVerifiedLine(sc.Bytes())
		if !ok {
			var slow verifiedRec
			if json.Unmarshal(sc.Bytes(), &slow) != nil || len(slow.SHA256) != 64 {
				continue
			}
			rec = slow
		}
		blocks = appendToBlock(blocks, rec)
	}
	return blocks, sc.Err() == nil
}

// keepVerified reports the digest verified earlier for an unchanged file
// (fi, old: its source and target entries) when its identity on both
// hosts is still the one recorded then.
func (e *engine) keepVerified(ctx context.Context, rel string, fi, old os.FileInfo) (string, bool) {
	if !e.opt.verifySHA {
		return "", false
	}
	select {
	case <-e.idsDone:
	case <-ctx.Done():
		return "", false
	}
	st := e.ids
	if st == nil || st.prev == nil {
		return "", false
	}
	r, ok := st.prev[rel]
	if !ok {
		return "", false
	}
	s, sok := st.srcNow[rel]
	d, dok := st.dstNow[rel]
	if st.inEntries {
		s, sok = listedIdent(fi)
		d, dok = listedIdent(old)
	}
	if !sok || !dok || s != r.Src || d != r.Dst {
		return "", false
	}
	// The walk's own listing must show the same file.
	if s.Size != fi.Size() || s.MtimeNs/1e9 != fi.ModTime().Unix() {
		return "", false
	}
	if st.write {
		st.add(rel, r.SHA256, r.Dst)
	}
	return r.SHA256, true
}

// keepOrCompare keeps the verified digest of an unchanged file or hands
// it to the comparer (verify = "sha256").
func (e *engine) keepOrCompare(ctx context.Context, t fileTask) {
	if sum, ok := e.keepVerified(ctx, t.rel, t.fi, t.old); ok {
		e.keptFile(t, sum)
		return
	}
	e.cmpQ <- sumItem{rel: t.rel, fi: t.fi}
}

func (e *engine) keptFile(t fileTask, sum string) {
	e.unchanged.Add(1)
	e.verified.Add(1)
	e.kept.Add(1)
	e.prog.filesDone.Add(1)
	e.man.add(manifestOf(t.rel, t.fi, sum, ""))
}

// keepInWalk keeps, in the walk itself, an unchanged file whose owner and
// mode are right and whose verified digest still holds once the identities
// are in: most of a final sync's tree, where handing each file to a worker
// costs more than deciding it. Other files go to the workers as before.
func (e *engine) keepInWalk(ctx context.Context, t fileTask) bool {
	if !t.same || !e.opt.verifySHA || e.opt.dry || e.idsDone == nil {
		return false
	}
	select {
	case <-e.idsDone:
	default:
		return false
	}
	if modeDiffers(t.fi, t.old) || e.ownerDiffers(t.fi, t.old) {
		return false
	}
	sum, ok := e.keepVerified(ctx, t.rel, t.fi, t.old)
	if ok {
		e.keptFile(t, sum)
	}
	return ok
}

// deferUntilListed parks an unchanged file while the identity listings
// still run, so that the walk and the copies of changed files go on
// meanwhile; keeper takes the parked files up once they are done.
func (e *engine) deferUntilListed(t fileTask) bool {
	e.parkMu.Lock()
	defer e.parkMu.Unlock()
	if e.parkDone {
		return false
	}
	e.parked = append(e.parked, t)
	return true
}

// keeper waits for the identity listings and then decides the parked
// files; from then on workers decide unchanged files themselves.
func (e *engine) keeper(ctx context.Context) {
	select {
	case <-e.idsDone:
	case <-ctx.Done():
	}
	for {
		e.parkMu.Lock()
		batch := e.parked
		e.parked = nil
		if len(batch) == 0 {
			e.parkDone = true
		}
		e.parkMu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, t := range batch {
			if e.failed() == nil && ctx.Err() == nil {
				e.keepOrCompare(ctx, t)
			}
		}
	}
}

// idsListed waits for the identity listings, so that what a copy reads
// from now on was listed before: a listing of the source takes a fraction
// of a copy's time, and a file read before it could not be recorded.
func (e *engine) idsListed(ctx context.Context) bool {
	if e.in.Phase != PhaseSeed {
		return false // only a seed records identities
	}
	select {
	case <-e.idsDone:
		return true
	case <-ctx.Done():
		return false
	}
}

// add records a file verified by this copy with the target identity
// listed before the target hashed it.
func (st *identState) add(rel, sum string, dst fileIdent) {
	if st == nil || !st.write || dst.Inode == 0 {
		return
	}
	st.mu.Lock()
	st.rec[rel] = verifiedRec{SHA256: sum, Dst: dst}
	st.mu.Unlock()
}

// dstIdents lists the target identities of paths about to be hashed, when
// this copy records them.
func (e *engine) dstIdents(ctx context.Context, paths []string) map[string]fileIdent {
	if !e.idsListed(ctx) || e.ids == nil || !e.ids.write {
		return nil
	}
	return identsOfPaths(ctx, e.dst, paths)
}

// writeIdentState lists the source again and writes, for every file this
// copy verified whose source identity did not change while it ran, both
// identities and the digest, into a checked directory (copy_ident_trust.go),
// and keeps the digest and count of the bytes written for the result. A
// failure only costs hashing next time, so it removes the old state and
// is not an error of the copy.
func (e *engine) writeIdentState(ctx context.Context) {
	st := e.ids
	if st == nil || !st.write {
		return
	}
	cl := e.dst.primary
	// Earlier versions' files next to the manifests are never read again.
	_ = cl.Remove(identStatePathOld(e.to, e.in.MoveID, e.in.Set.Name))
	_ = cl.Remove(identStatePathPlain(e.to, e.in.MoveID, e.in.Set.Name))
	l, err := e.stateLoc()
	if err == nil {
		_, err = checkStateDir(cl, l, true)
	}
	if err != nil {
		e.note(fmt.Sprintf("note: could not record verified identities on %s (%v); the next sync hashes every unchanged file", e.dst.name, err))
		return
	}
	final := l.file
	_ = cl.Remove(final)
	tmp := path.Join(path.Dir(final), tmpPrefix+path.Base(final)+"."+randomSuffix())
	h := sha256.New()
	var n int64
	err = func() error {
		f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
		if err != nil {
			return err
		}
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return err
		}
		bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<16)
		_, werr := bw.WriteString(identStateMagic)
		var line []byte
		// The second listing is streamed, never held: for each file whose
		// source identity did not move while the copy ran, one record.
		prefix := e.from + "/"
		ok := eachIdent(ctx, e.src, identTreeCmd(e.from), nil, func(p string, b fileIdent) {
			rel, found := strings.CutPrefix(p, prefix)
			r, recorded := st.rec[rel]
			if !found || !recorded || werr != nil {
				return
			}
			if a, ok := st.srcNow[rel]; !ok || a != b {
				return
			}
			r.Src = b
			rec, err := appendIdentRec(line[:0], rel, r)
			if err != nil {
				return // a path too long to record: hashed by the next sync
			}
			line = rec
			if _, werr = bw.Write(line); werr == nil {
				n++
			}
		})
		if !ok || werr != nil {
			f.Close()
			return firstErr(werr, fmt.Errorf("list %s on %s again", e.from, e.src.name))
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return renameReplace(cl, tmp, final)
	}()
	if err != nil {
		_ = cl.Remove(tmp)
		e.note(fmt.Sprintf("note: could not record verified identities in %s on %s (%v); the next sync hashes every unchanged file", final, e.dst.name, err))
		return
	}
	e.refMu.Lock()
	e.stateOut = &IdentState{SHA256: hex.EncodeToString(h.Sum(nil)), Records: n}
	e.refMu.Unlock()
}

// parseVerifiedLine reads a line exactly as writeIdentState's encoder
// writes it for a path JSON holds without escapes: a final sync reads
// the whole file inside the window, and this is several times faster
// than encoding/json. Any other line reports false and is decoded by
// encoding/json.
func parseVerifiedLine(b []byte) (verifiedRec, bool) {
	var r verifiedRec
	c := jsonCursor{b: b, ok: true}
	c.lit(`{"path":"`)
	p := c.until('"')
	if bytes.IndexByte(p, '\\') >= 0 {
		return r, false
	}
	r.Path = string(p)
	c.lit(`","sha256":"`)
	if sum := c.until('"'); len(sum) == 64 && c.ok {
		r.SHA256 = string(sum)
	} else {
		return r, false
	}
	c.lit(`","src":`)
	r.Src = c.ident()
	c.lit(`,"dst":`)
	r.Dst = c.ident()
	c.lit(`}`)
	return r, c.ok && len(c.b) == 0
}

// jsonCursor walks a line of known shape; ok turns false at the first
// byte that does not fit.
type jsonCursor struct {
	b  []byte
	ok bool
}

func (c *jsonCursor) lit(s string) {
	if !c.ok || !bytes.HasPrefix(c.b, []byte(s)) {
		c.ok = false
		return
	}
	c.b = c.b[len(s):]
}

func (c *jsonCursor) until(end byte) []byte {
	i := bytes.IndexByte(c.b, end)
	if !c.ok || i < 0 {
		c.ok = false
		return nil
	}
	v := c.b[:i]
	c.b = c.b[i:]
	return v
}

func (c *jsonCursor) num() int64 {
	if !c.ok {
		return 0
	}
	i, neg := 0, false
	if len(c.b) > 0 && c.b[0] == '-' {
		neg, i = true, 1
	}
	j := i
	for j < len(c.b) && c.b[j] >= '0' && c.b[j] <= '9' {
		j++
	}
	n, ok := parseUintBytes(c.b[i:j], 10)
	if !ok || n > 1<<63-1 {
		c.ok = false
		return 0
	}
	c.b = c.b[j:]
	if neg {
		return -int64(n)
	}
	return int64(n)
}

func (c *jsonCursor) ident() fileIdent {
	var id fileIdent
	c.lit(`{"size":`)
	id.Size = c.num()
	c.lit(`,"mtime_ns":`)
	id.MtimeNs = c.num()
	c.lit(`,"ctime_ns":`)
	id.CtimeNs = c.num()
	c.lit(`,"inode":`)
	if n := c.num(); n >= 0 {
		id.Inode = uint64(n)
	} else {
		c.ok = false
	}
	c.lit(`,"dev":`)
	if n := c.num(); n >= 0 {
		id.Dev = uint64(n)
	} else {
		c.ok = false
	}
	c.lit(`}`)
	return id
}
