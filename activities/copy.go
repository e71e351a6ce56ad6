package activities

import (
	"context"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"
)

// Copy engine defaults. Two cores measured here: 16 files in flight keep
// both SSH connections busy on trees of small files; 2 connections per
// side spread the encryption over the cores (see bench/README.md).
const (
	defaultConcurrency = 16
	defaultConns       = 2
	maxConns           = 8
	maxRefusals        = 10
	// bigFilesAtOnce bounds how many big files use every lane at once, so
	// memory stays at bigFilesAtOnce*lanes*3 chunks whatever the tree.
	bigFilesAtOnce = 2
	// Extra connections are dialed once this much is queued for copying.
	growAfterFiles = 256
	growAfterBytes = 64 << 20
)

// Error types of non-retryable copy failures (temporal ApplicationError).
const (
	ErrTypeCopyRefused        = "CopyRefused"
	ErrTypeNoSpace            = "TargetNoSpace"
	ErrTypeVerificationFailed = "VerificationFailed"
)

// testHooks let tests force code paths that a real host decides.
var testHooks struct {
	forceReadBack bool             // verify by reading back even where sha256sum exists
	afterPlace    func(rel string) // called after each file is renamed into place
	beforeCopy    func(rel string) // called before each file is opened
	conns         int              // SSH connections per side; 0 = default
	freeBytes     int64            // pretend the target has this much free space
}

// CopyTree brings in.Set.To on in.Target up to date with in.Set.From on
// in.Source (DESIGN.md §5).
//
// Files are streamed source SFTP → worker → target SFTP with the SHA-256
// computed on the way, written to a temporary name in the target directory
// and renamed into place after mode, owner (when connected as root) and
// mtime are set, so a finished file always has its final size and mtime:
// a retried activity skips it. Hard links are copied as separate files.
// Symlinks are copied as links, never followed; links whose target is
// absolute or leaves the tree, devices, sockets and FIFOs are refused and
// counted. A source root that is a symlink is resolved once (the directory
// it points to is copied, noted in Refusals without counting as refused); a
// target root that is a symlink is refused. Owners are copied by number
// (uid/gid) and only when the target user is root; symlinks keep the
// owner of whoever created them. A source file that vanishes between the
// walk and its copy (seed runs live) is counted in Refused and skipped.
//
// Tuning (environment of the worker): UMZUG_COPY_CONNS sets the SSH
// connections per host (default 2), UMZUG_COPY_CONCURRENCY the files in
// flight when the copy set does not say (default 16); UMZUG_COPY_TRACE=1
// prints phase timings to stderr. Figures: bench/README.md.
func (a *Activities) CopyTree(ctx context.Context, in CopyInput) (CopyResult, error) {
	start := time.Now()
	e, err := a.newEngine(ctx, in, false)
	tracef("dialed %v (%s)", time.Since(start), in.Set.Verify)
	if err != nil {
		return CopyResult{}, permanent(err)
	}
	defer e.close()
	e.watchProgress(a)
	res, err := e.run(ctx)
	res.ResumedBytes, res.ResentBytes = e.prog.resumed.Load(), e.prog.resent.Load()
	res.Duration = time.Since(start)
	if s := res.Duration.Seconds(); s > 0 {
		res.BytesPerSec = float64(res.CopiedBytes) / s
	}
	return res, e.copyFailure(err)
}

func hostLabel(h Host) string {
	if h.Name != "" {
		return h.Name
	}
	return h.Address
}

type copyOptions struct {
	dry         bool
	delete      bool
	verifySHA   bool
	concurrency int
}

// dirMeta is what the post-order pass needs of a directory: compact, so a
// tree with many directories stays small in memory.
type dirMeta struct {
	rel      string
	mode     fs.FileMode
	mtime    int64
	uid, gid uint32
	// The target directory as the walk found it; a directory that
	// already matched and saw no change in this run is left alone.
	existed        bool
	oldMode        fs.FileMode
	oldMtime       int64
	oldUID, oldGID uint32
}

func newDirMeta(rel string, fi, old os.FileInfo) dirMeta {
	d := dirMeta{rel: rel, mode: fi.Mode(), mtime: fi.ModTime().Unix(), uid: uidOf(fi), gid: gidOf(fi)}
	if old != nil && old.IsDir() {
		d.existed, d.oldMode, d.oldMtime, d.oldUID, d.oldGID = true, old.Mode(), old.ModTime().Unix(), uidOf(old), gidOf(old)
	}
	return d
}

