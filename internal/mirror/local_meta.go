package mirror

import (
	"context"
	"os"

	"github.com/umzug-dev/umzug/internal/accounts"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

var _ MetaSide = (*LocalSide)(nil)

// Accounts answers from the passwd and group files of LocalOptions.Etc.
func (s *LocalSide) Accounts(_ context.Context, q AccountsQuery) (AccountsAnswer, error) {
	db, err := accounts.Load(s.etc)
	if err != nil {
		return AccountsAnswer{}, err
	}
	a := AccountsAnswer{EUID: uint32(os.Geteuid()), EGID: uint32(os.Getegid())}
	for _, id := range q.UIDs {
		a.UserNames = append(a.UserNames, db.UserName(id))
	}
	for _, id := range q.GIDs {
		a.GroupNames = append(a.GroupNames, db.GroupName(id))
	}
	for _, n := range q.Users {
		a.UserIDs = append(a.UserIDs, db.UserID(n))
	}
	for _, n := range q.Groups {
		a.GroupIDs = append(a.GroupIDs, db.GroupID(n))
	}
	return a, nil
}

func (s *LocalSide) Xattrs(_ context.Context, rels []string) ([]XattrsOf, error) {
	out := make([]XattrsOf, len(rels))
	for i, rel := range rels {
		m, err := s.root.OpenMeta(rel)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Xattrs, out[i].Err = m.Xattrs()
		m.Close()
	}
	return out, nil
}

func (s *LocalSide) SyncXattrs(_ context.Context, rels []string, wants [][]rootfs.Xattr, carried []string) ([]XattrsOf, error) {
	out := make([]XattrsOf, len(rels))
	c := rootfs.Carried(carried)
	for i, rel := range rels {
		m, err := s.root.OpenMeta(rel)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Xattrs, out[i].Failed, out[i].Err = m.SyncXattrs(wants[i], c)
		m.Close()
	}
	return out, nil
}
