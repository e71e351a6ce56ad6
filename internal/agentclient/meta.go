package agentclient

import (
	"context"
	"fmt"
	"syscall"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// doMeta runs a metadata request, answered by one MetaResult.
func (c *Client) doMeta(ctx context.Context, t agentproto.Type, q *agentproto.MetaRequest, rel string) (*agentproto.MetaResult, error) {
	cl, err := c.startPayload(t, q.Encode())
	if err != nil {
		return nil, err
	}
	f, _, err := c.recv(ctx, cl, t.String(), rel)
	if err != nil {
		return nil, err
	}
	if f.t != agentproto.TMetaResult {
		c.cancel(cl)
		return nil, fmt.Errorf("agent %s %q: unexpected %s frame", t, rel, f.t)
	}
	res, err := agentproto.DecodeMetaResult(f.p)
	if err != nil {
		return nil, fmt.Errorf("agent %s %q: %w", t, rel, err)
	}
	return &res, nil
}

// Accounts asks the host for the names of uids and gids and the ids of
// user and group names, from its own passwd and group files; the answer
// is checked to hold one value for each question.
func (c *Client) Accounts(ctx context.Context, q agentproto.AccountsQuery) (agentproto.AccountsAnswer, error) {
	for _, n := range [...]int{len(q.UIDs), len(q.GIDs), len(q.Users), len(q.Groups)} {
		if n > agentproto.MaxAccountQuery {
			return agentproto.AccountsAnswer{}, fmt.Errorf("accounts query of %d entries, at most %d", n, agentproto.MaxAccountQuery)
		}
	}
	res, err := c.doMeta(ctx, agentproto.TAccounts, &agentproto.MetaRequest{Accounts: q}, "")
	if err != nil {
		return agentproto.AccountsAnswer{}, err
	}
	a := res.Accounts
	if len(a.UserNames) != len(q.UIDs) || len(a.GroupNames) != len(q.GIDs) || len(a.UserIDs) != len(q.Users) || len(a.GroupIDs) != len(q.Groups) {
		return a, fmt.Errorf("agent accounts: answer does not match the question")
	}
	return a, nil
}

// MetaOutcome is one name's answer: its attributes (afterwards, for
// SetXattrs) and the attributes that failed, or Err (an *Error).
type MetaOutcome struct {
	Xattrs []rootfs.Xattr
	Failed []error // *XattrError
	Err    error
}

// XattrError is one attribute the agent could not set or remove.
type XattrError struct {
	Name  string
	Errno syscall.Errno
	Msg   string
}

func (e *XattrError) Error() string { return e.Msg }
func (e *XattrError) Unwrap() error { return e.Errno }

// Xattrs returns the extended attributes of each regular file or
// directory of rels, read through its descriptor, in as few requests as
// the frames allow.
func (r *Root) Xattrs(ctx context.Context, rels []string) ([]MetaOutcome, error) {
	return r.metaBatch(ctx, agentproto.TXattrs, rels, nil, nil)
}

// SetXattrs makes each of rels hold exactly its wants of the attributes
// carried names (names, or prefixes ending in "."); each outcome holds
// the attributes afterwards and those that could not be set or removed.
func (r *Root) SetXattrs(ctx context.Context, rels []string, wants [][]rootfs.Xattr, carried []string) ([]MetaOutcome, error) {
	if len(wants) != len(rels) || len(carried) > agentproto.MaxXattrs {
		return nil, fmt.Errorf("set-xattrs: %d names, %d attribute lists, %d carried", len(rels), len(wants), len(carried))
	}
	return r.metaBatch(ctx, agentproto.TSetXattrs, rels, wants, carried)
}

// metaRequestMax bounds a request's payload below the frame limit.
const metaRequestMax = agentproto.MaxPayload - 64<<10

func (r *Root) metaBatch(ctx context.Context, t agentproto.Type, rels []string, wants [][]rootfs.Xattr, carried []string) ([]MetaOutcome, error) {
	out := make([]MetaOutcome, 0, len(rels))
	for len(out) < len(rels) {
		q := &agentproto.MetaRequest{Root: r.handle, Carried: carried}
		size := 1024
		for i := len(out); i < len(rels) && len(q.Rels) < agentproto.MaxMetaBatch; i++ {
			n := 8 + len(rels[i])
			if wants != nil {
				if len(wants[i]) > agentproto.MaxXattrs {
					return nil, fmt.Errorf("set-xattrs %q: %d attributes, at most %d", rels[i], len(wants[i]), agentproto.MaxXattrs)
				}
				for _, x := range wants[i] {
					n += 8 + len(x.Name) + len(x.Value)
				}
			}
			if size+n > metaRequestMax && len(q.Rels) > 0 {
				break
			}
			size += n
			q.Rels = append(q.Rels, rels[i])
			if wants != nil {
				q.Wants = append(q.Wants, wants[i])
			}
		}
		rel := q.Rels[0]
		res, err := r.c.doMeta(ctx, t, q, rel)
		if err != nil {
			return nil, err
		}
		if len(res.Items) == 0 || len(res.Items) > len(q.Rels) {
			return nil, fmt.Errorf("agent %s: %d answers for %d names", t, len(res.Items), len(q.Rels))
		}
		for k, it := range res.Items {
			o := MetaOutcome{Xattrs: it.Xattrs}
			if !it.OK() {
				o = MetaOutcome{Err: &Error{Op: t.String(), Rel: q.Rels[k], Code: it.Code, Message: it.Message}}
			}
			for f, name := range it.Failed {
				o.Failed = append(o.Failed, &XattrError{Name: name, Errno: syscall.Errno(it.Errnos[f]), Msg: it.Messages[f]})
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// Accounts is the Client's Accounts, for the host holding the root.
func (r *Root) Accounts(ctx context.Context, q agentproto.AccountsQuery) (agentproto.AccountsAnswer, error) {
	return r.c.Accounts(ctx, q)
}
