package mirror

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Hard links within a copy set stay hard links. The walk shows a regular
// file's device, inode and link count; the first name of a group (in walk
// order) is copied like any file, every further name is linked on the
// target to that first name's target file once all copies are done,
// between directory handles beneath the target root. A target file linked
// to a name outside its group is never taken as unchanged: it is written
// anew and renamed over, so the other names keep their bytes.

// Linker is a target that makes hard links: newRel becomes a further name
// of the regular file oldRel (whose device and inode must be want's),
// replacing what newRel held by rename. A refusal of the file system
// matches rootfs.ErrCannotLink.
type Linker interface {
	Link(ctx context.Context, oldRel, newRel string, want rootfs.Identity) (rootfs.Info, error)
}

// inodeKey names one file of a side.
type inodeKey struct{ dev, ino uint64 }

// follower is a further name of a source link group.
type follower struct {
	e      Entry
	old    Entry
	oi     int
	leader string
}

// hardLinks is the deciding goroutine's record of link groups.
type hardLinks struct {
	leader    map[inodeKey]string // source inode → its first name
	leaderOld map[string]Entry    // first name → its target file when taken as unchanged
	followers []follower
	// tgtNames counts the target index's names per inode, built at the
	// first target file with more than one link.
	tgtNames map[inodeKey]uint64
	lastDst  map[string]FileID // first name → its target inode after the last link
}

// hardLink takes a source file with more than one link: the first name of
// its group goes on as a file (false), a further one waits for
// placeHardLinks (true).
func (r *run) hardLink(ctx context.Context, e, old Entry, oi int) (bool, error) {
	if e.Nlink <= 1 {
		return false, nil
	}
	h := &r.hl
	k := inodeKey{e.Dev, e.Ino}
	if h.leader == nil {
		h.leader, h.leaderOld = map[inodeKey]string{}, map[string]Entry{}
	}
	first, ok := h.leader[k]
	if !ok {
		h.leader[k] = e.Name
		return false, nil
	}
	if oi >= 0 && old.Type == rootfs.TypeDir {
		ok, err := r.replaceDir(ctx, e, oi)
		if err != nil || !ok {
			return true, err
		}
		oi = -1
	}
	r.t.files.Add(1)
	r.t.bytes.Add(e.Size)
	h.followers = append(h.followers, follower{e: e, old: old, oi: oi, leader: first})
	return true, nil
}

// linkedOut reports whether the target file old, taken for the source file
// e, shares its inode with a name that is not e's to share: the source has
// one link, or the target file has more links than the target tree has
// names for it that the set does not exclude (a link from outside). Such a file is written
// anew rather than trusted or written through.
func (r *run) linkedOut(e, old Entry) bool {
	if old.Nlink <= 1 {
		return false
	}
	if e.Nlink <= 1 {
		return true
	}
	h := &r.hl
	if h.tgtNames == nil {
		h.tgtNames = map[inodeKey]uint64{}
		for _, t := range r.tgt.ents {
			// An excluded name is outside the set: a link to it counts as
			// one from outside.
			if t.Type == rootfs.TypeFile && t.Nlink > 1 && !r.filter.Excluded(t.Name, false) {
				h.tgtNames[inodeKey{t.Dev, t.Ino}]++
			}
		}
	}
	return old.Nlink > h.tgtNames[inodeKey{old.Dev, old.Ino}]
}

// noteLeaderKept remembers the target file of a group's first name taken
// as unchanged without a digest (verify = "size_mtime").
func (r *run) noteLeaderKept(e, old Entry) {
	if e.Nlink > 1 && r.hl.leader[inodeKey{e.Dev, e.Ino}] == e.Name {
		r.hl.leaderOld[e.Name] = old
	}
}

// placeHardLinks links every further name of a group to its first name's
// target file, after the workers placed those.
func (r *run) placeHardLinks(ctx context.Context) error {
	for _, f := range r.hl.followers {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.placeLink(ctx, f); err != nil && !r.refuseTarget(f.e.Name, err) {
			return fmt.Errorf("hard link %s to %s on the target: %w", f.e.Name, f.leader, err)
		}
	}
	// Each link moved the shared inode's ctime: every name of a group is
	// recorded with the inode as the last link left it, so that the next
	// sync's identity check matches.
	for _, f := range r.hl.followers {
		if now, ok := r.hl.lastDst[f.leader]; ok {
			r.state.setDst(f.e.Name, now)
			r.state.setDst(f.leader, now)
		}
	}
	return nil
}

