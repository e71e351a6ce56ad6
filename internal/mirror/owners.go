package mirror

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// AccountsQuery asks a side for the names of uids and gids and the ids of
// user and group names, from its own user database.
type AccountsQuery struct {
	UIDs, GIDs    []uint32
	Users, Groups []string
}

// AccountsAnswer answers in the query's order: "" is an id without a name,
// -1 a name without an id. EUID and EGID are the side's own ids.
type AccountsAnswer struct {
	EUID, EGID uint32
	UserNames  []string
	GroupNames []string
	UserIDs    []int64
	GroupIDs   []int64
}

// MetaSide is what a side adds for owners by name, ACLs and extended
// attributes. Xattrs and SyncXattrs work through the descriptor of each
// regular file or directory (a symlink's are not carried: ELOOP), for
// many names at once.
type MetaSide interface {
	Accounts(ctx context.Context, q AccountsQuery) (AccountsAnswer, error)
	// Xattrs returns each of rels' extended attributes sorted by name, or
	// its error.
	Xattrs(ctx context.Context, rels []string) ([]XattrsOf, error)
	// SyncXattrs makes each of rels hold exactly its wants of the
	// attributes carried names (names, or prefixes ending in "."), and
	// returns each one's attributes afterwards and those it could not
	// set or remove, or its error.
	SyncXattrs(ctx context.Context, rels []string, wants [][]rootfs.Xattr, carried []string) ([]XattrsOf, error)
}

// XattrsOf is one name's outcome of Xattrs or SyncXattrs.
type XattrsOf struct {
	Xattrs []rootfs.Xattr
	Failed []rootfs.XattrFailure
	Err    error
}

// owner is how one source uid or gid lands on the target.
type owner struct {
	id      uint32 // on the target
	srcName string // "" without a name on the source
	name    string // the target's name, "" when kept by number
	how     string // "by name", "owner_map", "numeric", "no name on the source"
	unknown string // the name the target does not know ("" known)
}

// owners maps the source's uids and gids to the target's, each id asked
// of the hosts once.
type owners struct {
	numeric  bool
	omap     map[string]string
	src, dst MetaSide
	mu       sync.Mutex
	users    map[uint32]owner
	groups   map[uint32]owner
	// the target side's own ids: what a file it creates belongs to
	euid, egid uint32
}

func newOwners(ctx context.Context, spec Spec, src, dst MetaSide) (*owners, error) {
	o := &owners{numeric: spec.Owners == contract.OwnersNumeric, omap: spec.OwnerMap, src: src, dst: dst,
		users: map[uint32]owner{}, groups: map[uint32]owner{}}
	a, err := dst.Accounts(ctx, AccountsQuery{})
	if err != nil {
		return nil, fmt.Errorf("ask the target for its user database: %w", err)
	}
	o.euid, o.egid = a.EUID, a.EGID
	return o, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// user and group return how the source's id lands on the target.
func (o *owners) user(ctx context.Context, id uint32) (owner, error) {
	return o.resolve(ctx, id, false)
}
func (o *owners) group(ctx context.Context, id uint32) (owner, error) {
	return o.resolve(ctx, id, true)
}

func (o *owners) resolve(ctx context.Context, id uint32, group bool) (owner, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cache := o.users
	if group {
		cache = o.groups
	}
	if w, ok := cache[id]; ok {
		return w, nil
	}
	w := owner{id: id}
	num := strconv.FormatUint(uint64(id), 10)
	want, how := "", ""
	if v, ok := o.omap[num]; ok {
		want, how = v, "owner_map"
	}
	if !o.numeric || how == "" {
		if !o.numeric {
			q := AccountsQuery{UIDs: []uint32{id}}
			if group {
				q = AccountsQuery{GIDs: []uint32{id}}
			}
			a, err := o.src.Accounts(ctx, q)
			if err != nil {
				return w, fmt.Errorf("ask the source for the name of id %d: %w", id, err)
			}
			if group && len(a.GroupNames) == 1 {
				w.srcName = a.GroupNames[0]
			} else if !group && len(a.UserNames) == 1 {
				w.srcName = a.UserNames[0]
			}
		}
		switch v, ok := o.omap[w.srcName]; {
		case how != "":
		case w.srcName != "" && ok:
			want, how = v, "owner_map"
		case w.srcName != "":
			want, how = w.srcName, "by name"
		case o.numeric:
			how = "numeric"
		default:
			how = "no name on the source"
		}
	}
	switch {
	case want == "":
	case isNumber(want):
		n, _ := strconv.ParseUint(want, 10, 32)
		w.id = uint32(n)
	default:
		q := AccountsQuery{Users: []string{want}}
		if group {
			q = AccountsQuery{Groups: []string{want}}
		}
		a, err := o.dst.Accounts(ctx, q)
		if err != nil {
			return w, fmt.Errorf("ask the target for the id of %q: %w", want, err)
		}
		ids := a.UserIDs
		if group {
			ids = a.GroupIDs
		}
		if len(ids) == 1 && ids[0] >= 0 {
			w.id, w.name = uint32(ids[0]), want
		} else {
			w.unknown = want
		}
	}
	w.how = how
	cache[id] = w
	return w, nil
}

// mapEntry gives e the target's uid and gid; an owner the target does not
// know is refused (unknown_owner) and kept by number.
func (r *run) mapEntry(ctx context.Context, e *Entry) error {
	if r.own == nil {
		return nil
	}
	u, err := r.own.user(ctx, e.UID)
	if err != nil {
		return err
	}
	g, err := r.own.group(ctx, e.GID)
	if err != nil {
		return err
	}
	var why string
	if u.unknown != "" {
		why = fmt.Sprintf("owner %q (uid %d on the source) is no user on the target", u.unknown, e.UID)
	}
	if g.unknown != "" {
		if why != "" {
			why += ", and "
		}
		why += fmt.Sprintf("group %q (gid %d on the source) is no group on the target", g.unknown, e.GID)
	}
	if why != "" {
		r.refs.refuse(e.Name, contract.RefusalUnknownOwner, why+"; add it there, map it with owner_map, or accept unknown_owner to keep the number")
	}
	e.UID, e.GID = u.id, g.id
	return nil
}

// OwnerMapping is one source owner as a run maps it.
type OwnerMapping struct {
	Group         bool
	SrcID, DstID  uint32
	SrcName, Name string
	How, Unknown  string
}

func (m OwnerMapping) String() string {
	n := m.SrcName
	if n == "" {
		n = "#" + strconv.FormatUint(uint64(m.SrcID), 10)
	}
	if m.Unknown != "" {
		return fmt.Sprintf("%s %d→? (%q unknown on the target)", n, m.SrcID, m.Unknown)
	}
	s := fmt.Sprintf("%s %d→%d (%s)", n, m.SrcID, m.DstID, m.How)
	if m.Name != "" && m.Name != m.SrcName {
		s = fmt.Sprintf("%s→%s %d→%d (%s)", n, m.Name, m.SrcID, m.DstID, m.How)
	}
	return s
}

// mappings lists the owners seen, users then groups, by source id.
func (o *owners) mappings() []OwnerMapping {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []OwnerMapping
	for gi, m := range []map[uint32]owner{o.users, o.groups} {
		var l []OwnerMapping
		for id, w := range m {
			l = append(l, OwnerMapping{Group: gi == 1, SrcID: id, DstID: w.id, SrcName: w.srcName, Name: w.name, How: w.how, Unknown: w.unknown})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].SrcID < l[j].SrcID })
		out = append(out, l...)
	}
	return out
}
