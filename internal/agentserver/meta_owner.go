package agentserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/umzug-dev/umzug/internal/accounts"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// startMeta runs a metadata request (Accounts, Xattrs, SetXattrs) from a
// goroutine holding a worker slot, registered for Cancel.
func (s *server) startMeta(ctx context.Context, f agentproto.Frame) error {
	q, err := agentproto.DecodeMetaRequest(f.Payload)
	if err != nil {
		return fmt.Errorf("%s request %d: %w", f.Type, f.ID, err)
	}
	rctx, rq, err := s.register(ctx, f.ID, false)
	if err != nil {
		return err
	}
	t := f.Type
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer rq.cancel()
		var res *agentproto.MetaResult
		select {
		case s.sem <- struct{}{}:
			res, err = s.meta(t, &q)
			<-s.sem
		case <-rctx.Done():
			err = rctx.Err()
		}
		s.mu.Lock()
		delete(s.reqs, f.ID)
		s.mu.Unlock()
		if err != nil {
			_ = s.w.Write(agentproto.TError, f.ID, toError(err).Encode())
			return
		}
		_ = s.w.Write(agentproto.TMetaResult, f.ID, res.Encode())
	}()
	return nil
}

func (s *server) meta(t agentproto.Type, q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	switch t {
	case agentproto.TAccounts:
		return s.accounts(q.Accounts)
	case agentproto.TXattrs:
		return s.xattrs(q)
	case agentproto.TSetXattrs:
		return s.setXattrs(q)
	}
	return nil, fmt.Errorf("%w: unknown request %s", errProtocol, t)
}

// accounts answers from the host's own passwd and group files, read anew
// for each request (a few per copy).
func (s *server) accounts(q agentproto.AccountsQuery) (*agentproto.MetaResult, error) {
	db, err := accounts.Load(s.o.Etc)
	if err != nil {
		return nil, err
	}
	a := agentproto.AccountsAnswer{EUID: uint32(os.Geteuid()), EGID: uint32(os.Getegid())}
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
	return &agentproto.MetaResult{Accounts: a}, nil
}

func (s *server) xattrs(q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	r, release, err := s.root(&agentproto.Request{Root: q.Root}, false)
	if err != nil {
		return nil, err
	}
	defer release()
	m, err := r.OpenMeta(q.Rel)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	x, err := m.Xattrs()
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", r.Path(), q.Rel, err)
	}
	if len(x) > agentproto.MaxXattrs {
		return nil, fmt.Errorf("%s/%s: %d extended attributes: %w", r.Path(), q.Rel, len(x), rootfs.ErrXattrsTooBig)
	}
	return &agentproto.MetaResult{Entry: m.Info, Xattrs: x}, nil
}

// setXattrs makes the carried attributes those asked for; each failure
// is answered (a file system without ACLs refuses only those).
func (s *server) setXattrs(q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	r, release, err := s.root(&agentproto.Request{Root: q.Root}, true)
	if err != nil {
		return nil, err
	}
	defer release()
	m, err := r.OpenMeta(q.Rel)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	after, failed, err := m.SyncXattrs(q.Set, rootfs.Carried(q.Carried))
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", r.Path(), q.Rel, err)
	}
	if len(after) > agentproto.MaxXattrs {
		return nil, fmt.Errorf("%s/%s: %d extended attributes: %w", r.Path(), q.Rel, len(after), rootfs.ErrXattrsTooBig)
	}
	res := &agentproto.MetaResult{Entry: m.Info, Xattrs: after}
	for _, f := range failed {
		errno := syscall.EIO
		var e syscall.Errno
		if errors.As(f.Err, &e) {
			errno = e
		}
		res.Failed = append(res.Failed, f.Name)
		res.Errnos = append(res.Errnos, uint32(errno))
		res.Messages = append(res.Messages, f.Err.Error())
	}
	return res, nil
}