// markDirty notes that directory rel (relative to the target root) was
// written to in this run, so its mtime must be set again.
func (e *engine) markDirty(rel string) { e.dirty.Store(rel, struct{}{}) }

// markParentDirty marks the directory holding entry rel.
func (e *engine) markParentDirty(rel string) {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		e.markDirty(rel[:i])
	} else {
		e.markDirty("")
	}
}

type fileTask struct {
	rel  string
	fi   os.FileInfo // source (lstat)
	old  os.FileInfo // target entry, nil if none
	same bool        // size and mtime match
}

type sumItem struct {
	rel string
	fi  os.FileInfo
	sum string // SHA-256 of what was streamed ("" for unchanged files)
}

type engine struct {
	src, dst *endpoint
	in       CopyInput
	from, to string
	opt      copyOptions
	filter   *Filter
	limit    *limiter
	prog     *progress
	man      *manifestWriter
	chown    bool
	bigSem   chan struct{}
	free     int64 // target free bytes at start, -1 unknown
	freeAt   string

	files, dirs, symlinks, bytes                 atomic.Int64
	copiedFiles, copiedBytes, unchanged, deleted atomic.Int64
	recopied, refused, excluded, verified        atomic.Int64
	changedFiles, changedBytes, need             atomic.Int64
	verSum, verRead                              atomic.Int64 // how the target\'s digests were obtained
	notes                                        []string
	refMu                                        sync.Mutex
	refusals                                     []string
	dirList                                      []dirMeta
	dirty                                        sync.Map // rel of directories written to
	pendFiles, pendBytes                         atomic.Int64
	errMu                                        sync.Mutex
	err                                          error
	cancel                                       context.CancelFunc
	tasks                                        chan fileTask
	cmpQ, verQ                                   chan sumItem
}

func (a *Activities) newEngine(ctx context.Context, in CopyInput, dry bool) (*engine, error) {
	set := in.Set
	from, to := path.Clean(set.From), path.Clean(set.To)
	if !path.IsAbs(from) || !path.IsAbs(to) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: from %q and to %q must be absolute paths", set.Name, set.From, set.To), ErrTypeCopyRefused, nil)
	}
	if to == "/" {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: refusing to copy onto / on %s; name a directory", set.Name, hostLabel(in.Target)), ErrTypeCopyRefused, nil)
	}
	flt, err := NewFilter(set.Exclude, set.Include)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: %v", set.Name, err), ErrTypeCopyRefused, err)
	}
	conc := set.Concurrency
	if conc <= 0 {
		conc = defaultConcurrency
		if n, err := strconv.Atoi(os.Getenv("UMZUG_COPY_CONCURRENCY")); err == nil && n > 0 {
			conc = n
		}
	}
	n := connsPerSide()
	if dry {
		n = 1
	}
	e := &engine{
		in: in, from: from, to: to, filter: flt,
		opt: copyOptions{
			dry:         dry,
			delete:      in.Delete,
			verifySHA:   set.Verify != VerifySizeMtime,
			concurrency: conc,
		},
		limit:  newLimiter(set.BandwidthBytesPerSec),
		prog:   newProgress(set.Name, in.Phase),
		chown:  in.Target.User == "root",
		bigSem: make(chan struct{}, bigFilesAtOnce),
		free:   -1,
	}
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { e.src, serr = a.openEndpoint(ctx, in.Source, n) })
	wg.Go(func() { e.dst, derr = a.openEndpoint(ctx, in.Target, n) })
	wg.Wait()
	if serr != nil || derr != nil {
		e.src.close()
		e.dst.close()
		return nil, firstErr(serr, derr)
	}
	return e, nil
}

func (e *engine) close() {
	e.src.close()
	e.dst.close()
}

func (e *engine) fail(err error) {
	e.errMu.Lock()
	if e.err == nil {
		e.err = err
		if e.cancel != nil {
			e.cancel()
		}
	}
	e.errMu.Unlock()
}

func (e *engine) failed() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.err
}

