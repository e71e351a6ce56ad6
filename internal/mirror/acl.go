package mirror

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The extended attributes the kernel keeps POSIX ACLs in, and their
// format: a little-endian version 2, then entries of tag, permissions and
// id (the id only for named users and groups).
const (
	aclAccess  = "system.posix_acl_access"
	aclDefault = "system.posix_acl_default"

	aclVersion   = 2
	aclUserObj   = 0x01
	aclUser      = 0x02
	aclGroupObj  = 0x04
	aclGroup     = 0x08
	aclMask      = 0x10
	aclOther     = 0x20
	aclUndefined = 0xffffffff
	aclEntrySize = 8
)

type aclEntry struct {
	tag, perm uint16
	id        uint32
}

var errBadACL = errors.New("malformed POSIX ACL")

func parseACL(b []byte) ([]aclEntry, error) {
	if len(b) < 4 || (len(b)-4)%aclEntrySize != 0 || binary.LittleEndian.Uint32(b) != aclVersion {
		return nil, errBadACL
	}
	var out []aclEntry
	for p := b[4:]; len(p) > 0; p = p[aclEntrySize:] {
		out = append(out, aclEntry{tag: binary.LittleEndian.Uint16(p), perm: binary.LittleEndian.Uint16(p[2:]), id: binary.LittleEndian.Uint32(p[4:])})
	}
	return out, nil
}

// encodeACL writes entries in the order the kernel requires: by tag, and
// named users and groups by id.
func encodeACL(es []aclEntry) []byte {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].tag != es[j].tag {
			return es[i].tag < es[j].tag
		}
		return es[i].id < es[j].id
	})
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, e.id)
	}
	return b
}

// mapACL maps the named users and groups of an ACL value to the target's
// ids as owners are mapped; text is its short form with the target's
// names ("user::rw-,user:fin:r--,..."), unknown lists names the target
// does not know (kept by number).
func (r *run) mapACL(ctx context.Context, v []byte) (out []byte, text string, unknown []string, err error) {
	es, err := parseACL(v)
	if err != nil {
		return nil, "", nil, err
	}
	var parts []string
	for i := range es {
		e := &es[i]
		qual := ""
		if (e.tag == aclUser || e.tag == aclGroup) && r.own != nil {
			var w owner
			if e.tag == aclUser {
				w, err = r.own.user(ctx, e.id)
			} else {
				w, err = r.own.group(ctx, e.id)
			}
			if err != nil {
				return nil, "", nil, err
			}
			if w.unknown != "" {
				unknown = append(unknown, w.unknown)
			}
			e.id, qual = w.id, w.name
		}
		if (e.tag == aclUser || e.tag == aclGroup) && qual == "" {
			qual = strconv.FormatUint(uint64(e.id), 10)
		}
		parts = append(parts, aclTagName(e.tag)+":"+qual+":"+aclPerm(e.perm))
	}
	out = encodeACL(es)
	for i := 1; i < len(es); i++ {
		if es[i].tag == es[i-1].tag && (es[i].tag == aclUser || es[i].tag == aclGroup) && es[i].id == es[i-1].id {
			return nil, "", nil, fmt.Errorf("two entries of the ACL map to %s %d on the target", aclTagName(es[i].tag), es[i].id)
		}
	}
	sort.Strings(parts)
	return out, strings.Join(parts, ","), unknown, nil
}

func aclTagName(t uint16) string {
	switch t {
	case aclUserObj, aclUser:
		return "user"
	case aclGroupObj, aclGroup:
		return "group"
	case aclMask:
		return "mask"
	case aclOther:
		return "other"
	}
	return "tag" + strconv.Itoa(int(t))
}

func aclPerm(p uint16) string {
	b := []byte("---")
	if p&4 != 0 {
		b[0] = 'r'
	}
	if p&2 != 0 {
		b[1] = 'w'
	}
	if p&1 != 0 {
		b[2] = 'x'
	}
	return string(b)
}
