package activities

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strconv"
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
// uid, gid, size, mtime and ctime in ns, inode, device and path.
const treeFindFmt = `%y %m %U %G %s %T@ %C@ %i %D %p\0`

// maxTreeEntries bounds a tree listing held in memory (~200 bytes an
// entry per host); larger trees are walked over SFTP.
const maxTreeEntries = 500_000

// treeListing is one host's tree: directory entries by the directory's
// path relative to the root, and the identities of regular files.
type treeListing struct {
	dirs map[string][]os.FileInfo
	ids  map[string]fileIdent
}

// treeCmd lists root (followed if it is a symlink, when follow is set:
// prepare resolves a source root the same way).
func treeCmd(root string, follow bool) string {
	opt := ""
	if follow {
		opt = "-H "
	}
	return "LC_ALL=C exec find " + opt + ShellQuote(root) + " -printf '" + treeFindFmt + "'"
}

// listTree lists root on a host with one exec; nil means walk over SFTP.
func listTree(ctx context.Context, r Runner, name, root string, follow bool, trace func(string, ...any)) *treeListing {
	t := &treeListing{dirs: map[string][]os.FileInfo{}, ids: map[string]fileIdent{}}
	prefix := root + "/"
	if root == "/" {
		prefix = "/"
	}
	n, bad := 0, false
	code, err := eachRecord(ctx, r, treeCmd(root, follow), nil, func(rec []byte) {
		n++
		p, fi, id, good := parseTreeRecord(rec)
		if p == root || bad {
			return
		}
		rel, in := strings.CutPrefix(p, prefix)
		if !good || !in || n > maxTreeEntries {
			bad = true
			return
		}
		dir, _ := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		t.dirs[dir] = append(t.dirs[dir], fi)
		if fi.Mode().IsRegular() {
			t.ids[rel] = id
		}
	})
	// Any error (an unreadable directory) may mean entries are missing:
	// a walk from such a listing could delete their targets.
	if err != nil || code != 0 || bad {
		trace("tree listing of %s on %s not used (%d records, exit %d, %v)", root, name, n, code, err)
		return nil
	}
	return t
}

// treeEntry is a listed entry in the form the SFTP walk produces.
type treeEntry struct {
	name string
	st   sftp.FileStat
}

func (t *treeEntry) Name() string       { return t.name }
func (t *treeEntry) Size() int64        { return int64(t.st.Size) }
func (t *treeEntry) Mode() fs.FileMode  { return t.st.FileMode() }
func (t *treeEntry) ModTime() time.Time { return t.st.ModTime() }
func (t *treeEntry) IsDir() bool        { return t.Mode().IsDir() }
func (t *treeEntry) Sys() any           { return &t.st }

// findTypes maps find's %y to the file type bits SFTP reports.
var findTypes = map[string]uint32{
	"f": 0o100000, "d": 0o040000, "l": 0o120000, "p": 0o010000,
	"s": 0o140000, "c": 0o020000, "b": 0o060000,
}

// parseTreeRecord parses one record in treeFindFmt. Mtimes are kept in
// whole seconds, as SFTP shows them, so the walk decides exactly as it
// does over SFTP; the identity keeps the nanoseconds.
func parseTreeRecord(rec []byte) (string, os.FileInfo, fileIdent, bool) {
	f := strings.SplitN(string(rec), " ", 10)
	if len(f) != 10 || f[9] == "" {
		return "", nil, fileIdent{}, false
	}
	typ, known := findTypes[f[0]]
	perm, err1 := strconv.ParseUint(f[1], 8, 32)
	uid, err2 := strconv.ParseUint(f[2], 10, 32)
	gid, err3 := strconv.ParseUint(f[3], 10, 32)
	var id fileIdent
	var err [5]error
	id.Size, err[0] = strconv.ParseInt(f[4], 10, 64)
	id.MtimeNs, err[1] = parseFindTime(f[5])
	id.CtimeNs, err[2] = parseFindTime(f[6])
	id.Inode, err[3] = strconv.ParseUint(f[7], 10, 64)
	id.Dev, err[4] = strconv.ParseUint(f[8], 10, 64)
	if !known || perm > 0o7777 || firstErr(append(err[:], err1, err2, err3)...) != nil || id.Size < 0 {
		return "", nil, fileIdent{}, false
	}
	p := f[9]
	te := &treeEntry{name: path.Base(p), st: sftp.FileStat{
		Size: uint64(id.Size), Mode: typ | uint32(perm), Mtime: uint32(id.MtimeNs / 1e9),
		UID: uint32(uid), GID: uint32(gid),
	}}
	return p, te, id, true
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
	return start(e.srcTreeC, hostLabel(e.in.Source), e.from, true), start(e.dstTreeC, hostLabel(e.in.Target), e.to, false)
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
	}
}

// treeListingOf is a directory's listing from the tree listings.
func (e *engine) treeListingOf(d walkDir) *listing {
	l := &listing{done: make(chan struct{}), ents: e.srcTree.dirs[d.rel]}
	delete(e.srcTree.dirs, d.rel)
	if d.tgtExists {
		l.tents = e.dstTree.dirs[d.rel]
		delete(e.dstTree.dirs, d.rel)
	}
	close(l.done)
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
			if _, kept := e.keepVerified(ctx, childRel(dir, fi.Name()), fi); !kept {
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
