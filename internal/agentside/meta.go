package agentside

import (
	"context"

	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

var _ mirror.MetaSide = (*Side)(nil)

// Accounts asks the agent's host for names and ids (mirror.MetaSide).
func (s *Side) Accounts(ctx context.Context, q mirror.AccountsQuery) (mirror.AccountsAnswer, error) {
	a, err := s.root.Accounts(ctx, agentproto.AccountsQuery{UIDs: q.UIDs, GIDs: q.GIDs, Users: q.Users, Groups: q.Groups})
	return mirror.AccountsAnswer{EUID: a.EUID, EGID: a.EGID, UserNames: a.UserNames, GroupNames: a.GroupNames,
		UserIDs: a.UserIDs, GroupIDs: a.GroupIDs}, err
}

// Xattrs reads the extended attributes of rels through their descriptors.
func (s *Side) Xattrs(ctx context.Context, rels []string) ([]mirror.XattrsOf, error) {
	res, err := s.root.Xattrs(ctx, rels)
	return outcomes(res), err
}

// SyncXattrs makes each of rels' carried attributes its wants.
func (s *Side) SyncXattrs(ctx context.Context, rels []string, wants [][]rootfs.Xattr, carried []string) ([]mirror.XattrsOf, error) {
	res, err := s.root.SetXattrs(ctx, rels, wants, carried)
	return outcomes(res), err
}

func outcomes(res []agentclient.MetaOutcome) []mirror.XattrsOf {
	out := make([]mirror.XattrsOf, len(res))
	for i, o := range res {
		out[i] = mirror.XattrsOf{Xattrs: o.Xattrs, Err: o.Err}
		for _, e := range o.Failed {
			name := ""
			if xe, ok := e.(*agentclient.XattrError); ok {
				name = xe.Name
			}
			out[i].Failed = append(out[i].Failed, rootfs.XattrFailure{Name: name, Err: e})
		}
	}
	return out
}
