package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// walkDir is a directory waiting to be visited.
type walkDir struct {
	rel       string
	mode      fs.FileMode // as the parent's listing showed it
	tgtExists bool
	list      *listing // started when the directory neared the top of the stack
}

// listing is both sides' directory listing, fetched ahead of the walk.
type listing struct {
	done        chan struct{}
	ents, tents []os.FileInfo
	err, terr   error
	checkErr    error                  // treeDirCheck's, for a walk from tree listings
	tgt         map[string]os.FileInfo // tents by name, when the check built it
}

// walkAhead is how many directories are listed ahead of the walk: each
// listing is a few round trips per side, and memory stays at walkAhead
// directory listings. A walk from tree listings holds them all anyway
// and only checks the directories ahead (treeListingOf).
const (
	walkAhead     = 8
	treeWalkAhead = 64
)

func (e *engine) startListing(ctx context.Context, d walkDir) *listing {
	if e.srcTree != nil {
		return e.treeListingOf(ctx, d)
	}
	l := &listing{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		if d.tgtExists {
			wg.Go(func() { l.tents, l.terr = e.dst.primary.ReadDir(e.dstPath(d.rel)) })
		}
		l.ents, l.err = e.listSource(d)
		wg.Wait()
	}()
	return l
}

// walk visits the source tree depth first, one directory listing at a
// time (so memory follows the widest directory, not the tree), compares
// each entry with the target directory's listing, creates directories and
// symlinks itself and hands regular files to the workers.
func (e *engine) walk(ctx context.Context) error {
	stack := []walkDir{{rel: "", mode: e.rootMode, tgtExists: true}}
	if e.opt.dry {
		if _, err := e.dst.primary.Lstat(e.to); err != nil {
			stack[0].tgtExists = false
		}
	}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		// List the next directories (both sides at once) ahead of the
		// walk: on a re-sync the listings are most of the work.
		ahead := walkAhead
		if e.srcTree != nil {
			ahead = treeWalkAhead
		}
		for i := len(stack) - 1; i >= 0 && i >= len(stack)-ahead; i-- {
			if stack[i].list == nil {
				stack[i].list = e.startListing(ctx, stack[i])
			}
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		select {
		case <-d.list.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		sub, err := e.visit(ctx, d)
		if err != nil {
			return err
		}
		// Push in reverse so that directories are visited in name order.
		for i := len(sub) - 1; i >= 0; i-- {
			stack = append(stack, sub[i])
		}
	}
	return nil
}

// visit handles one listed directory: each source entry, then the target
// entries the source does not have. It returns the subdirectories to visit.
func (e *engine) visit(ctx context.Context, d walkDir) ([]walkDir, error) {
	l := d.list
	d.list = nil
	if l.err != nil {
		// Not listed means nothing below is copied or deleted.
		return nil, e.refuseErr(d.rel, l.err, "list source directory")
	}
	call(e.hooks.afterList, d.rel)
	ents := l.ents
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	e.links.enter(d.rel, ents)
	if d.tgtExists && l.terr != nil && !errors.Is(l.terr, os.ErrNotExist) {
		return nil, fmt.Errorf("list target directory %s on %s: %w", e.dstPath(d.rel), e.dst.name, l.terr)
	}
	tgt := l.tgt
	if tgt == nil {
		tgt = byName(l.tents, d.tgtExists)
	}
	if err := l.checkErr; err != nil {
		return nil, e.refuseErr(d.rel, err, "check source directory")
	}
	var sub []walkDir
	for _, fi := range ents {
		name := fi.Name()
		if name == "." || name == ".." {
			continue
		}
		old := tgt[name]
		delete(tgt, name)
		s, err := e.entry(ctx, childRel(d.rel, name), fi, old)
		if err != nil {
			return nil, err
		}
		if s != nil {
			sub = append(sub, *s)
		}
	}
	// What is left in the target listing is gone from the source.
	return sub, e.leftovers(d.rel, tgt)
}

// byName indexes a target listing by name; nil when the directory is new.
func byName(ents []os.FileInfo, exists bool) map[string]os.FileInfo {
	if !exists {
		return nil
	}
	m := make(map[string]os.FileInfo, len(ents))
	for _, t := range ents {
		m[t.Name()] = t
	}
	return m
}

// entry handles one source entry; a directory comes back to be visited.
func (e *engine) entry(ctx context.Context, rel string, fi, old os.FileInfo) (*walkDir, error) {
	name := fi.Name()
	if strings.ContainsAny(name, "/\x00") {
		e.refuse(rel, RefusalBadName, "name contains '/' or NUL")
		return nil, nil
	}
	if isTmpName(name) {
		e.refuse(rel, RefusalReservedName, "name starts with "+tmpPrefix+", which umzug reserves for its temporary files; rename it on the source")
		return nil, nil
	}
	if e.filter.Excluded(rel, fi.IsDir()) {
		e.excluded.Add(1)
		return nil, nil
	}
	mode := fi.Mode()
	switch {
	case mode.IsDir():
		e.dirs.Add(1)
		exists, err := e.ensureDir(rel, old)
		if err != nil {
			return nil, err
		}
		e.dirList = append(e.dirList, newDirMeta(rel, fi, old))
		e.man.add(manifestOf(rel, fi, "", ""))
		return &walkDir{rel: rel, mode: mode, tgtExists: exists}, nil
	case mode.IsRegular():
		return nil, e.fileEntry(ctx, rel, fi, old)
	case mode&fs.ModeSymlink != 0:
		return nil, e.symlinkEntry(rel, fi, old)
	default:
		kind := specialKind(mode)
		e.refuse(rel, kind, fmt.Sprintf("not a regular file, directory or symlink (%s); devices, sockets and FIFOs are not copied", kindName(mode)))
		return nil, nil
	}
}

// childRel is the relative path of entry name in directory dir.
func childRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// specialKind names the refusal kind of a device, socket or FIFO.
func specialKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return RefusalSocket
	case m&fs.ModeNamedPipe != 0:
		return RefusalFIFO
	default:
		return RefusalDevice
	}
}

// fileEntry accounts a regular file and queues it for a worker.
func (e *engine) fileEntry(ctx context.Context, rel string, fi, old os.FileInfo) error {
	if old != nil && old.IsDir() && !e.opt.dry {
		ok, err := e.replaceDir(rel, fi, old)
		if err != nil || !ok {
			return err
		}
		old = nil
	}
	size := fi.Size()
	e.files.Add(1)
	e.bytes.Add(size)
	e.prog.filesTotal.Add(1)
	same := old != nil && old.Mode().IsRegular() && old.Size() == size && old.ModTime().Unix() == fi.ModTime().Unix()
	if !same {
		if err := e.needSpace(size, old); err != nil {
			return err
		}
	}
	if e.opt.dry {
		if same && e.opt.verifySHA {
			if _, ok := e.keepVerified(ctx, rel, fi, old); !ok {
				e.hashFiles.Add(1)
				e.hashBytes.Add(size)
			}
		}
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
	t := fileTask{rel: rel, fi: fi, old: old, same: same}
	if e.keepInWalk(ctx, t) {
		return nil
	}
	select {
	case e.tasks <- t:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// needSpace accounts a file to copy and fails when the target cannot
// hold what is queued so far.
func (e *engine) needSpace(size int64, old os.FileInfo) error {
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
			e.dst.name, humanBytes(e.free), e.freeAt, humanBytes(need), e.in.Set.Name), contract.ErrTargetNoSpace, nil)
	}
	return nil
}
