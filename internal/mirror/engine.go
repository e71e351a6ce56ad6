package mirror

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// DefaultMaxTargetEntries bounds the target index (about 150 bytes an
// entry plus its path).
const DefaultMaxTargetEntries = 10_000_000

// DefaultConcurrency is the files in flight when Spec.Concurrency is 0.
const DefaultConcurrency = 16

// ErrNoSpace: the target's file system cannot hold what the run copies.
var ErrNoSpace = errors.New("target has too little free space")

// ErrRefused: the run refused source entries of kinds the spec does not
// accept. ErrChanged: the only such entries changed while being read; a
// new run lists the tree again. A *RefusedError matches one of them.
var (
	ErrRefused = errors.New("source entries were not copied")
	ErrChanged = errors.New("source entries changed while they were copied")
)

// RefusedError fails a run that refused entries the spec does not accept.
type RefusedError struct {
	Kinds       []string // the unaccepted kinds, in contract.RefusalKinds order
	Count       int64
	OnlyChanged bool
	msg         string
}

func (e *RefusedError) Error() string { return e.msg }

// Is matches ErrChanged when only changed entries were refused, else ErrRefused.
func (e *RefusedError) Is(target error) bool {
	if e.OnlyChanged {
		return target == ErrChanged
	}
	return target == ErrRefused
}

// dirMeta is a source directory whose owner, mode and mtime are set after
// its contents.
type dirMeta struct {
	src     Entry
	old     Entry // the target directory as listed, when existed
	existed bool
	dirty   bool // something was written or removed in it
}

type linkTask struct {
	e       Entry
	old     Entry
	oldIdx  int
	existed bool
}

type taskKind uint8

const (
	taskCopy      taskKind = iota
	taskHash               // unchanged by size and mtime: hash both sides
	taskBatch              // small copies carried together (batch.go)
	taskHashBatch          // small unchanged files hashed together (batch.go)
)

type fileTask struct {
	kind taskKind
	e    Entry
	old  Entry // target file (taskHash)
	// recopy counts the copy as a fix of a mismatch.
	recopy bool
	batch  []fileTask // taskBatch, taskHashBatch
}

// run is one Run or Estimate. Its fields below "deciding goroutine" are
// touched by that goroutine only; the rest have owners of their own.
type run struct {
	spec     Spec
	opts     Options
	src, dst Side
	dry      bool
	filter   *Filter
	lim      *rate.Limiter
	conc     int

	t     tally
	refs  refusals
	state stateBuilder
	// trusted is the identity state, read-only once loaded.
	trusted map[string]stateRecord
	// recopiedIn holds the directories where workers placed files the
	// walk had taken as unchanged: their mtimes need setting again.
	recopiedIn dirSet

	// deciding goroutine
	tgt        tindex
	dirs       []dirMeta
	dirAt      map[string]int
	links      []linkTask
	hl         hardLinks // hardlinks.go
	linkTarget map[string]string
	skip       string // prefix of a source subtree being skipped
	free, need int64
	// freeInodes is -1 when the target's file system does not count them.
	freeInodes, needInodes int64
	est                    Plan
	tasks                  chan fileTask
	batch                  batcher // its sides are set once, before the workers start
	hashes                 hashBatcher

	// owners by name and extended attributes (owners.go, xmeta.go)
	own              *owners
	srcMeta, dstMeta MetaSide
	metaItems        []metaItem
}

