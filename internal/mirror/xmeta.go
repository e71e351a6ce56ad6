package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// MetaRecord is what a run verified of one entry's metadata on the
// target: owner and group names (numbers where the target has no name),
// the ACLs in short text form, and the SHA-256 of the carried extended
// attributes (names and values, ACLs included; "" when there are none).
type MetaRecord struct {
	Owner, Group string
	ACL          string
	DefaultACL   string
	XattrSHA256  string
}

// metaItem is one source entry whose owner, ACLs and extended attributes
// are brought over after the copy.
type metaItem struct {
	name       string
	typ        rootfs.Type
	uid, gid   uint32 // the target's, after mapping
	tuid, tgid uint32 // what the target entry belongs to now, as far as known
}

// metaOn reports whether the run carries metadata beyond mode and times.
func (r *run) metaOn() bool { return r.own != nil }

// noteMeta queues e for the metadata pass; old is the target entry as
// listed (existed false: created by this run).
func (r *run) noteMeta(e, old Entry, existed bool) {
	if !r.metaOn() || r.dry {
		return
	}
	it := metaItem{name: e.Name, typ: e.Type, uid: e.UID, gid: e.GID, tuid: r.own.euid, tgid: r.own.egid}
	if existed && old.Type == e.Type {
		it.tuid, it.tgid = old.UID, old.GID
	}
	if r.opts.Owner {
		it.tuid, it.tgid = e.UID, e.GID // set with the copy
	}
	r.metaItems = append(r.metaItems, it)
}

// carried reports whether the attribute name travels with its file.
// security.selinux only with selinux = "keep": "relabel" leaves the label
// to the target's policy. trusted.* and security.capability need root on
// both hosts (a non-root target refuses them: metadata).
func (r *run) carried(name string) bool {
	switch {
	case strings.HasPrefix(name, "user."), strings.HasPrefix(name, "trusted."):
		return true
	case name == "security.capability", name == aclAccess, name == aclDefault:
		return true
	case name == "security.selinux":
		return r.spec.SELinux == contract.SELinuxKeep
	}
	return false
}