// refuse counts an entry that is not copied for safety and keeps the first
// few reasons for the result.
func (e *engine) refuse(rel, reason string) {
	e.refused.Add(1)
	e.refMu.Lock()
	defer e.refMu.Unlock()
	if len(e.refusals) < maxRefusals {
		if len(rel) > 200 {
			rel = rel[:200] + "…"
		}
		e.refusals = append(e.refusals, fmt.Sprintf("%q: %s", rel, reason))
	}
}

func (e *engine) srcPath(rel string) string { return joinRel(e.from, rel) }
func (e *engine) dstPath(rel string) string { return joinRel(e.to, rel) }

func joinRel(root, rel string) string {
	if rel == "" {
		return root
	}
	return root + "/" + rel
}

// inside reports whether p is strictly inside the target root: the guard
// in front of every delete.
func (e *engine) inside(p string) bool {
	return path.Clean(p) == p && strings.HasPrefix(p, e.to+"/") && !strings.Contains(p[len(e.to):], "/../")
}

// prepare checks both roots, resolves a symlinked source root, checks the
// target root and its free space and opens the manifest.
func (e *engine) prepare(ctx context.Context) error {
	if testHooks.forceReadBack {
		e.dst.setTool(sumTool{})
	}
	scl, dcl := e.src.primary, e.dst.primary
	fi, err := scl.Lstat(e.from)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: source directory %s does not exist on %s", e.in.Set.Name, e.from, e.src.name), ErrTypeCopyRefused, err)
		}
		return fmt.Errorf("stat source %s on %s: %w", e.from, e.src.name, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		real, err := scl.RealPath(e.from)
		if err == nil {
			fi, err = scl.Stat(real)
		}
		if err != nil || !fi.IsDir() {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: source %s on %s is a symlink that does not lead to a directory", e.in.Set.Name, e.from, e.src.name), ErrTypeCopyRefused, err)
		}
		e.notes = append(e.notes, fmt.Sprintf("note: source root %s is a symlink; copied the directory it points to, %s", e.from, real))
		e.from = real
	}
	if !fi.IsDir() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: source %s on %s is not a directory", e.in.Set.Name, e.from, e.src.name), ErrTypeCopyRefused, nil)
	}
	tfi, err := dcl.Lstat(e.to)
	if err == nil {
		e.dirList = append(e.dirList, newDirMeta("", fi, tfi))
	} else {
		e.dirList = append(e.dirList, newDirMeta("", fi, nil))
	}
	switch {
	case err == nil && tfi.Mode()&os.ModeSymlink != 0:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: target root %s on %s is a symlink; refusing to write through it (point `to` at the real directory)", e.in.Set.Name, e.to, e.dst.name), ErrTypeCopyRefused, nil)
	case err == nil && !tfi.IsDir():
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: target %s on %s exists and is not a directory", e.in.Set.Name, e.to, e.dst.name), ErrTypeCopyRefused, nil)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("stat target %s on %s: %w", e.to, e.dst.name, err)
	}
	targetExists := err == nil

	// Free space: statvfs on the root or its nearest existing ancestor.
	at := e.to
	if !targetExists {
		for at != "/" {
			at = path.Dir(at)
			if _, err := dcl.Stat(at); err == nil {
				break
			}
		}
	}
	if st, err := dcl.StatVFS(at); err == nil {
		e.free, e.freeAt = int64(st.FreeSpace()), at
		if st.Bavail > 0 || st.Bfree > 0 {
			e.free = int64(st.Bavail) * int64(st.Frsize)
		}
	}
	if testHooks.freeBytes > 0 {
		e.free = testHooks.freeBytes
	}
	if e.opt.dry {
		return nil
	}
	if !targetExists {
		// A first seed copies everything: dial the extra connections now,
		// in parallel with the walk.
		e.src.grow(ctx)
		e.dst.grow(ctx)
		if err := dcl.MkdirAll(e.to); err != nil {
			return fmt.Errorf("create target root %s on %s: %w", e.to, e.dst.name, err)
		}
	} else if tfi.Mode().Perm()&0o700 != 0o700 {
		_ = dcl.Chmod(e.to, tfi.Mode().Perm()|0o700)
		e.markDirty("")
	}
	e.man, err = openManifest(dcl, e.dst.name, manifestPath(e.to, e.in.MoveID, e.in.Set.Name, e.in.Phase))
	if err != nil {
		return err
	}
	return nil
}

func uidOf(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return st.UID
	}
	return 0
}

func gidOf(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return st.GID
	}
	return 0
}

