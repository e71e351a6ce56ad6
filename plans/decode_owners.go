package plans

import (
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/umzug-dev/umzug/activities/contract"
)

// maxOwnerMap bounds a copy's owner_map.
const maxOwnerMap = 1024

// ownerKey is a uid/gid in decimal or a user or group name as passwd and
// group files hold them.
var ownerKey = regexp.MustCompile(`^([0-9]{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,254}\$?)$`)

// decodeOwners reads a copy's owners, owner_map and selinux.
func (l *loader) decodeOwners(attrs hcl.Attributes, c *Copy) {
	if a := attrs["owners"]; a != nil {
		if s, ok := l.str(a, "owners"); ok {
			if s != contract.OwnersByName && s != contract.OwnersNumeric {
				l.errorf(a.Expr.Range(), "Invalid owners",
					"copy %q: owners must be %q (the target's ids of the source's user and group names, the default) or %q (the numbers as they are, for sites sharing one directory service), not %q.",
					c.Name, contract.OwnersByName, contract.OwnersNumeric, s)
			}
			c.Owners = s
		}
	}
	if a := attrs["selinux"]; a != nil {
		if s, ok := l.str(a, "selinux"); ok {
			if s != contract.SELinuxKeep && s != contract.SELinuxRelabel {
				l.errorf(a.Expr.Range(), "Invalid selinux",
					"copy %q: selinux must be %q (copy security.selinux labels) or %q (leave labels to the target's policy, the default), not %q.",
					c.Name, contract.SELinuxKeep, contract.SELinuxRelabel, s)
			}
			c.SELinux = s
		}
	}
	a := attrs["owner_map"]
	if a == nil {
		return
	}
	v, ok := l.value(a.Expr, cty.Map(cty.String), "owner_map")
	if !ok {
		return
	}
	m := map[string]string{}
	for k, e := range v.AsValueMap() {
		m[k] = e.AsString()
	}
	if len(m) > maxOwnerMap {
		l.errorf(a.Expr.Range(), "Invalid owner_map", "copy %q: owner_map has %d entries, at most %d.", c.Name, len(m), maxOwnerMap)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, s := range []string{k, m[k]} {
			if !ownerKey.MatchString(s) {
				l.errorf(a.Expr.Range(), "Invalid owner_map",
					"copy %q: owner_map entry %q = %q: %q is neither a uid or gid in decimal nor a user or group name.", c.Name, k, m[k], s)
				return
			}
		}
	}
	if c.Owners == contract.OwnersNumeric {
		for _, k := range keys {
			if !ownerKey.MatchString(k) || k[0] < '0' || k[0] > '9' {
				l.errorf(a.Expr.Range(), "Invalid owner_map",
					"copy %q: with owners = \"numeric\" owner_map keys are uids and gids in decimal; %q is a name.", c.Name, k)
				return
			}
		}
	}
	c.OwnerMap = m
}