func (r *run) placeLink(ctx context.Context, f follower) error {
	rec, digested := r.state.get(f.leader)
	var lid FileID
	switch old, kept := r.hl.leaderOld[f.leader]; {
	case digested:
		lid = rec.Dst
	case kept:
		lid = old.FileID()
	case r.dry:
	default:
		r.unplaced(f, contract.RefusalChanged, fmt.Sprintf("the first name of its hard-link group, %q, was not copied", shortPath(f.leader)))
		return nil
	}
	if f.oi >= 0 && f.old.Type == rootfs.TypeFile && f.old.Dev == lid.Dev && f.old.Ino == lid.Ino {
		r.t.unchanged.Add(1)
		if digested {
			r.t.verified.Add(1)
			r.state.add(f.e.Name, stateRecord{Digest: rec.Digest, Src: f.e.FileID(), Dst: lid})
		}
		return nil
	}
	r.markDirty(parentOf(f.e.Name))
	if r.dry {
		r.est.CopyFiles++
		return nil
	}
	lk, ok := r.dst.(Linker)
	if !ok {
		r.unplaced(f, contract.RefusalMetadata, fmt.Sprintf("a hard link to %q; this target cannot make hard links", shortPath(f.leader)))
		return nil
	}
	now, err := lk.Link(ctx, f.leader, f.e.Name, rootfs.Identity{Dev: lid.Dev, Ino: lid.Ino})
	switch {
	case errors.Is(err, rootfs.ErrCannotLink):
		r.unplaced(f, contract.RefusalMetadata, fmt.Sprintf("a hard link to %q the target refused: %v", shortPath(f.leader), err))
		return nil
	case errors.Is(err, rootfs.ErrIdentityMismatch), errors.Is(err, fs.ErrNotExist):
		why := fmt.Sprintf("the target file of its hard-link group's first name %q changed before it was linked", shortPath(f.leader))
		r.unplaced(f, contract.RefusalChanged, why+": "+err.Error())
		return nil
	case err != nil:
		return err
	}
	r.t.copiedFiles.Add(1)
	if r.hl.lastDst == nil {
		r.hl.lastDst = map[string]FileID{}
	}
	r.hl.lastDst[f.leader] = idOf(now)
	if digested {
		r.t.verified.Add(1)
		r.state.add(f.e.Name, stateRecord{Digest: rec.Digest, Src: f.e.FileID(), Dst: idOf(now)})
	}
	return nil
}

// unplaced refuses a further name of a link group.
func (r *run) unplaced(f follower, kind, why string) {
	r.refs.refuse(f.e.Name, kind, why)
	r.t.files.Add(-1)
	r.t.bytes.Add(-f.e.Size)
}

// setDst updates the target identity of rel's record, if it has one.
func (b *stateBuilder) setDst(rel string, id FileID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rec, ok := b.recs[rel]; ok {
		rec.Dst = id
		b.recs[rel] = rec
	}
}

func (b *stateBuilder) get(rel string) (stateRecord, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rec, ok := b.recs[rel]
	return rec, ok
}

// Link makes newRel a further name of the regular file oldRel.
func (s *LocalSide) Link(_ context.Context, oldRel, newRel string, want rootfs.Identity) (rootfs.Info, error) {
	return s.root.Link(oldRel, newRel, &want)
}

var _ Linker = (*LocalSide)(nil)

// LinkGroups names, for each file of a walk with more than one link, the
// first name the walk showed of its inode.
type LinkGroups map[inodeKey]string

// First returns the earlier name of e's inode, or "" when e is the first
// (or has one link); it remembers e.
func (g LinkGroups) First(e Entry) string {
	if e.Type != rootfs.TypeFile || e.Nlink <= 1 {
		return ""
	}
	k := inodeKey{e.Dev, e.Ino}
	if first, ok := g[k]; ok {
		return first
	}
	g[k] = e.Name
	return ""
}