// run performs the copy (or, dry, only the scan).
func (e *engine) run(parent context.Context) (CopyResult, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	e.cancel = cancel
	stopHB := e.prog.heartbeat(parent)
	res, err := e.runInner(ctx)
	stopHB()
	if err == nil {
		err = parent.Err()
	}
	if err != nil {
		e.man.abort()
		return res, err
	}
	return res, nil
}

func (e *engine) runInner(ctx context.Context) (CopyResult, error) {
	t0 := time.Now()
	if err := e.prepare(ctx); err != nil {
		return CopyResult{}, err
	}
	tracef("prepared %v", time.Since(t0))
	e.tasks = make(chan fileTask, 2*e.opt.concurrency)
	// Deep queues: a hash batch takes a session start plus the hashing,
	// and workers must not wait for it (an item is ~200 bytes).
	e.cmpQ = make(chan sumItem, 4*hashBatchFiles)
	e.verQ = make(chan sumItem, 4*hashBatchFiles)
	var workers, checkers sync.WaitGroup
	if !e.opt.dry {
		for i := range e.opt.concurrency {
			workers.Add(1)
			go func() { defer workers.Done(); e.worker(ctx, i) }()
		}
		for range 2 {
			checkers.Add(1)
			go func() { defer checkers.Done(); e.comparer(ctx) }()
		}
	}
	var verifiers sync.WaitGroup
	if !e.opt.dry {
		for range 2 {
			verifiers.Add(1)
			go func() { defer verifiers.Done(); e.verifier(ctx) }()
		}
	}
	if err := e.walk(ctx); err != nil {
		e.fail(err)
	}
	e.prog.walkDone.Store(true)
	tracef("walked %v", time.Since(t0))
	close(e.tasks)
	workers.Wait()
	close(e.cmpQ)
	checkers.Wait()
	close(e.verQ)
	verifiers.Wait()
	tracef("verified %v", time.Since(t0))
	if err := e.failed(); err != nil {
		return e.result(), err
	}
	if err := ctx.Err(); err != nil {
		return e.result(), err
	}
	if !e.opt.dry {
		// Directory modes and mtimes after their contents (reverse
		// pre-order is a post-order): writing into a directory changes
		// its mtime, and a read-only mode would block the writes.
		for i := len(e.dirList) - 1; i >= 0; i-- {
			if err := e.applyDirMeta(e.dirList[i]); err != nil {
				return e.result(), err
			}
		}
	}
	tracef("dirmeta %v", time.Since(t0))
	res := e.result()
	if e.man != nil {
		sum, n, err := e.man.commit()
		if err != nil {
			return res, err
		}
		res.ManifestPath, res.ManifestSHA256, res.ManifestEntries = e.man.final, sum, n
	}
	return res, nil
}

func (e *engine) result() CopyResult {
	r := CopyResult{
		Set: e.in.Set.Name, Phase: e.in.Phase,
		Files: e.files.Load(), Dirs: e.dirs.Load(), Symlinks: e.symlinks.Load(), Bytes: e.bytes.Load(),
		CopiedFiles: e.copiedFiles.Load(), CopiedBytes: e.copiedBytes.Load(),
		Unchanged: e.unchanged.Load(), Deleted: e.deleted.Load(), Recopied: e.recopied.Load(),
		Refused: e.refused.Load(), Excluded: e.excluded.Load(),
		Verify:   VerifySizeMtime,
		Verified: e.verified.Load(),
	}
	if e.opt.verifySHA {
		r.Verify = VerifySHA256
		bySum, byRead := e.verSum.Load(), e.verRead.Load()
		switch {
		case bySum > 0 && byRead > 0:
			r.VerifiedBy = verifiedBySum + "+" + verifiedByReadBack
		case bySum > 0:
			r.VerifiedBy = verifiedBySum
		case byRead > 0:
			r.VerifiedBy = verifiedByReadBack
		default:
			r.VerifiedBy = ""
		}
	}
	e.refMu.Lock()
	r.Refusals = append(append([]string(nil), e.notes...), e.refusals...)
	e.refMu.Unlock()
	return r
}