func newRun(spec Spec, src, dst Side, opts Options, dry bool) (*run, error) {
	switch spec.Verify {
	case contract.VerifySHA256, contract.VerifySizeMtime:
	default:
		return nil, fmt.Errorf("copy set %s: verify %q is neither %q nor %q", spec.Name, spec.Verify, contract.VerifySHA256, contract.VerifySizeMtime)
	}
	switch spec.Phase {
	case contract.PhaseSeed, contract.PhaseFinalSync:
	default:
		return nil, fmt.Errorf("copy set %s: phase %q is neither %q nor %q", spec.Name, spec.Phase, contract.PhaseSeed, contract.PhaseFinalSync)
	}
	for _, k := range spec.AcceptRefusals {
		if !contract.KnownRefusal(k) {
			return nil, fmt.Errorf("copy set %s: accept_refusals names %q, which is not a refusal kind (%s)", spec.Name, k, strings.Join(contract.RefusalKinds, ", "))
		}
	}
	switch spec.Owners {
	case "", contract.OwnersByName, contract.OwnersNumeric:
	default:
		return nil, fmt.Errorf("copy set %s: owners %q is neither %q nor %q", spec.Name, spec.Owners, contract.OwnersByName, contract.OwnersNumeric)
	}
	switch spec.SELinux {
	case "", contract.SELinuxRelabel, contract.SELinuxKeep:
	default:
		return nil, fmt.Errorf("copy set %s: selinux %q is neither %q nor %q", spec.Name, spec.SELinux, contract.SELinuxKeep, contract.SELinuxRelabel)
	}
	f, err := NewFilter(spec.Exclude, spec.Include)
	if err != nil {
		return nil, fmt.Errorf("copy set %s: %w", spec.Name, err)
	}
	r := &run{spec: spec, opts: opts, src: src, dst: dst, dry: dry, filter: f,
		conc: spec.Concurrency, dirAt: map[string]int{}, linkTarget: map[string]string{}, free: -1, freeInodes: -1}
	if r.conc <= 0 {
		r.conc = DefaultConcurrency
	}
	r.conc = min(r.conc, 1024)
	if bps := spec.BandwidthBytesPerSec; bps > 0 {
		// One buffer's worth of burst, at most one second's worth: a slow
		// limit must not let the first buffers through at full speed.
		r.lim = rate.NewLimiter(rate.Limit(bps), int(min(bps, 256<<10)))
	}
	r.refs.accept = r.accepts
	r.initBatch()
	return r, nil
}

// accepts reports whether refusals of kind leave the run successful. A seed
// runs while the application writes: what changed is left for the final sync.
func (r *run) accepts(kind string) bool {
	if kind == contract.RefusalChanged && r.spec.Phase == contract.PhaseSeed {
		return true
	}
	return slices.Contains(r.spec.AcceptRefusals, kind)
}

// Run brings dst up to date with src as spec says. It returns the result
// also when it fails on refusals (a *RefusedError); on other errors the
// result holds what was done so far.
func Run(ctx context.Context, spec Spec, src, dst Side, opts Options, obs Observer) (Result, error) {
	start := time.Now()
	r, err := newRun(spec, src, dst, opts, false)
	if err != nil {
		return Result{}, err
	}
	stop := r.observe(obs)
	err = r.exec(ctx)
	stop()
	var res Result
	r.t.fill(&res)
	r.refs.fill(&res)
	if r.trusted != nil {
		res.StateTrusted = true
		res.StateSHA256, res.StateRecords = spec.State.SHA256, spec.State.Records
	}
	if err == nil {
		err = r.writeState(ctx, &res)
	}
	if err == nil {
		err = r.policy(res)
	}
	res.Duration = time.Since(start)
	return res, err
}

// Estimate walks both sides as Run would and says what Run would do,
// writing nothing.
func Estimate(ctx context.Context, spec Spec, src, dst Side, opts Options) (Plan, error) {
	r, err := newRun(spec, src, dst, opts, true)
	if err != nil {
		return Plan{}, err
	}
	if err := r.exec(ctx); err != nil {
		return Plan{}, err
	}
	var res Result
	r.t.fill(&res)
	r.refs.fill(&res)
	e := r.est
	e.Files, e.Dirs, e.Symlinks, e.Bytes = res.Files, res.Dirs, res.Symlinks, res.Bytes
	e.Kept, e.Excluded, e.Refused, e.RefusedByKind = res.Kept, res.Excluded, res.Refused, res.RefusedByKind
	e.StateTrusted = r.trusted != nil
	e.Owners = r.own.mappings()
	return e, nil
}

func (r *run) observe(obs Observer) func() {
	if obs == nil {
		return func() {}
	}
	every := r.opts.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				obs.Progress(r.t.progress())
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		obs.Progress(r.t.progress())
	}
}

