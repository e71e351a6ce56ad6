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

// Xattrs reads rel's extended attributes through its descriptor.
func (s *Side) Xattrs(ctx context.Context, rel string) ([]rootfs.Xattr, error) {
	x, _, err := s.root.Xattrs(ctx, rel)
	return x, err
}

// SyncXattrs makes rel's carried attributes want.
func (s *Side) SyncXattrs(ctx context.Context, rel string, want []rootfs.Xattr, carried []string) ([]rootfs.Xattr, []rootfs.XattrFailure, error) {
	after, errs, err := s.root.SetXattrs(ctx, rel, want, carried)
	var failed []rootfs.XattrFailure
	for _, e := range errs {
		name := ""
		if xe, ok := e.(*agentclient.XattrError); ok {
			name = xe.Name
		}
		failed = append(failed, rootfs.XattrFailure{Name: name, Err: e})
	}
	return after, failed, err
}
