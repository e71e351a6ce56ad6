package activities

import (
	"context"
	"fmt"
	"github.com/dustin/go-humanize"
	"io/fs"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// The copy engine, one concern per file: copy.go runs a copy (CopyTree,
// the engine, its workers); copy_options.go holds its tuning;
// copy_prepare.go checks both roots; copy_walk.go walks the source tree;
// copy_tree.go lists whole trees with one find per host for a final
// sync's walk; copy_ident.go checks that what is read is what was
// listed; copy_symlink.go copies links and resolves their targets;
// copy_delete.go removes target entries; copy_dirmeta.go creates
// directories and sets their metadata; copy_refusals.go records refusals
// and decides whether the copy may succeed with them; copy_counters.go
// gathers the result; copy_file.go copies and verifies files;
// manifest.go writes the manifest; copy_ident_state.go and
// copy_ident_store.go keep the digests of files verified earlier whose
// identity did not change; rehash.go checks a final sync again in soak.

// Copy engine limits.
const (
	maxRefusals = 10
	// bigFilesAtOnce bounds how many big files use every lane at once, so
	// memory stays at bigFilesAtOnce*lanes*3 chunks whatever the tree.
	bigFilesAtOnce = 2
	// Extra connections are dialed once this much is queued for copying.
	growAfterFiles = 256
	growAfterBytes = 64 << 20
)

// CopyTree brings in.Set.To on in.Target up to date with in.Set.From on
// in.Source.
//
// Files are streamed source SFTP → worker → target SFTP with the SHA-256
// computed on the way, written to a temporary name in the target directory
// and renamed into place after mode, owner (when connected as root) and
// mtime are set, so a finished file always has its final size and mtime:
// a retried activity skips it. Small files travel in tar batches where
// both hosts have GNU tar, with the same checks and placement
// (copy_batch.go). Hard links are copied as separate files.
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
// Tuning: a.Options (connections per host, files in flight, the
// no-progress bound, tracing). Figures: bench/README.md.
func (a *Activities) CopyTree(ctx context.Context, in CopyInput) (CopyResult, error) {
	var fallback string // why a host is copied by the classic engine
	testPause(ctx, "copy")
	if a.agentEngine() {
		if res, ok, err := a.copyTreeAgent(ctx, in, &fallback); ok || err != nil {
			return res, err
		}
	}
	start := time.Now()
	e, err := a.newEngine(ctx, in, false)
	a.Options.tracef("dialed %v (%s)", time.Since(start), in.Set.Verify)
	if err != nil {
		return CopyResult{}, permanent(err)
	}
	defer func() {
		e.close()
		a.Options.tracef("closed %v", time.Since(start))
	}()
	e.watchProgress(a)
	res, err := e.run(ctx)
	a.Options.tracef("finished %v", time.Since(start))
	res.ResumedBytes, res.ResentBytes = e.prog.resumed.Load(), e.prog.resent.Load()
	if fallback != "" {
		res.Refusals = append([]string{fallback}, res.Refusals...)
	}
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
	opts     Options
	hooks    copyHooks
	from, to string
	opt      copyOptions
	filter   *Filter
	limit    *limiter
	batch    *batcher // nil: every file over SFTP (copy_batch.go)
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
	hashFiles, hashBytes                         atomic.Int64   // dry: unchanged files a sync would hash
	kept                                         atomic.Int64   // unchanged files that kept an earlier verified digest
	ids                                          *identState    // verified identities; nil: hash every unchanged file
	idsDone                                      chan struct{}  // closed once ids is set
	prevC                                        chan prevState // the state file, read from the start
	stateBase                                    string         // Activities.IdentStateDir
	stateOut                                     *IdentState    // the state file this copy wrote
	stateNote                                    string         // why a state file was not used
	dstNoExec                                    bool           // the target runs no commands (copy_sftponly.go)
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
	// A final sync walks both trees from one find listing per host
	// (copy_tree.go); nil: over SFTP.
	srcTreeC, dstTreeC chan *treeListing
	srcTree, dstTree   *treeListing
	landing            sync.Map // temporary name -> *landedVerifier (copy_striped_verify.go)
	landedOK           sync.Map // rel -> landedRec: verified as it landed
}

func (a *Activities) newEngine(ctx context.Context, in CopyInput, dry bool) (*engine, error) {
	set := in.Set
	for _, h := range []Host{in.Source, in.Target} {
		if h.Sudo() {
			// tar, find and sha256sum would run as the login user.
			return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: host %s has become = \"sudo\": the classic copy engine cannot copy as root; start the workers with --copy-engine agent", set.Name, h.Name), contract.ErrCopyRefused, nil)
		}
	}
	from, to := path.Clean(set.From), path.Clean(set.To)
	if !path.IsAbs(from) || !path.IsAbs(to) {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: from %q and to %q must be absolute paths", set.Name, set.From, set.To), contract.ErrCopyRefused, nil)
	}
	if to == "/" {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: refusing to copy onto / on %s; name a directory", set.Name, hostLabel(in.Target)), contract.ErrCopyRefused, nil)
	}
	flt, err := NewFilter(set.Exclude, set.Include)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("copy set %s: %v", set.Name, err), contract.ErrCopyRefused, err)
	}
	conc := a.Options.concurrency(set.Concurrency)
	n := a.Options.conns()
	if dry {
		n = 1
	}
	e := &engine{
		in: in, from: from, to: to, filter: flt,
		opts: a.Options, hooks: a.hooks, stateBase: a.IdentStateDir,
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
	// Tests that watch single files keep them on the per-file path.
	h := a.hooks
	if !dry && h.beforeCopy == nil && h.afterOpen == nil && h.afterPlace == nil {
		e.batch = newBatcher(conc, h.batchMin)
	}
	if e.opt.verifySHA {
		e.prevC = make(chan prevState, 1)
	}
	var serr, derr error
	var wg sync.WaitGroup
	onSrc, onDst := e.startTrees(ctx, a)
	wg.Go(func() { e.src, serr = a.openEndpoint(ctx, in.Source, n, onSrc) })
	wg.Go(func() { e.dst, derr = a.openEndpoint(ctx, in.Target, n, onDst) })
	wg.Wait()
	if serr != nil || derr != nil {
		e.src.close()
		e.dst.close()
		return nil, firstErr(serr, derr)
	}
	// Remote commands count as progress while the hosts answer
	// (watchProgress); wrapped before any goroutine below runs one.
	for _, ep := range []*endpoint{e.src, e.dst} {
		if ep.run != nil {
			ep.run = progressRunner{ep.run, e.prog}
		}
	}
	if e.prevC != nil && onDst == nil {
		// The last seed's digests are read while the walk starts (a final
		// sync reads them with its tree listings: startTrees).
		go func() { e.prevC <- e.readIdentState() }()
	}
	if e.batch != nil {
		e.batch.noLand = &e.dst.noLander
	}
	if e.batch != nil && e.srcTreeC == nil {
		// Ask both hosts for tar now, while the walk starts. A final sync's
		// tree listings ask in their own sessions (treeCmd): a session
		// costs more than the question, and one with nothing to copy
		// should not pay for it.
		go e.batch.toolsOnce.Do(func() { e.batch.tools = e.batchTools(ctx) })
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
	e.tracef("prepared %v", time.Since(t0))
	e.awaitTrees(ctx)
	e.tracef("trees listed %v (walk %s)", time.Since(t0), e.walkSource())
	e.idsDone = make(chan struct{})
	go func() {
		defer close(e.idsDone)
		e.loadIdentities(ctx)
		e.tracef("identities %v", time.Since(t0))
	}()
	e.links = newLinkResolver(e)
	if e.batch != nil && e.dst.run != nil && e.src.run != nil {
		e.batch.prestart = func() *landing {
			if e.dst.noLander.Load() {
				return nil
			}
			l, _ := e.startLanding(ctx)
			return l
		}
	}
	wait := e.startWorkers(ctx)
	if err := e.walk(ctx); err != nil {
		e.fail(err)
	}
	e.prog.walkDone.Store(true)
	e.tracef("walked %v", time.Since(t0))
	wait()
	if e.batch != nil {
		// A landing that no batch took (the copy failed first).
		if l := e.batch.takeLanding(); l != nil {
			l.abort()
			e.removeStaging(l.staging)
		}
	}
	e.tracef("verified %v", time.Since(t0))
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
		t0 := time.Now()
		if err := e.applyDirMetas(); err != nil {
			return e.result(), err
		}
		e.tracef("directories set in %v", time.Since(t0))
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
		t0 := time.Now()
		sum, n, err := e.man.commit()
		if err != nil {
			return res, err
		}
		e.tracef("manifest committed in %v", time.Since(t0))
		res.ManifestPath, res.ManifestSHA256, res.ManifestEntries = e.man.final, sum, n
	}
	return res, nil
}

// humanBytes formats a byte count with binary units ("1.2 GiB").
func humanBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// tracef writes one line of phase timings when tracing is on.
func (e *engine) tracef(f string, a ...any) { e.opts.tracef(f, a...) }