func (e *engine) applyDirMeta(d dirMeta) error {
	if _, dirty := e.dirty.Load(d.rel); d.existed && !dirty && modeBits(d.oldMode) == modeBits(d.mode) &&
		d.oldMtime == d.mtime && (!e.chown || (d.oldUID == d.uid && d.oldGID == d.gid)) {
		return nil
	}
	cl := e.dst.primary
	p := e.dstPath(d.rel)
	if e.chown {
		if err := cl.Chown(p, int(d.uid), int(d.gid)); err != nil && !isPerm(err) {
			return fmt.Errorf("chown directory %s on %s: %w", p, e.dst.name, err)
		}
	}
	if err := cl.Chmod(p, modeBits(d.mode)); err != nil {
		return fmt.Errorf("chmod directory %s on %s: %w", p, e.dst.name, err)
	}
	t := time.Unix(d.mtime, 0)
	if err := cl.Chtimes(p, t, t); err != nil {
		return fmt.Errorf("set mtime of directory %s on %s: %w", p, e.dst.name, err)
	}
	return nil
}

func modeBits(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

func isPerm(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) && se.FxCode() == sftp.ErrSSHFxPermissionDenied {
		return true
	}
	return errors.Is(err, os.ErrPermission)
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	default:
		return "file"
	}
}

func manifestOf(rel string, fi os.FileInfo, sum, link string) manifestEntry {
	me := manifestEntry{
		Path: rel, Type: fileType(fi.Mode()), Mode: fmt.Sprintf("%04o", uint32(fi.Mode().Perm())),
		Mtime: fi.ModTime().Unix(), SHA256: sum, Link: link,
	}
	if fi.Mode().IsRegular() {
		me.Size = fi.Size()
	}
	return me
}

// walkDir is a directory waiting to be visited.
type walkDir struct {
	rel       string
	tgtExists bool
	list      *listing // started when the directory neared the top of the stack
}

// listing is both sides' directory listing, fetched ahead of the walk.
type listing struct {
	done        chan struct{}
	ents, tents []os.FileInfo
	err, terr   error
}

// walkAhead is how many directories are listed ahead of the walk: each
// listing is a few round trips per side, and memory stays at walkAhead
// directory listings.
const walkAhead = 8

func (e *engine) startListing(d walkDir) *listing {
	l := &listing{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		if d.tgtExists {
			wg.Go(func() { l.tents, l.terr = e.dst.primary.ReadDir(e.dstPath(d.rel)) })
		}
		l.ents, l.err = e.src.primary.ReadDir(e.srcPath(d.rel))
		wg.Wait()
	}()
	return l
}

