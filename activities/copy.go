package activities

import (
	"context"
	"fmt"
	"github.com/dustin/go-humanize"
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"
)

// The copy engine, one concern per file: copy.go runs a copy (CopyTree,
// the engine, its workers); copy_prepare.go checks both roots; copy_walk.go
// walks the source tree; copy_ident.go checks that what is read is what was
// listed; copy_symlink.go copies links and resolves their targets;
// copy_delete.go removes target entries; copy_dirmeta.go creates
// directories and sets their metadata; copy_refusals.go records refusals
// and decides whether the copy may succeed with them; copy_counters.go
// gathers the result; copy_file.go copies and verifies files;
// manifest.go writes the manifest; copy_ident_state.go and
// copy_ident_store.go keep the digests of files verified earlier whose
// identity did not change; rehash.go checks a final sync again in soak.

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
	afterList     func(rel string) // called when the walk takes up a listed source directory
	afterOpen     func(rel string) // called once a file's source handles are open and checked
	conns         int              // SSH connections per side; 0 = default
	freeBytes     int64            // pretend the target has this much free space
}

// CopyTree brings in.Set.To on in.Target up to date with in.Set.From on
// in.Source.
//
// Files are streamed source SFTP → worker → target SFTP with the SHA-256
// computed on the way, written to a temporary name in the target directory
// and renamed into place after mode, owner (when connected as root) and
// mtime are set, so a finished file always has its final size and mtime:
// a retried activity skips it. Hard links are copied as separate files.
// Symlinks are copied as links, never followed; links whose target is
// absolute or resolves (through the links of the tree) outside it,
// devices, sockets, FIFOs, unreadable entries and reserved names are
// refused. Each refusal is recorded with its kind, and the copy fails
// non-retryably (CopyRefused) unless the copy set accepts every refused
// kind (accept_refusals). An entry that changes between its listing and
// its reading is refused as "changed": left for the final sync in seed,
// a retryable failure (CopyChanged) in final_sync. A source root that is
// a symlink is resolved once (noted in Refusals); a target root that is
// a symlink is refused. Owners are copied by number (uid/gid) and only
// when the target user is root; symlinks keep the owner of whoever
// created them. A source file that vanishes between the walk and its
// copy (seed runs live) is noted and skipped.
//
// With verify = "sha256", an unchanged file (same size and mtime) whose
// identity (size, ns mtime and ctime, inode, device, from `find -printf`)
// on both hosts equals the one recorded when a seed verified it keeps that
// digest without being read (Kept); other unchanged files are hashed on
// both hosts. See copy_ident_state.go.
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

type fileTask struct {
	rel  string
	fi   os.FileInfo // source (lstat)
	old  os.FileInfo // target entry, nil if none
	same bool        // size and mtime match
}

type sumItem struct {
	rel    string
	fi     os.FileInfo
	sum    string // SHA-256 of what was streamed ("" for unchanged files)
	listed bool   // the source identities were listed before the file was read
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
	hashFiles, hashBytes                         atomic.Int64  // dry: unchanged files a sync would hash
	kept                                         atomic.Int64  // unchanged files that kept an earlier verified digest
	ids                                          *identState   // verified identities; nil: hash every unchanged file
	idsDone                                      chan struct{} // closed once ids is set
	parkMu                                       sync.Mutex
	parked                                       []fileTask // unchanged files waiting for the identity listings
	parkDone                                     bool
	verSum, verRead                              atomic.Int64 // how the target\'s digests were obtained
	rootMode                                     fs.FileMode  // of the source root
	links                                        *linkResolver
	refMu                                        sync.Mutex
	refs                                         refusals
	dirList                                      []dirMeta
	dirty                                        sync.Map // rel of directories written to
	pendFiles, pendBytes                         atomic.Int64
	errMu                                        sync.Mutex
	err                                          error
	cancel                                       context.CancelFunc
	tasks                                        chan fileTask
	cmpQ, verQ                                   chan sumItem
	landing                                      sync.Map // temporary name -> *landedVerifier (copy_striped_verify.go)
	landedOK                                     sync.Map // rel -> landedRec: verified as it landed
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

func (e *engine) srcPath(rel string) string { return joinRel(e.from, rel) }
func (e *engine) dstPath(rel string) string { return joinRel(e.to, rel) }

func joinRel(root, rel string) string {
	if rel == "" {
		return root
	}
	return root + "/" + rel
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
	e.idsDone = make(chan struct{})
	go func() {
		defer close(e.idsDone)
		e.loadIdentities(ctx)
		tracef("identities %v", time.Since(t0))
	}()
	e.links = newLinkResolver(e)
	wait := e.startWorkers(ctx)
	if err := e.walk(ctx); err != nil {
		e.fail(err)
	}
	e.prog.walkDone.Store(true)
	tracef("walked %v", time.Since(t0))
	wait()
	tracef("verified %v", time.Since(t0))
	if err := firstErr(e.failed(), ctx.Err()); err != nil {
		return e.result(), err
	}
	return e.finish()
}

// startWorkers starts the file workers, comparers and verifiers; wait
// closes their queues in order and waits for them.
func (e *engine) startWorkers(ctx context.Context) (wait func()) {
	e.tasks = make(chan fileTask, 2*e.opt.concurrency)
	// Deep queues: a hash batch takes a session start plus the hashing,
	// and workers must not wait for it (an item is ~200 bytes).
	e.cmpQ = make(chan sumItem, 4*hashBatchFiles)
	e.verQ = make(chan sumItem, 4*hashBatchFiles)
	var workers, checkers, verifiers sync.WaitGroup
	if !e.opt.dry {
		for i := range e.opt.concurrency {
			workers.Go(func() { e.worker(ctx, i) })
		}
		workers.Go(func() { e.keeper(ctx) })
		for range 2 {
			checkers.Go(func() { e.comparer(ctx) })
			verifiers.Go(func() { e.verifier(ctx) })
		}
	}
	return func() {
		close(e.tasks)
		workers.Wait()
		close(e.cmpQ)
		checkers.Wait()
		close(e.verQ)
		verifiers.Wait()
	}
}

// finish sets directory metadata, applies the refusal policy and commits
// the manifest.
func (e *engine) finish() (CopyResult, error) {
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
	if !e.opt.dry {
		<-e.idsDone
		e.writeIdentState(context.Background())
	}
	res := e.result()
	if e.opt.dry {
		return res, nil
	}
	if err := e.refusalPolicy(res); err != nil {
		return res, err
	}
	if e.man != nil {
		sum, n, err := e.man.commit()
		if err != nil {
			return res, err
		}
		res.ManifestPath, res.ManifestSHA256, res.ManifestEntries = e.man.final, sum, n
	}
	return res, nil
}

// humanBytes formats a byte count with binary units ("1.2 GiB").
func humanBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

func tracef(f string, a ...any) {
	if os.Getenv("UMZUG_COPY_TRACE") != "" {
		fmt.Fprintf(os.Stderr, "umzug copy: "+f+"\n", a...)
	}
}