// exec is the run: target index and state, the source walk with the
// workers, then symlinks, deletes and directory metadata.
func (r *run) exec(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	if r.opts.SrcMeta != nil && r.opts.DstMeta != nil {
		r.srcMeta, r.dstMeta = r.opts.SrcMeta, r.opts.DstMeta
		var err error
		if r.own, err = newOwners(ctx, r.spec, r.srcMeta, r.dstMeta); err != nil {
			return err
		}
	}

	var wg sync.WaitGroup
	var stateErr error
	if ref := r.spec.State; ref.Name != "" && ref.SHA256 != "" && r.spec.Verify == contract.VerifySHA256 {
		wg.Go(func() { stateErr = r.loadState(ctx) })
	}
	if !r.dry {
		wg.Go(func() {
			// A file system that counts no blocks at all (ramfs) has no
			// limit it reports: it is not full.
			if s, err := r.dst.Statfs(ctx); err == nil && s.Blocks > 0 {
				r.free = int64(min(s.BytesFree(), 1<<62))
				if s.Files > 0 {
					r.freeInodes = int64(min(s.FilesFree, 1<<62))
				}
			}
		})
	}
	// Both walks run at once: the source's entries wait in a bounded
	// queue until the target's index is complete.
	entries := make(chan Entry, 4096)
	var werr error
	r.t.walking.Store(true)
	go func() {
		defer close(entries)
		werr = r.src.Walk(ctx, func(e Entry) error {
			select {
			case entries <- e:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}()
	drain := func() {
		for range entries {
		}
	}
	maxEnt := r.opts.MaxTargetEntries
	if maxEnt <= 0 {
		maxEnt = DefaultMaxTargetEntries
	}
	err := r.dst.Walk(ctx, func(e Entry) error {
		if len(r.tgt.ents) >= maxEnt {
			return fmt.Errorf("the target holds more than %d entries, the most the engine indexes (Options.MaxTargetEntries)", maxEnt)
		}
		r.tgt.add(e)
		return nil
	})
	wg.Wait()
	if err == nil && (len(r.tgt.ents) == 0 || r.tgt.ents[0].Name != "" || r.tgt.ents[0].Type != rootfs.TypeDir) {
		err = errors.New("the root did not come first as a directory")
	}
	if err != nil {
		err = fmt.Errorf("walk the target tree: %w", err)
		cancel(err)
		drain()
		return err
	}
	if stateErr != nil {
		r.refs.note("identity state not used, every unchanged file is hashed: " + stateErr.Error())
	}

	r.tasks = make(chan fileTask, r.conc*4)
	var workers sync.WaitGroup
	for range r.conc {
		workers.Go(func() {
			for t := range r.tasks {
				if ctx.Err() != nil {
					continue // drain
				}
				if err := r.work(ctx, t); err != nil {
					cancel(err)
				}
			}
		})
	}
	var derr error // the deciding goroutine's own failure, not the walk's
	for e := range entries {
		if derr == nil && ctx.Err() == nil {
			if derr = r.decide(ctx, e); derr != nil {
				cancel(derr)
			}
		}
	}
	if derr == nil && ctx.Err() == nil {
		if derr = r.flushBatch(ctx); derr == nil {
			derr = r.flushHashes(ctx)
		}
		if derr != nil {
			cancel(derr)
		}
	}
	r.t.walking.Store(false)
	close(r.tasks)
	workers.Wait()
	if err := context.Cause(ctx); err != nil && parent.Err() == nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if werr != nil {
		return fmt.Errorf("walk the source tree: %w", werr)
	}
	if err := parent.Err(); err != nil {
		return err
	}
	if err := r.placeHardLinks(ctx); err != nil {
		return err
	}
	for _, l := range r.links {
		if err := r.link(ctx, l); err != nil && !r.refuseTarget(l.e.Name, err) {
			return err
		}
	}
	if err := r.leftovers(ctx); err != nil {
		return err
	}
	if err := r.syncMetas(ctx); err != nil {
		return err
	}
	return r.applyDirMetas(ctx)
}

func (r *run) loadState(ctx context.Context) error {
	ref := r.spec.State
	max := stateMax(ref.Records)
	if max == 0 {
		return fmt.Errorf("identity state %s: record count %d out of range", ref.Name, ref.Records)
	}
	b, err := r.dst.ReadState(ctx, ref.Name, max)
	if err != nil {
		return fmt.Errorf("read identity state %s: %w", ref.Name, err)
	}
	recs, err := trustState(b, ref)
	if err != nil {
		return err
	}
	r.trusted = recs
	return nil
}

func (r *run) writeState(ctx context.Context, res *Result) error {
	if r.spec.Phase != contract.PhaseSeed || r.spec.Verify != contract.VerifySHA256 || r.spec.State.Name == "" {
		return nil
	}
	if !r.opts.NoSync {
		// The records vouch for the bytes on disk: they must be there first.
		if err := r.dst.Sync(ctx); err != nil {
			return err
		}
	}
	b, n := r.state.encode()
	if err := r.dst.WriteState(ctx, r.spec.State.Name, b); err != nil {
		return fmt.Errorf("write identity state %s: %w", r.spec.State.Name, err)
	}
	sum := sha256Sum(b)
	res.StateSHA256, res.StateRecords, res.StateTrusted = hex.EncodeToString(sum[:]), n, false
	return nil
}

// policy fails a run that refused entries the spec does not accept.
func (r *run) policy(res Result) error {
	var kinds []string
	var n int64
	for _, k := range contract.RefusalKinds {
		if c := res.RefusedByKind[k]; c > 0 && !r.accepts(k) {
			kinds = append(kinds, k)
			n += c
		}
	}
	if n == 0 {
		return nil
	}
	var parts []string
	for _, f := range res.RefusalList {
		if !f.Accepted && len(parts) < 20 {
			parts = append(parts, fmt.Sprintf("%q (%s: %s)", f.Path, f.Kind, f.Reason))
		}
	}
	list := strings.Join(parts, ", ")
	if more := n - int64(len(parts)); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	msg := fmt.Sprintf("copy set %s (%s): %d source entries not copied: %s", r.spec.Name, r.spec.Phase, n, list)
	only := len(kinds) == 1 && kinds[0] == contract.RefusalChanged
	if only {
		msg += "; they changed while being read, run again to list the tree anew"
	} else {
		msg += "; the target would lack them. Fix them on the source or leave them out on purpose with accept_refusals"
	}
	return &RefusedError{Kinds: kinds, Count: n, OnlyChanged: only, msg: msg}
}

// markDirty notes a write or removal in directory dir.
func (r *run) markDirty(dir string) {
	if i, ok := r.dirAt[dir]; ok {
		r.dirs[i].dirty = true
	}
}

// decide handles one source entry, in walk order, on the walk's goroutine.
func (r *run) decide(ctx context.Context, e Entry) error {
	if r.skip != "" {
		if strings.HasPrefix(e.Name, r.skip) {
			r.tgt.take(e.Name) // ours to leave alone, like the source entry
			return nil
		}
		r.skip = ""
	}
	if e.Name == "" {
		if e.Type != rootfs.TypeDir {
			return errors.New("walk the source tree: the root is not a directory")
		}
		old, _ := r.tgt.take("")
		r.dirAt[""] = len(r.dirs)
		r.dirs = append(r.dirs, dirMeta{src: e, old: old, existed: true})
		return nil
	}
	old, oi := r.tgt.take(e.Name)
	isDir := e.Type == rootfs.TypeDir
	skipTree := func() {
		if isDir {
			r.skip = e.Name + "/"
		}
	}
	if _, err := rootfs.Split(e.Name); err != nil {
		r.refs.refuse(e.Name, contract.RefusalBadName, fmt.Sprintf(
			"the path is not one the target can hold (longer than %d bytes, a component longer than %d, or an empty, '.', '..' or NUL component)",
			rootfs.MaxNameLen, rootfs.MaxComponentLen))
		skipTree()
		return nil
	}
	if reserved(baseName(e.Name)) {
		r.refs.refuse(e.Name, contract.RefusalReservedName, "the name starts with "+tmpPrefix+" or "+tmpPrefixSFTP+", reserved for umzug's temporary files; rename it on the source")
		skipTree()
		return nil
	}
	if r.filter.Excluded(e.Name, isDir) {
		r.t.excluded.Add(1)
		skipTree()
		return nil
	}
	if isDir && e.ListErr != "" {
		// Not listed means nothing below is copied or deleted.
		kind, why := contract.RefusalUnreadable, "could not list the source directory"
		if e.ListChanged {
			kind, why = contract.RefusalChanged, "source directory changed or was replaced while it was listed"
		}
		r.refs.refuse(e.Name, kind, why+", nothing below it was copied or deleted: "+e.ListErr)
		if oi >= 0 {
			r.tgt.markTree(oi, markSeen)
		}
		skipTree()
		return nil
	}
	if e.Type == rootfs.TypeDir || e.Type == rootfs.TypeFile || e.Type == rootfs.TypeSymlink {
		if err := r.mapEntry(ctx, &e); err != nil {
			return err
		}
	}
	switch e.Type {
	case rootfs.TypeDir:
		if err := r.dir(ctx, e, old, oi); err != nil {
			if !r.refuseTarget(e.Name, err) {
				return err
			}
			if oi >= 0 {
				r.tgt.markTree(oi, markSeen)
			}
			skipTree()
		}
		return nil
	case rootfs.TypeFile:
		if linked, err := r.hardLink(ctx, e, old, oi); linked || err != nil {
			return err
		}
		return r.file(ctx, e, old, oi)
	case rootfs.TypeSymlink:
		r.noteMeta(e, old, oi >= 0)
		r.linkTarget[e.Name] = e.Target
		r.links = append(r.links, linkTask{e: e, old: old, oldIdx: oi, existed: oi >= 0})
		return nil
	case rootfs.TypeSocket:
		r.refs.refuse(e.Name, contract.RefusalSocket, "a socket; devices, sockets and FIFOs are not copied")
	case rootfs.TypeFIFO:
		r.refs.refuse(e.Name, contract.RefusalFIFO, "a named pipe; devices, sockets and FIFOs are not copied")
	case rootfs.TypeChar, rootfs.TypeBlock:
		r.refs.refuse(e.Name, contract.RefusalDevice, "a "+e.Type.String()+" device; devices, sockets and FIFOs are not copied")
	default:
		r.refs.refuse(e.Name, contract.RefusalChanged, "of unknown type")
	}
	return nil
}

func (r *run) dir(ctx context.Context, e, old Entry, oi int) error {
	r.t.dirs.Add(1)
	d := dirMeta{src: e}
	switch {
	case oi >= 0 && old.Type == rootfs.TypeDir:
		d.old, d.existed = old, true
		if old.Mode&0700 != 0700 && !r.dry {
			// Open it for the writes below; the final mode comes last.
			if err := r.dst.SetMeta(ctx, e.Name, rootfs.Meta{SetMode: true, Mode: old.Mode | 0700}); err != nil {
				return err
			}
			d.dirty = true
		}
	case oi >= 0:
		r.t.deleted.Add(1)
		r.tgt.markTree(oi, markGone)
		fallthrough
	default:
		r.markDirty(parentOf(e.Name))
		if !r.dry {
			if oi >= 0 {
				if err := r.dst.Remove(ctx, e.Name); err != nil {
					return err
				}
			}
			if err := r.dst.Mkdir(ctx, e.Name, e.Mode|0700); err != nil {
				return err
			}
		}
	}
	r.dirAt[e.Name] = len(r.dirs)
	r.dirs = append(r.dirs, d)
	r.noteMeta(e, old, d.existed)
	return nil
}

// replaceDir clears the target directory at a source file's or symlink's
// name. Without delete a directory holding entries of its own is left
// alone and the entry refused (target_conflict). It reports whether the
// directory is gone.
func (r *run) replaceDir(ctx context.Context, e Entry, oi int) (bool, error) {
	if !r.spec.Delete {
		if first, n := r.tgt.holdsOwn(oi); n > 0 {
			r.tgt.markTree(oi, markSeen)
			r.refs.refuse(e.Name, contract.RefusalTargetConflict, fmt.Sprintf(
				"the source has a %s here, the target a directory holding %d entries the source does not have (e.g. %q); "+
					"without delete = true they are never removed: move them away on the target or set delete = true", e.Type, n, first))
			return false, nil
		}
	}
	r.t.deleted.Add(r.tgt.markTree(oi, markGone))
	r.est.Delete++
	r.markDirty(parentOf(e.Name))
	if r.dry {
		return true, nil
	}
	return true, r.dst.RemoveAll(ctx, e.Name)
}

func (r *run) file(ctx context.Context, e, old Entry, oi int) error {
	if oi >= 0 && old.Type == rootfs.TypeDir {
		ok, err := r.replaceDir(ctx, e, oi)
		if err != nil || !ok {
			return err
		}
		oi = -1
	}
	r.t.files.Add(1)
	r.t.bytes.Add(e.Size)
	same := oi >= 0 && old.Type == rootfs.TypeFile && old.Size == e.Size && old.MtimeNs == e.MtimeNs && !r.linkedOut(e, old)
	r.noteMeta(e, old, same)
	if same {
		if err := r.fixMeta(ctx, e, old); err != nil {
			return err
		}
	}
	if !same {
		grow := e.Size
		if oi >= 0 && old.Type == rootfs.TypeFile {
			grow -= old.Size
		}
		r.need += grow
		if oi < 0 {
			r.needInodes++
		}
		if err := r.checkSpace(); err != nil {
			return err
		}
		r.markDirty(parentOf(e.Name))
		return r.queue(ctx, fileTask{kind: taskCopy, e: e})
	}
	if r.spec.Verify == contract.VerifySizeMtime {
		r.t.unchanged.Add(1)
		r.noteLeaderKept(e, old)
		return nil
	}
	if r.keptByState(e, old) {
		rec := r.trusted[e.Name]
		r.t.unchanged.Add(1)
		r.t.kept.Add(1)
		r.t.verified.Add(1)
		r.state.add(e.Name, rec)
		return nil
	}
	return r.queue(ctx, fileTask{kind: taskHash, e: e, old: old})
}

// keptByState reports whether the identity state vouches for an unchanged
// file: neither side moved since a run verified it.
func (r *run) keptByState(e, old Entry) bool {
	rec, ok := r.trusted[e.Name]
	return ok && r.spec.Verify == contract.VerifySHA256 && rec.Src == e.FileID() && rec.Dst == old.FileID()
}

func (r *run) queue(ctx context.Context, t fileTask) error {
	r.t.workFiles.Add(1)
	r.t.workBytes.Add(t.e.Size)
	if r.dry {
		if t.kind == taskCopy {
			r.est.CopyFiles++
			r.est.CopyBytes += t.e.Size
		} else {
			r.est.HashFiles++
			r.est.HashBytes += t.e.Size
		}
		return nil
	}
	if ok, err := r.batched(ctx, t); ok || err != nil {
		return err
	}
	if ok, err := r.hashBatched(ctx, t); ok || err != nil {
		return err
	}
	select {
	case r.tasks <- t:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// work runs one file task on a worker goroutine.
func (r *run) work(ctx context.Context, t fileTask) error {
	switch t.kind {
	case taskHash:
		return r.hashBoth(ctx, t)
	case taskBatch:
		return r.copyBatch(ctx, t.batch)
	case taskHashBatch:
		return r.hashBatch(ctx, t.batch)
	}
	return r.copyFile(ctx, t)
}

// sourceFailed decides what a failed source read means: a file changed or
// replaced since the walk is refused as changed, one that vanished is
// noted, one not readable is refused as unreadable; other errors fail the
// run. It reports whether the error was handled.
func (r *run) sourceFailed(t fileTask, err error) bool {
	switch {
	case errors.Is(err, rootfs.ErrIdentityMismatch), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		why := "changed or replaced since the walk listed it"
		if r.spec.Phase == contract.PhaseSeed {
			why += "; left for the final sync"
		}
		r.refs.refuse(t.e.Name, contract.RefusalChanged, why+": "+err.Error())
	case errors.Is(err, fs.ErrNotExist):
		r.refs.note(fmt.Sprintf("%q vanished from the source during the copy", shortPath(t.e.Name)))
	case errors.Is(err, fs.ErrPermission):
		r.refs.refuse(t.e.Name, contract.RefusalUnreadable, err.Error())
	default:
		return false
	}
	r.t.files.Add(-1)
	r.t.bytes.Add(-t.e.Size)
	r.t.workFiles.Add(-1)
	r.t.workBytes.Add(-t.e.Size)
	return true
}

func (r *run) meta(e Entry) rootfs.Meta {
	return rootfs.Meta{SetOwner: r.opts.Owner, UID: e.UID, GID: e.GID,
		SetMode: true, Mode: e.Mode, SetTimes: true, AtimeNs: e.MtimeNs, MtimeNs: e.MtimeNs}
}

// errSourceFailed wraps the source's error as the target's reader sees it.
type errSourceFailed struct{ err error }

func (e errSourceFailed) Error() string { return "source read failed: " + e.err.Error() }
func (e errSourceFailed) Unwrap() error { return e.err }

// errTargetEnded is what a source read meets when the target stopped
// taking bytes; the target's own error then says why.
var errTargetEnded = errors.New("the target stopped taking bytes")

// copyOnce streams one file from the source into a new file on the target.
// The target commits only after the source's read ended without error,
// which includes its check that the file did not change while read.
func (r *run) copyOnce(ctx context.Context, e Entry) (Read, Placed, error) {
	pr, pw := newSpanPipe()
	var rd Read
	var rerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		var w io.Writer = pw
		if r.lim != nil {
			w = &limitWriter{ctx: ctx, l: r.lim, w: pw}
		}
		rd, rerr = r.src.ReadFile(ctx, e.Name, e.Identity(), w)
		if rerr != nil {
			pw.CloseWithError(errSourceFailed{rerr})
		} else {
			pw.Close()
		}
	}()
	pl, werr := r.dst.WriteFile(ctx, e.Name, r.meta(e), pr)
	pr.CloseWithError(errTargetEnded) // unblocks a reader still writing
	<-done
	if rerr != nil && (werr == nil || !errors.Is(rerr, errTargetEnded)) {
		return rd, pl, errSourceFailed{rerr}
	}
	if werr != nil {
		return rd, pl, fmt.Errorf("write %s on the target: %w", e.Name, werr)
	}
	return rd, pl, nil
}

func (r *run) copyFile(ctx context.Context, t fileTask) error {
	if rs, pt, ok := r.bigSides(t.e); ok && !r.hasHoles(ctx, t.e) {
		return r.copyBig(ctx, t, rs, pt)
	}
	recopied := t.recopy
	for attempt := 0; ; attempt++ {
		rd, pl, err := r.copyOnce(ctx, t.e)
		var sf errSourceFailed
		if errors.As(err, &sf) {
			if r.sourceFailed(t, sf.err) {
				return nil
			}
			return fmt.Errorf("read %s on the source: %w", t.e.Name, sf.err)
		}
		if err != nil {
			if r.targetFileFailed(t, err) {
				return nil
			}
			return err
		}
		if rd.Sum != pl.Sum || rd.Size != pl.Size {
			if attempt == 0 {
				recopied = true
				continue // the target got other bytes than were read: once more
			}
			return &VerifyError{Name: t.e.Name, msg: fmt.Sprintf("copy %s: the target wrote %d bytes with SHA-256 %x, the source read %d bytes with %x, twice",
				t.e.Name, pl.Size, pl.Sum, rd.Size, rd.Sum)}
		}
		if recopied {
			r.t.recopied.Add(1)
		}
		r.t.copiedFiles.Add(1)
		r.t.copiedBytes.Add(pl.Size)
		r.t.verified.Add(1)
		r.t.doneFiles.Add(1)
		r.t.doneBytes.Add(t.e.Size)
		r.state.add(t.e.Name, stateRecord{Digest: rd.Sum, Src: idOf(rd.Info), Dst: idOf(pl.Info)})
		return nil
	}
}

// hashBoth checks an unchanged file by hashing it on both sides at once;
// a difference is copied again.
func (r *run) hashBoth(ctx context.Context, t fileTask) error {
	var dr Read
	var derr error
	var wg sync.WaitGroup
	wg.Go(func() { dr, derr = r.dst.HashFile(ctx, t.e.Name, t.old.Identity()) })
	sr, serr := r.src.HashFile(ctx, t.e.Name, t.e.Identity())
	wg.Wait()
	if serr != nil {
		if r.sourceFailed(t, serr) {
			return nil
		}
		return fmt.Errorf("hash %s on the source: %w", t.e.Name, serr)
	}
	r.t.hashed.Add(1)
	if derr == nil && dr.Sum == sr.Sum {
		r.t.unchanged.Add(1)
		r.t.verified.Add(1)
		r.t.doneFiles.Add(1)
		r.t.doneBytes.Add(t.e.Size)
		r.state.add(t.e.Name, stateRecord{Digest: sr.Sum, Src: idOf(sr.Info), Dst: idOf(dr.Info)})
		return nil
	}
	if derr != nil && !targetSwapped(derr) && !errors.Is(derr, fs.ErrNotExist) {
		return fmt.Errorf("hash %s on the target: %w", t.e.Name, derr)
	}
	// Same size and mtime, other bytes (or the target file changed).
	r.t.workBytes.Add(t.e.Size)
	r.recopiedIn.add(parentOf(t.e.Name))
	return r.copyFile(ctx, fileTask{kind: taskCopy, e: t.e, recopy: true})
}

// link places one symlink after the walk, when every source link is known.
func (r *run) link(ctx context.Context, l linkTask) error {
	e := l.e
	if why := linkEscapes(r.linkTarget, e.Name, e.Target); why != "" {
		r.refs.refuse(e.Name, contract.RefusalEscapingSymlink, why)
		return nil
	}
	if l.existed && l.old.Type == rootfs.TypeSymlink && l.old.Target == e.Target {
		r.t.symlinks.Add(1)
		return nil
	}
	if l.existed && l.old.Type == rootfs.TypeDir {
		ok, err := r.replaceDir(ctx, e, l.oldIdx)
		if err != nil || !ok {
			return err
		}
		l.existed = false
	}
	r.t.symlinks.Add(1)
	r.markDirty(parentOf(e.Name))
	if r.dry {
		return nil
	}
	if l.existed {
		if err := r.dst.Remove(ctx, e.Name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := r.dst.Symlink(ctx, e.Target, e.Name); err != nil {
		return err
	}
	m := r.meta(e)
	m.SetMode = false
	return r.dst.SetMeta(ctx, e.Name, m)
}

// leftovers removes what only the target has: the engine's temporary
// files always, the rest with delete unless excluded (not ours).
func (r *run) leftovers(ctx context.Context) error {
	x := &r.tgt
	for i := 1; i < len(x.ents); i++ {
		if x.mark[i] != markNone {
			continue
		}
		te := x.ents[i]
		tmp := reserved(baseName(te.Name))
		if !tmp && (!r.spec.Delete || r.filter.Excluded(te.Name, te.Type == rootfs.TypeDir)) {
			continue
		}
		n := x.markTree(i, markGone)
		if !tmp {
			r.t.deleted.Add(n)
			r.est.Delete += n
			r.markDirty(parentOf(te.Name))
		}
		if r.dry {
			continue
		}
		if err := r.dst.RemoveAll(ctx, te.Name); err != nil && !r.refuseTarget(te.Name, err) {
			return fmt.Errorf("delete %s on the target: %w", te.Name, err)
		}
	}
	return nil
}

// dirMetaAtOnce bounds the directories whose metadata is set at once.
const dirMetaAtOnce = 32

// applyDirMetas sets directory owners, modes and mtimes after their
// contents, deepest first (a mode may close a directory, and any write
// into it moves its mtime); the directories of one depth at the same time.
func (r *run) applyDirMetas(ctx context.Context) error {
	if r.dry {
		return nil
	}
	byDepth := map[int][]int{}
	deepest := 0
	for i, d := range r.dirs {
		n := 0
		if d.src.Name != "" {
			n = strings.Count(d.src.Name, "/") + 1
		}
		byDepth[n] = append(byDepth[n], i)
		deepest = max(deepest, n)
	}
	for n := deepest; n >= 0; n-- {
		var mu sync.Mutex
		var first error
		var wg sync.WaitGroup
		sem := make(chan struct{}, dirMetaAtOnce)
		for _, i := range byDepth[n] {
			d := r.dirs[i]
			if d.existed && !d.dirty && !r.recopiedIn.has(d.src.Name) && d.old.Mode == d.src.Mode && d.old.MtimeNs == d.src.MtimeNs &&
				(!r.opts.Owner || (d.old.UID == d.src.UID && d.old.GID == d.src.GID)) {
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := r.dst.SetMeta(ctx, d.src.Name, r.meta(d.src)); err != nil && !r.refuseTarget(d.src.Name, err) {
					mu.Lock()
					first = cmp(first, fmt.Errorf("set metadata of directory %q on the target: %w", d.src.Name, err))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if first != nil {
			return first
		}
	}
	return nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// limitWriter passes bytes at the run's bandwidth limit.
type limitWriter struct {
	ctx context.Context
	l   *rate.Limiter
	w   io.Writer
}

func (lw *limitWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		k := min(len(p)-done, lw.l.Burst())
		if err := lw.l.WaitN(lw.ctx, k); err != nil {
			return done, err
		}
		n, err := lw.w.Write(p[done : done+k])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// dirSet is a set of directories several workers add to.
type dirSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (d *dirSet) add(dir string) {
	d.mu.Lock()
	if d.m == nil {
		d.m = map[string]struct{}{}
	}
	d.m[dir] = struct{}{}
	d.mu.Unlock()
}

func (d *dirSet) has(dir string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[dir]
	return ok
}