// syncMetas runs the metadata pass over every queued entry, Spec.Concurrency
// at a time.
func (r *run) syncMetas(ctx context.Context) error {
	if !r.metaOn() || r.dry {
		return nil
	}
	batches := make(chan []metaItem)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range max(1, r.conc/4) {
		wg.Go(func() {
			for b := range batches {
				if err := r.syncBatch(ctx, b); err != nil {
					mu.Lock()
					first = cmp(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; i < len(r.metaItems) && ctx.Err() == nil; i += metaBatch {
		batches <- r.metaItems[i:min(i+metaBatch, len(r.metaItems))]
	}
	close(batches)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// metaBatch is the entries whose attributes one request reads or sets.
const metaBatch = 128

// metaState is one entry's progress through syncBatch.
type metaState struct {
	it   metaItem
	rec  MetaRecord
	why  []string
	want []rootfs.Xattr
}

// syncBatch brings the owners (for a login that is not root) and the
// carried attributes of a batch of entries over: one request to each
// side for the attributes of the whole batch.
func (r *run) syncBatch(ctx context.Context, items []metaItem) error {
	st := make([]metaState, len(items))
	var rels []string
	var idx []int
	for k, it := range items {
		m := &st[k]
		m.it = it
		m.rec = MetaRecord{Owner: r.ownerName(it.uid, false), Group: r.ownerName(it.gid, true)}
		if !r.opts.Owner && (it.uid != it.tuid || it.gid != it.tgid) {
			// Not root on the target: try, and say so when the login cannot.
			err := r.dst.SetMeta(ctx, it.name, rootfs.Meta{SetOwner: true, UID: it.uid, GID: it.gid})
			switch {
			case targetSwapped(err):
				continue
			case err != nil && !errors.Is(err, fs.ErrPermission):
				return fmt.Errorf("set the owner of %s on the target: %w", it.name, err)
			case err != nil:
				m.why = append(m.why, fmt.Sprintf("the target login may not give it owner %s:%s (uid %d, gid %d): %v; log in as root or use become = \"sudo\"",
					m.rec.Owner, m.rec.Group, it.uid, it.gid, err))
			}
		}
		if it.typ == rootfs.TypeSymlink {
			r.finishMeta(it, m.rec, m.why)
			continue
		}
		rels = append(rels, it.name)
		idx = append(idx, k)
	}
	if len(rels) == 0 {
		return nil
	}
	srcs, err := r.srcMeta.Xattrs(ctx, rels)
	if err == nil && len(srcs) != len(rels) {
		err = fmt.Errorf("%d answers for %d names", len(srcs), len(rels))
	}
	if err != nil {
		return fmt.Errorf("read extended attributes on the source: %w", err)
	}
	var drels []string
	var wants [][]rootfs.Xattr
	var didx []int
	for n, k := range idx {
		m := &st[k]
		switch o := srcs[n]; {
		case targetSwapped(o.Err):
			continue // gone or replaced since: the copy refused or noted it
		case o.Err != nil:
			m.why = append(m.why, "could not read its extended attributes on the source: "+o.Err.Error())
			r.finishMeta(m.it, m.rec, m.why)
			continue
		default:
			if m.want, err = r.wanted(ctx, m.it, o.Xattrs, &m.rec); err != nil {
				return err
			}
		}
		drels = append(drels, m.it.name)
		wants = append(wants, m.want)
		didx = append(didx, k)
	}
	if len(drels) == 0 {
		return nil
	}
	// One request: the target agent compares, sets what differs, removes
	// what the source lacks, and answers with what each then holds.
	dsts, err := r.dstMeta.SyncXattrs(ctx, drels, wants, r.carriedList())
	if err == nil && len(dsts) != len(drels) {
		err = fmt.Errorf("%d answers for %d names", len(dsts), len(drels))
	}
	if err != nil {
		return fmt.Errorf("set extended attributes on the target: %w", err)
	}
	for n, k := range didx {
		m := &st[k]
		o := dsts[n]
		switch {
		case targetSwapped(o.Err):
			// Replaced on the target since: what was written through it
			// is refused as changed by the copy.
			continue
		case o.Err != nil:
			m.why = append(m.why, "could not set its extended attributes on the target: "+o.Err.Error())
		default:
			for _, f := range o.Failed {
				m.why = append(m.why, xattrRefusal(f.Name, f.Err))
			}
			if len(o.Failed) == 0 {
				// Verified means as the target holds it afterwards.
				if s, rm := r.xattrDiff(m.want, o.Xattrs); len(s)+len(rm) > 0 {
					m.why = append(m.why, fmt.Sprintf("the target did not keep %d extended attributes it took", len(s)+len(rm)))
				}
			}
		}
		m.rec.XattrSHA256 = xattrDigest(m.want)
		r.finishMeta(m.it, m.rec, m.why)
	}
	return nil
}

// carriedList names what carried matches, for the target agent.
func (r *run) carriedList() []string {
	l := []string{"user.", "trusted.", "security.capability", aclAccess, aclDefault}
	if r.spec.SELinux == contract.SELinuxKeep {
		l = append(l, "security.selinux")
	}
	return l
}

// finishMeta refuses an entry whose metadata did not all arrive, or
// records what was verified.
func (r *run) finishMeta(it metaItem, rec MetaRecord, why []string) {
	if len(why) > 0 {
		r.refs.refuse(it.name, contract.RefusalMetadata, strings.Join(why, "; "))
		return
	}
	if r.opts.OnMeta != nil {
		r.opts.OnMeta(it.name, rec)
	}
}

func xattrRefusal(name string, err error) string {
	switch {
	case errors.Is(err, unix.EOPNOTSUPP):
		if name == aclAccess || name == aclDefault {
			return "the target's file system does not support POSIX ACLs (" + name + "): mount it with ACLs or accept metadata"
		}
		return "the target's file system does not support the extended attribute " + name + ": accept metadata to copy without it"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return "the target login may not set " + name + " (trusted.* and security.capability need root): log in as root or use become = \"sudo\""
	}
	return "the target refused " + name + ": " + err.Error()
}

// wanted is the source's carried attributes as the target should hold
// them: ACLs with their users and groups mapped.
func (r *run) wanted(ctx context.Context, it metaItem, sx []rootfs.Xattr, rec *MetaRecord) ([]rootfs.Xattr, error) {
	var out []rootfs.Xattr
	for _, x := range sx {
		if !r.carried(x.Name) {
			continue
		}
		if x.Name == aclAccess || x.Name == aclDefault {
			v, text, unknown, err := r.mapACL(ctx, x.Value)
			if errors.Is(err, errBadACL) {
				r.refs.refuse(it.name, contract.RefusalMetadata, x.Name+" on the source is not a POSIX ACL umzug can read")
				continue
			}
			if err != nil {
				return nil, err
			}
			if len(unknown) > 0 {
				r.refs.refuse(it.name, contract.RefusalUnknownOwner, fmt.Sprintf("its ACL names %s, unknown on the target; add them there, map them with owner_map, or accept unknown_owner to keep the numbers", strings.Join(unknown, ", ")))
			}
			if x.Name == aclAccess {
				rec.ACL = text
			} else {
				rec.DefaultACL = text
			}
			x.Value = v
		}
		out = append(out, x)
	}
	return out, nil
}

// xattrDiff lists what to set and remove so that the target's carried
// attributes are want.
func (r *run) xattrDiff(want, have []rootfs.Xattr) (set []rootfs.Xattr, remove []string) {
	h := map[string][]byte{}
	for _, x := range have {
		if r.carried(x.Name) {
			h[x.Name] = x.Value
		}
	}
	for _, x := range want {
		v, ok := h[x.Name]
		if !ok || !bytes.Equal(v, x.Value) {
			set = append(set, x)
		}
		delete(h, x.Name)
	}
	for _, x := range have {
		if _, ok := h[x.Name]; ok {
			remove = append(remove, x.Name)
		}
	}
	return set, remove
}

// xattrDigest is the SHA-256 of names and values, "" for none.
func xattrDigest(xs []rootfs.Xattr) string {
	if len(xs) == 0 {
		return ""
	}
	h := sha256.New()
	for _, x := range xs {
		h.Write([]byte(x.Name))
		h.Write([]byte{0})
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(x.Value)>>24), byte(len(x.Value)>>16), byte(len(x.Value)>>8), byte(len(x.Value))
		h.Write(n[:])
		h.Write(x.Value)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ownerName is the target's name of a mapped id, else its number.
func (r *run) ownerName(id uint32, group bool) string {
	o := r.own
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.users
	if group {
		m = o.groups
	}
	for _, w := range m {
		if w.id == id && w.name != "" {
			return w.name
		}
	}
	return fmt.Sprint(id)
}