// walk visits the source tree depth first, one directory listing at a
// time (so memory follows the widest directory, not the tree), compares
// each entry with the target directory's listing, creates directories and
// symlinks itself and hands regular files to the workers.
func (e *engine) walk(ctx context.Context) error {
	dcl := e.dst.primary
	stack := []walkDir{{rel: "", tgtExists: true}}
	if e.opt.dry {
		if _, err := dcl.Lstat(e.to); err != nil {
			stack[0].tgtExists = false
		}
	}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		// List the next directories (both sides at once) ahead of the
		// walk: on a re-sync the listings are most of the work.
		for i := len(stack) - 1; i >= 0 && i >= len(stack)-walkAhead; i-- {
			if stack[i].list == nil {
				stack[i].list = e.startListing(stack[i])
			}
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		select {
		case <-d.list.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		ents, err, tents, terr := d.list.ents, d.list.err, d.list.tents, d.list.terr
		d.list = nil
		if err != nil {
			// Not listed means nothing below is copied or deleted.
			e.refuse(d.rel, fmt.Sprintf("cannot list source directory: %v", err))
			continue
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		var tgt map[string]os.FileInfo
		if d.tgtExists {
			if terr != nil && !errors.Is(terr, os.ErrNotExist) {
				return fmt.Errorf("list target directory %s on %s: %w", e.dstPath(d.rel), e.dst.name, terr)
			}
			tgt = make(map[string]os.FileInfo, len(tents))
			for _, t := range tents {
				tgt[t.Name()] = t
			}
		}
		var sub []walkDir
		for _, fi := range ents {
			name := fi.Name()
			if name == "." || name == ".." {
				continue
			}
			rel := name
			if d.rel != "" {
				rel = d.rel + "/" + name
			}
			old := tgt[name]
			delete(tgt, name)
			if strings.ContainsAny(name, "/\x00") {
				e.refuse(rel, "name contains '/' or NUL")
				continue
			}
			if isTmpName(name) {
				e.refuse(rel, "name starts with "+tmpPrefix+", which umzug reserves for temporary files")
				continue
			}
			if e.filter.Excluded(rel, fi.IsDir()) {
				e.excluded.Add(1)
				continue
			}
			mode := fi.Mode()
			switch {
			case mode.IsDir():
				e.dirs.Add(1)
				exists, err := e.ensureDir(rel, old)
				if err != nil {
					return err
				}
				e.dirList = append(e.dirList, newDirMeta(rel, fi, old))
				e.man.add(manifestOf(rel, fi, "", ""))
				sub = append(sub, walkDir{rel: rel, tgtExists: exists})
			case mode.IsRegular():
				if err := e.fileEntry(ctx, rel, fi, old); err != nil {
					return err
				}
			case mode&fs.ModeSymlink != 0:
				if err := e.symlinkEntry(rel, fi, old); err != nil {
					return err
				}
			default:
				e.refuse(rel, fmt.Sprintf("not a regular file, directory or symlink (%s); devices, sockets and FIFOs are not copied", fileKind(mode)))
			}
		}
		// What is left in the target listing is gone from the source.
		if err := e.leftovers(d.rel, tgt); err != nil {
			return err
		}
		// Push in reverse so that directories are visited in name order.
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

// ensureDir makes the target directory exist as a real directory (a file or
// symlink in its place is removed, never followed) and writable for the
// copy. It reports whether the directory existed before (worth listing).
func (e *engine) ensureDir(rel string, old os.FileInfo) (bool, error) {
	if e.opt.dry {
		return old != nil && old.IsDir(), nil
	}
	cl := e.dst.primary
	p := e.dstPath(rel)
	if old != nil && old.IsDir() {
		if old.Mode().Perm()&0o700 != 0o700 {
			if err := cl.Chmod(p, old.Mode().Perm()|0o700); err != nil {
				return true, fmt.Errorf("make directory %s writable on %s: %w", p, e.dst.name, err)
			}
			e.markDirty(rel)
		}
		return true, nil
	}
	e.markParentDirty(rel)
	if old != nil {
		if err := e.removeEntry(p, old); err != nil {
			return false, err
		}
	}
	if err := cl.Mkdir(p); err != nil {
		return false, fmt.Errorf("create directory %s on %s: %w", p, e.dst.name, err)
	}
	return false, nil
}

// fileEntry accounts a regular file and queues it for a worker.
func (e *engine) fileEntry(ctx context.Context, rel string, fi, old os.FileInfo) error {
	size := fi.Size()
	e.files.Add(1)
	e.bytes.Add(size)
	e.prog.filesTotal.Add(1)
	same := old != nil && old.Mode().IsRegular() && old.Size() == size && old.ModTime().Unix() == fi.ModTime().Unix()
	if !same {
		e.changedFiles.Add(1)
		e.changedBytes.Add(size)
		e.prog.bytesTotal.Add(size)
		grow := size
		if old != nil && old.Mode().IsRegular() {
			grow -= old.Size()
		}
		if need := e.need.Add(grow); e.free >= 0 && need > e.free && !e.opt.dry {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"target %s has %s free at %s, needs at least %s for copy set %s; free space there or choose another target path",
				e.dst.name, humanBytes(e.free), e.freeAt, humanBytes(need), e.in.Set.Name), ErrTypeNoSpace, nil)
		}
	}
	if e.opt.dry {
		return nil
	}
	if !same {
		// Enough work to do: bring up the remaining connections. A re-sync
		// with little to copy never pays for their session starts.
		f, b := e.pendFiles.Add(1), e.pendBytes.Add(size)
		if f >= growAfterFiles || b >= growAfterBytes {
			e.src.grow(ctx)
			e.dst.grow(ctx)
		}
	}
	select {
	case e.tasks <- fileTask{rel: rel, fi: fi, old: old, same: same}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// symlinkEntry copies a symlink as a link after checking that it cannot
// lead out of the tree (lexically: absolute targets and targets climbing
// above the copy root are refused).
func (e *engine) symlinkEntry(rel string, fi, old os.FileInfo) error {
	target, err := e.src.primary.ReadLink(e.srcPath(rel))
	if err != nil {
		e.refuse(rel, fmt.Sprintf("cannot read symlink: %v", err))
		return nil
	}
	if path.IsAbs(target) {
		e.refuse(rel, fmt.Sprintf("symlink to absolute path %q is not copied (it would point outside the copy on the target)", target))
		return nil
	}
	if r := path.Join(path.Dir(rel), target); r == ".." || strings.HasPrefix(r, "../") {
		e.refuse(rel, fmt.Sprintf("symlink target %q leaves the copy root", target))
		return nil
	}
	e.symlinks.Add(1)
	if e.opt.dry {
		return nil
	}
	e.man.add(manifestOf(rel, fi, "", target))
	cl := e.dst.primary
	p := e.dstPath(rel)
	if old != nil && old.Mode()&fs.ModeSymlink != 0 {
		if cur, err := cl.ReadLink(p); err == nil && cur == target {
			return nil
		}
	}
	if old != nil && old.IsDir() {
		if err := e.removeEntry(p, old); err != nil {
			return err
		}
	}
	e.markParentDirty(rel)
	tmp := tmpName(p)
	if err := cl.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create symlink %s on %s: %w", tmp, e.dst.name, err)
	}
	if err := renameReplace(cl, tmp, p); err != nil {
		_ = cl.Remove(tmp)
		return fmt.Errorf("place symlink on %s: %w", e.dst.name, err)
	}
	return nil
}

// leftovers handles target entries that the source does not have: stale
// temporary files of a crashed attempt are always removed; the rest only
// with delete, and never when excluded (excluded entries are not ours).
func (e *engine) leftovers(dirRel string, tgt map[string]os.FileInfo) error {
	names := make([]string, 0, len(tgt))
	for n := range tgt {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fi := tgt[name]
		if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			continue
		}
		rel := name
		if dirRel != "" {
			rel = dirRel + "/" + name
		}
		p := e.dstPath(rel)
		if isTmpName(name) {
			if !e.opt.dry && !e.keepPartial(dirRel, name) {
				if err := e.removeEntry(p, fi); err != nil {
					return err
				}
			}
			continue
		}
		if !e.opt.delete || e.filter.Excluded(rel, fi.IsDir()) {
			continue
		}
		if e.opt.dry {
			n, err := e.countTree(p, fi)
			if err != nil {
				return err
			}
			e.deleted.Add(n)
			continue
		}
		if err := e.removeEntry(p, fi); err != nil {
			return err
		}
	}
	return nil
}

// removeEntry deletes a target entry, recursively for real directories
// (symlinks are removed as links, never followed). Every path is checked
// to lie strictly inside the target root first.
func (e *engine) removeEntry(p string, fi os.FileInfo) error {
	if !e.inside(p) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("refusing to delete %s on %s: outside the copy root %s", p, e.dst.name, e.to), ErrTypeCopyRefused, nil)
	}
	cl := e.dst.primary
	if fi.IsDir() {
		if fi.Mode().Perm()&0o700 != 0o700 {
			_ = cl.Chmod(p, 0o700)
		}
		ents, err := cl.ReadDir(p)
		if err != nil {
			return fmt.Errorf("list %s on %s to delete it: %w", p, e.dst.name, err)
		}
		for _, c := range ents {
			n := c.Name()
			if n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
				continue
			}
			if err := e.removeEntry(p+"/"+n, c); err != nil {
				return err
			}
		}
		if err := cl.RemoveDirectory(p); err != nil {
			return fmt.Errorf("remove directory %s on %s: %w", p, e.dst.name, err)
		}
	} else if err := cl.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s on %s: %w", p, e.dst.name, err)
	}
	e.markParentDirty(strings.TrimPrefix(p, e.to+"/"))
	if !isTmpName(path.Base(p)) {
		e.deleted.Add(1)
	}
	return nil
}

// countTree counts the entries a delete would remove (dry run).
func (e *engine) countTree(p string, fi os.FileInfo) (int64, error) {
	if !fi.IsDir() {
		return 1, nil
	}
	ents, err := e.dst.primary.ReadDir(p)
	if err != nil {
		return 0, fmt.Errorf("list %s on %s: %w", p, e.dst.name, err)
	}
	n := int64(1)
	for _, c := range ents {
		k, err := e.countTree(p+"/"+c.Name(), c)
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// humanBytes formats a byte count with binary units ("1.2 GiB").
func humanBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

func tracef(f string, a ...any) {
	if os.Getenv("UMZUG_COPY_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "umzug copy: "+f+"\n", a...)
	}
}
