package agentproto

import (
	"fmt"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Metadata requests carry payloads of their own (below) and are answered
// with a MetaResult frame, or an Error.
//
//   - Accounts: the host's user and group names for the ids asked, its
//     ids for the names asked (read from its /etc/passwd and /etc/group),
//     and the agent's own effective ids.
//   - Xattrs: the extended attributes of each of Rels (regular files or
//     directories), read through its descriptor.
//   - SetXattrs: each of Rels on a target root made to hold exactly its
//     Wants of the attributes Carried names (names, or prefixes ending in
//     "."), through its descriptor: those that differ set, carried ones
//     it lacks removed; answered with the attributes afterwards and each
//     one that failed.
//
// Both answer one item per name in order, or fewer when the answer would
// not fit one frame: the client asks again for the rest.
const (
	TAccounts   Type = 64
	TXattrs     Type = 65
	TSetXattrs  Type = 66
	TMetaResult Type = 67 // agent→client
	tMetaEnd    Type = 68
)

// IsMeta reports whether t is one of the metadata frames.
func (t Type) IsMeta() bool { return t >= TAccounts && t < tMetaEnd }

// IsMetaRequest reports whether t starts a metadata request.
func (t Type) IsMetaRequest() bool { return t >= TAccounts && t <= TSetXattrs }

var metaNames = [...]string{"accounts", "xattrs", "set-xattrs", "meta-result"}

// Bounds of the metadata payloads.
const (
	MaxAccountQuery = 4096 // ids or names in one Accounts request
	MaxAccountName  = 256
	MaxXattrs       = 1024 // attributes of one file
	MaxMetaBatch    = 256  // names in one Xattrs or SetXattrs request
)

// AccountsQuery asks for the names of UIDs and GIDs and the ids of Users
// and Groups.
type AccountsQuery struct {
	UIDs, GIDs    []uint32
	Users, Groups []string
}

// AccountsAnswer answers an AccountsQuery in its order: "" is an id
// without a name, -1 a name without an id.
type AccountsAnswer struct {
	EUID, EGID uint32
	UserNames  []string
	GroupNames []string
	UserIDs    []int64
	GroupIDs   []int64
}

// MetaRequest is a metadata request's payload; each op reads its fields.
type MetaRequest struct {
	Root     uint32 // Xattrs, SetXattrs
	Rels     []string
	Accounts AccountsQuery    // Accounts
	Wants    [][]rootfs.Xattr // SetXattrs: one list per name
	Carried  []string         // SetXattrs
}

// MetaItem is one name's answer.
type MetaItem struct {
	Code    Code   // CodeOther with Message "" is success
	Message string // the error, "" on success
	Xattrs  []rootfs.Xattr
	// SetXattrs: the attributes that could not be set or removed, with
	// their errno and error text.
	Failed   []string
	Errnos   []uint32
	Messages []string
}

// OK reports whether the item succeeded.
func (it *MetaItem) OK() bool { return it.Message == "" }

// MetaResult is a metadata request's answer.
type MetaResult struct {
	Accounts AccountsAnswer // Accounts
	Items    []MetaItem     // Xattrs, SetXattrs
}

// MetaItemSize is an upper bound of an item's encoded size.
func MetaItemSize(it *MetaItem) int {
	n := 1 + 4 + len(it.Message) + 4 + 3*4
	for _, x := range it.Xattrs {
		n += 8 + len(x.Name) + len(x.Value)
	}
	for i := range it.Failed {
		n += 12 + len(it.Failed[i]) + len(it.Messages[i])
	}
	return n
}

func encU32s(e *Enc, v []uint32) {
	e.U32(uint32(len(v)))
	for _, x := range v {
		e.U32(x)
	}
}

func decU32s(d *Dec, max int) []uint32 {
	n := d.U32()
	if d.Err() != nil || int(n) > max || int64(n)*4 > int64(len(d.B)) {
		if d.err == nil {
			d.err = fmt.Errorf("agent protocol: list of %d numbers", n)
		}
		return nil
	}
	out := make([]uint32, n)
	for i := range out {
		out[i] = d.U32()
	}
	return out
}

func encStrs(e *Enc, v []string) {
	e.U32(uint32(len(v)))
	for _, s := range v {
		e.Str(s)
	}
}

func decStrs(d *Dec, max, maxLen int) []string {
	n := d.U32()
	if d.Err() != nil || int(n) > max || int64(n)*4 > int64(len(d.B)) {
		if d.err == nil {
			d.err = fmt.Errorf("agent protocol: list of %d strings", n)
		}
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.Str(maxLen)
	}
	return out
}

func encXattrs(e *Enc, v []rootfs.Xattr) {
	e.U32(uint32(len(v)))
	for _, x := range v {
		e.Str(x.Name)
		e.U32(uint32(len(x.Value)))
		e.B = append(e.B, x.Value...)
	}
}

func decXattrs(d *Dec) []rootfs.Xattr {
	n := d.U32()
	if d.Err() != nil || n > MaxXattrs || int64(n)*8 > int64(len(d.B)) {
		if d.err == nil {
			d.err = fmt.Errorf("agent protocol: %d extended attributes", n)
		}
		return nil
	}
	out := make([]rootfs.Xattr, n)
	for i := range out {
		out[i].Name = d.Str(rootfs.MaxXattrName)
		l := d.U32()
		if l > rootfs.MaxXattrValue {
			if d.err == nil {
				d.err = fmt.Errorf("agent protocol: attribute value of %d bytes", l)
			}
			return nil
		}
		out[i].Value = append([]byte(nil), d.take(int(l))...)
	}
	return out
}

func (q *MetaRequest) Encode() []byte {
	var e Enc
	e.U32(q.Root)
	encStrs(&e, q.Rels)
	encU32s(&e, q.Accounts.UIDs)
	encU32s(&e, q.Accounts.GIDs)
	encStrs(&e, q.Accounts.Users)
	encStrs(&e, q.Accounts.Groups)
	e.U32(uint32(len(q.Wants)))
	for _, w := range q.Wants {
		encXattrs(&e, w)
	}
	encStrs(&e, q.Carried)
	return e.B
}

// DecodeMetaRequest decodes a MetaRequest, every list bounded.
func DecodeMetaRequest(p []byte) (MetaRequest, error) {
	d := Dec{B: p}
	var q MetaRequest
	q.Root = d.U32()
	q.Rels = decStrs(&d, MaxMetaBatch, rootfs.MaxNameLen)
	q.Accounts.UIDs = decU32s(&d, MaxAccountQuery)
	q.Accounts.GIDs = decU32s(&d, MaxAccountQuery)
	q.Accounts.Users = decStrs(&d, MaxAccountQuery, MaxAccountName)
	q.Accounts.Groups = decStrs(&d, MaxAccountQuery, MaxAccountName)
	n := d.U32()
	if d.Err() == nil && (n > MaxMetaBatch || int64(n)*4 > int64(len(d.B))) {
		return q, fmt.Errorf("agent protocol: %d attribute lists", n)
	}
	for range n {
		q.Wants = append(q.Wants, decXattrs(&d))
	}
	q.Carried = decStrs(&d, MaxXattrs, rootfs.MaxXattrName)
	return q, d.Done()
}

func (r *MetaResult) Encode() []byte {
	var e Enc
	a := r.Accounts
	e.U32(a.EUID)
	e.U32(a.EGID)
	encStrs(&e, a.UserNames)
	encStrs(&e, a.GroupNames)
	for _, ids := range [][]int64{a.UserIDs, a.GroupIDs} {
		e.U32(uint32(len(ids)))
		for _, id := range ids {
			e.I64(id)
		}
	}
	e.U32(uint32(len(r.Items)))
	for i := range r.Items {
		it := &r.Items[i]
		e.U8(uint8(it.Code))
		e.Str(it.Message)
		encXattrs(&e, it.Xattrs)
		encStrs(&e, it.Failed)
		encU32s(&e, it.Errnos)
		encStrs(&e, it.Messages)
	}
	return e.B
}

// DecodeMetaResult decodes a MetaResult.
func DecodeMetaResult(p []byte) (MetaResult, error) {
	d := Dec{B: p}
	var r MetaResult
	r.Accounts.EUID = d.U32()
	r.Accounts.EGID = d.U32()
	r.Accounts.UserNames = decStrs(&d, MaxAccountQuery, MaxAccountName)
	r.Accounts.GroupNames = decStrs(&d, MaxAccountQuery, MaxAccountName)
	for _, ids := range []*[]int64{&r.Accounts.UserIDs, &r.Accounts.GroupIDs} {
		n := d.U32()
		if d.Err() != nil || n > MaxAccountQuery || int64(n)*8 > int64(len(d.B)) {
			if d.err == nil {
				d.err = fmt.Errorf("agent protocol: list of %d ids", n)
			}
			return r, d.err
		}
		*ids = make([]int64, n)
		for i := range *ids {
			(*ids)[i] = d.I64()
		}
	}
	n := d.U32()
	if d.Err() == nil && (n > MaxMetaBatch || int64(n)*4 > int64(len(d.B))) {
		return r, fmt.Errorf("agent protocol: %d metadata items", n)
	}
	for range n {
		var it MetaItem
		it.Code = Code(d.U8())
		it.Message = d.Str(MaxString)
		it.Xattrs = decXattrs(&d)
		it.Failed = decStrs(&d, 2*MaxXattrs, rootfs.MaxXattrName)
		it.Errnos = decU32s(&d, 2*MaxXattrs)
		it.Messages = decStrs(&d, 2*MaxXattrs, MaxString)
		if d.Err() == nil && (len(it.Errnos) != len(it.Failed) || len(it.Messages) != len(it.Failed)) {
			return r, fmt.Errorf("agent protocol: %d failed attributes with %d errnos and %d messages", len(it.Failed), len(it.Errnos), len(it.Messages))
		}
		r.Items = append(r.Items, it)
	}
	return r, d.Done()
}
