package activities

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// A final sync runs inside the downtime window, where a re-sync of an
// unchanged tree should cost about what rsync's does: one process per
// host listing the tree. So a final sync lists each whole tree with one
// `find` exec per host, started as soon as the SSH connection is up (in
// parallel with the SFTP session's start), and walks those listings
// instead of listing every directory over SFTP. The same listing gives
// the file identities (copy_ident_state.go).
//
// find (GNU, -P) never follows symlinks below its root, so the listing is
// of the real tree, which is what the SFTP walk checks each directory's
// real path for. A directory whose entries call for any work (a file to
// copy or hash, an entry to create or delete) still gets that check over
// SFTP before the work starts (treeDirCheck), so nothing is read from or
// deleted through a directory swapped for a symlink after the listing.
// A host without exec or GNU find, a listing that reports any error (an
// unreadable directory) or one past maxTreeEntries falls back to the SFTP
// walk.

// treeFindFmt prints type, permission bits (with set-id and sticky),
// uid, gid, size, mtime and ctime in ns, inode, device and the path
// relative to the root (empty for the root itself): the root's own path
// on every line would be a third of the listing.
const treeFindFmt = `%y %m %U %G %s %T@ %C@ %i %D %P\0`

// maxTreeEntries bounds a tree listing held in memory (~200 bytes an
// entry per host); larger trees are walked over SFTP.
const maxTreeEntries = 500_000

// treeListing is one host's tree: directory entries by the directory's
// path relative to the root. Each regular file's entry carries its
// identity (treeEntry.id), so no second index by path is built.
type treeListing struct {
	dirs map[string][]os.FileInfo
	tar  bool // the host runs GNU tar ≥ 1.29 (see treeCmd)
}

// treeCmd lists root (followed if it is a symlink, when follow is set:
// prepare resolves a source root the same way). It first prints tar's
// version on stderr, so that the tar batches need no session of their own
// to ask (endpoint.hasTar).
func treeCmd(root string, follow bool) string {
	opt := ""
	if follow {
		opt = "-H "
	}
	return "LC_ALL=C; export LC_ALL; tar --version >&2 2>/dev/null; exec find " + opt + ShellQuote(root) +
		" -printf '" + treeFindFmt + "'"
}

// listTree lists root on a host with one exec; nil means walk over SFTP.
func listTree(ctx context.Context, r Runner, name, root string, follow bool, trace func(string, ...any)) *treeListing {
	t := &treeListing{dirs: map[string][]os.FileInfo{}}
	n, bad, rootSeen := 0, false, false
	stderr := newOutputTail(16 << 10)
	code, err := eachRecordStderr(ctx, r, treeCmd(root, follow), nil, stderr, func(rec []byte) {
		n++
		if bad {
			return
		}
		rel, fi, good := parseTreeRecord(rec)
		if good && rel == "" && !rootSeen {
			rootSeen = true // the root itself
			return
		}
		if !good || !cleanRel(rel) || n > maxTreeEntries {
			bad = true
			return
		}
		dir := ""
		if i := strings.LastIndexByte(rel, '/'); i >= 0 {
			dir = rel[:i]
		}
		t.dirs[dir] = append(t.dirs[dir], fi)
	})
	// Any error (an unreadable directory) may mean entries are missing:
	// a walk from such a listing could delete their targets.
	if err != nil || code != 0 || bad {
		trace("tree listing of %s on %s not used (%d records, exit %d, %v)", root, name, n, code, err)
		return nil
	}
	t.tar = gnuTar([]byte(stderr.String()))
	return t
}

// cleanRel reports whether rel is a path below a root: relative, with no
// empty, "." or ".." element. find prints nothing else; anything else
// makes the listing unusable.
func cleanRel(rel string) bool {
	return rel != "" && rel != "." && rel != ".." && path.Clean(rel) == rel &&
		!strings.HasPrefix(rel, "/") && !strings.HasPrefix(rel, "../")
}

// treeEntry is a listed entry in the form the SFTP walk produces, with
// the identity find showed (for a regular file).
type treeEntry struct {
	name string
	st   sftp.FileStat
	id   fileIdent
}

func (t *treeEntry) Name() string       { return t.name }
func (t *treeEntry) Size() int64        { return int64(t.st.Size) }
func (t *treeEntry) Mode() fs.FileMode  { return t.st.FileMode() }
func (t *treeEntry) ModTime() time.Time { return t.st.ModTime() }
func (t *treeEntry) IsDir() bool        { return t.Mode().IsDir() }
func (t *treeEntry) Sys() any           { return &t.st }

// listedIdent is the identity find listed for a regular file walked from
// a tree listing.
func listedIdent(fi os.FileInfo) (fileIdent, bool) {
	t, ok := fi.(*treeEntry)
	if !ok || !t.Mode().IsRegular() {
		return fileIdent{}, false
	}
	return t.id, true
}

// findTypes maps find's %y to the file type bits SFTP reports.
var findTypes = [256]uint32{
	'f': 0o100000, 'd': 0o040000, 'l': 0o120000, 'p': 0o010000,
	's': 0o140000, 'c': 0o020000, 'b': 0o060000,
}

