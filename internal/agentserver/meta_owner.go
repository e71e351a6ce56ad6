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

// metaAnswerMax is what a batch answer holds at most: items past it are
// left for the client to ask again.
const metaAnswerMax = agentproto.MaxPayload - 64<<10

// batch answers each name with fn until the answer is full. An item too
// big for any answer is answered with its error.
func (s *server) batch(q *agentproto.MetaRequest, change bool, fn func(r *rootfs.Root, i int, it *agentproto.MetaItem) error) (*agentproto.MetaResult, error) {
	r, release, err := s.root(&agentproto.Request{Root: q.Root}, change)
	if err != nil {
		return nil, err
	}
	defer release()
	res := &agentproto.MetaResult{}
	size := 64
	for i := range q.Rels {
		var it agentproto.MetaItem
		if err := fn(r, i, &it); err != nil {
			e := toError(err)
			it = agentproto.MetaItem{Code: e.Code, Message: e.Message}
			if e.Message == "" {
				it.Message = "failed"
			}
		}
		n := agentproto.MetaItemSize(&it)
		if n > metaAnswerMax {
			e := toError(fmt.Errorf("%s/%s: %w", r.Path(), q.Rels[i], rootfs.ErrXattrsTooBig))
			it = agentproto.MetaItem{Code: e.Code, Message: e.Message}
			n = agentproto.MetaItemSize(&it)
		}
		if size+n > metaAnswerMax && len(res.Items) > 0 {
			break
		}
		size += n
		res.Items = append(res.Items, it)
	}
	return res, nil
}

func (s *server) xattrs(q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	return s.batch(q, false, func(r *rootfs.Root, i int, it *agentproto.MetaItem) error {
		m, err := r.OpenMeta(q.Rels[i])
		if err != nil {
			return err
		}
		defer m.Close()
		x, err := m.Xattrs()
		if err != nil {
			return fmt.Errorf("%s/%s: %w", r.Path(), q.Rels[i], err)
		}
		if len(x) > agentproto.MaxXattrs {
			return fmt.Errorf("%s/%s: %d extended attributes: %w", r.Path(), q.Rels[i], len(x), rootfs.ErrXattrsTooBig)
		}
		it.Xattrs = x
		return nil
	})
}

// setXattrs makes each name's carried attributes those asked for; each
// failure is answered (a file system without ACLs refuses only those).
func (s *server) setXattrs(q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	if len(q.Wants) != len(q.Rels) {
		return nil, fmt.Errorf("%w: %d names with %d attribute lists", errProtocol, len(q.Rels), len(q.Wants))
	}
	carried := rootfs.Carried(q.Carried)
	return s.batch(q, true, func(r *rootfs.Root, i int, it *agentproto.MetaItem) error {
		m, err := r.OpenMeta(q.Rels[i])
		if err != nil {
			return err
		}
		defer m.Close()
		after, failed, err := m.SyncXattrs(q.Wants[i], carried)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", r.Path(), q.Rels[i], err)
		}
		if len(after) > agentproto.MaxXattrs {
			return fmt.Errorf("%s/%s: %d extended attributes: %w", r.Path(), q.Rels[i], len(after), rootfs.ErrXattrsTooBig)
		}
		it.Xattrs = after
		for _, f := range failed {
			errno := syscall.EIO
			var e syscall.Errno
			if errors.As(f.Err, &e) {
				errno = e
			}
			it.Failed = append(it.Failed, f.Name)
			it.Errnos = append(it.Errnos, uint32(errno))
			it.Messages = append(it.Messages, f.Err.Error())
		}
		return nil
	})
}