// parseTreeRecord parses one record in treeFindFmt. Mtimes are kept in
// whole seconds, as SFTP shows them, so the walk decides exactly as it
// does over SFTP; the identity keeps the nanoseconds. A tree has one
// record per entry, so this works on the bytes without allocating more
// than the path and the entry.
func parseTreeRecord(rec []byte) (string, *treeEntry, bool) {
	var f [9][]byte
	rest := rec
	for i := range f {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return "", nil, false
		}
		f[i], rest = rest[:j], rest[j+1:]
	}
	if len(f[0]) != 1 {
		return "", nil, false
	}
	typ := findTypes[f[0][0]]
	perm, ok1 := parseUintBytes(f[1], 8)
	uid, ok2 := parseUintBytes(f[2], 10)
	gid, ok3 := parseUintBytes(f[3], 10)
	size, ok4 := parseUintBytes(f[4], 10)
	mt, ok5 := parseFindTime(f[5])
	ct, ok6 := parseFindTime(f[6])
	ino, ok7 := parseUintBytes(f[7], 10)
	dev, ok8 := parseUintBytes(f[8], 10)
	if typ == 0 || perm > 0o7777 || uid > 1<<32-1 || gid > 1<<32-1 || size > 1<<63-1 ||
		!(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) {
		return "", nil, false
	}
	p := string(rest)
	te := &treeEntry{name: path.Base(p), st: sftp.FileStat{
		Size: size, Mode: typ | uint32(perm), Mtime: uint32(mt / 1e9),
		UID: uint32(uid), GID: uint32(gid),
	}, id: fileIdent{Size: int64(size), MtimeNs: mt, CtimeNs: ct, Inode: ino, Dev: dev}}
	return p, te, true
}

// parseUintBytes parses an unsigned number in base 8 or 10.
func parseUintBytes(b []byte, base uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		d := uint64(c - '0')
		if c < '0' || d >= base {
			return 0, false
		}
		next := n*base + d
		if next/base != n { // overflow
			return 0, false
		}
		n = next
	}
	return n, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// startTrees starts listing both trees when this copy walks them from
// listings (a final sync): onConn is called by openEndpoint once a host's
// connection is up.
func (e *engine) startTrees(ctx context.Context, a *Activities) (onSrc, onDst func(*Conn)) {
	if e.in.Phase != PhaseFinalSync || e.opt.dry {
		return nil, nil
	}
	e.srcTreeC, e.dstTreeC = make(chan *treeListing, 1), make(chan *treeListing, 1)
	start := func(ch chan *treeListing, name, root string, follow bool) func(*Conn) {
		return func(c *Conn) {
			go func() { ch <- listTree(ctx, c, name, root, follow, a.Options.tracef) }()
		}
	}
	onSrc, onDst = start(e.srcTreeC, hostLabel(e.in.Source), e.from, true), start(e.dstTreeC, hostLabel(e.in.Target), e.to, false)
	if e.prevC == nil {
		return onSrc, onDst
	}
	// The state file is read on the same connection, from the start.
	listDst := onDst
	onDst = func(c *Conn) {
		listDst(c)
		go func() {
			p, ok := e.readIdentStateExec(ctx, c)
			p.overSFTP = !ok
			e.prevC <- p
		}()
	}
	return onSrc, onDst
}

// awaitTrees takes both listings; the walk uses them only when both
// hosts produced one.
func (e *engine) awaitTrees(ctx context.Context) {
	if e.srcTreeC == nil {
		return
	}
	var s, d *treeListing
	for range 2 {
		select {
		case s = <-e.srcTreeC:
		case d = <-e.dstTreeC:
		case <-ctx.Done():
			return
		}
	}
	if s != nil && d != nil {
		e.srcTree, e.dstTree = s, d
		e.src.knowTar(s.tar)
		e.dst.knowTar(d.tar)
		if e.batch != nil {
			e.batch.quickWalk.Store(true)
		}
	}
}

// treeListingOf is a directory's listing from the tree listings. The
// directory's check (treeDirCheck) runs here, ahead of the walk, so that
// the checks of the directories with work in them overlap instead of
// costing a round trip each inside the window.
func (e *engine) treeListingOf(ctx context.Context, d walkDir) *listing {
	l := &listing{done: make(chan struct{}), ents: e.srcTree.dirs[d.rel]}
	delete(e.srcTree.dirs, d.rel)
	if d.tgtExists {
		l.tents = e.dstTree.dirs[d.rel]
		delete(e.dstTree.dirs, d.rel)
	}
	go func() {
		defer close(l.done)
		l.tgt = byName(l.tents, d.tgtExists)
		l.checkErr = e.treeDirCheck(ctx, d, l.ents, l.tgt)
	}()
	return l
}

// treeDirCheck checks, before any work in a directory walked from the
// tree listing, that it is still the real directory the listing showed.
// A directory where nothing is to be done (every file unchanged, and
// kept by identity with verify = "sha256"; every subdirectory present; no
// entry to delete) needs no request at all.
func (e *engine) treeDirCheck(ctx context.Context, d walkDir, ents []os.FileInfo, tgt map[string]os.FileInfo) error {
	if e.srcTree == nil || !e.treeDirNeedsWork(ctx, d.rel, ents, tgt) {
		return nil
	}
	_, err := e.checkSourceDir(d)
	return err
}

func (e *engine) treeDirNeedsWork(ctx context.Context, dir string, ents []os.FileInfo, tgt map[string]os.FileInfo) bool {
	if len(tgt) != len(ents) {
		return true
	}
	for _, fi := range ents {
		old := tgt[fi.Name()]
		switch {
		case old == nil:
			return true
		case fi.IsDir():
			if !old.IsDir() {
				return true
			}
		case fi.Mode().IsRegular():
			if !old.Mode().IsRegular() || old.Size() != fi.Size() || old.ModTime().Unix() != fi.ModTime().Unix() {
				return true
			}
			if !e.opt.verifySHA {
				continue
			}
			if _, kept := e.keepVerified(ctx, childRel(dir, fi.Name()), fi, old); !kept {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// walkSource names the walk's source for the trace.
func (e *engine) walkSource() string {
	if e.srcTree != nil {
		return "from one find listing per host"
	}
	return "over SFTP"
}
