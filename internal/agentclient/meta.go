package agentclient

import (
	"context"
	"fmt"
	"syscall"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// doMeta runs a metadata request, answered by one MetaResult.
func (c *Client) doMeta(ctx context.Context, t agentproto.Type, q *agentproto.MetaRequest) (*agentproto.MetaResult, error) {
	cl, err := c.startPayload(t, q.Encode())
	if err != nil {
		return nil, err
	}
	f, _, err := c.recv(ctx, cl, t.String(), q.Rel)
	if err != nil {
		return nil, err
	}
	if f.t != agentproto.TMetaResult {
		c.cancel(cl)
		return nil, fmt.Errorf("agent %s %q: unexpected %s frame", t, q.Rel, f.t)
	}
	res, err := agentproto.DecodeMetaResult(f.p)
	if err != nil {
		return nil, fmt.Errorf("agent %s %q: %w", t, q.Rel, err)
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
	res, err := c.doMeta(ctx, agentproto.TAccounts, &agentproto.MetaRequest{Accounts: q})
	if err != nil {
		return agentproto.AccountsAnswer{}, err
	}
	a := res.Accounts
	if len(a.UserNames) != len(q.UIDs) || len(a.GroupNames) != len(q.GIDs) || len(a.UserIDs) != len(q.Users) || len(a.GroupIDs) != len(q.Groups) {
		return a, fmt.Errorf("agent accounts: answer does not match the question")
	}
	return a, nil
}

// Xattrs returns the extended attributes of the regular file or directory
// rel, read through its descriptor, and the file as opened.
func (r *Root) Xattrs(ctx context.Context, rel string) ([]rootfs.Xattr, rootfs.Info, error) {
	res, err := r.c.doMeta(ctx, agentproto.TXattrs, &agentproto.MetaRequest{Root: r.handle, Rel: rel})
	if err != nil {
		return nil, rootfs.Info{}, err
	}
	return res.Xattrs, res.Entry, nil
}

// XattrError is one attribute the agent could not set or remove.
type XattrError struct {
	Name  string
	Errno syscall.Errno
	Msg   string
}

func (e *XattrError) Error() string { return e.Msg }
func (e *XattrError) Unwrap() error { return e.Errno }

// SetXattrs makes rel's attributes that carried names (names, or
// prefixes ending in ".") exactly want; it returns the attributes
// afterwards and an *XattrError for each that could not be set or removed.
func (r *Root) SetXattrs(ctx context.Context, rel string, want []rootfs.Xattr, carried []string) ([]rootfs.Xattr, []error, error) {
	if len(want) > agentproto.MaxXattrs || len(carried) > agentproto.MaxXattrs {
		return nil, nil, fmt.Errorf("set-xattrs %q: more than %d attributes", rel, agentproto.MaxXattrs)
	}
	res, err := r.c.doMeta(ctx, agentproto.TSetXattrs, &agentproto.MetaRequest{Root: r.handle, Rel: rel, Set: want, Carried: carried})
	if err != nil {
		return nil, nil, err
	}
	var failed []error
	for i, name := range res.Failed {
		failed = append(failed, &XattrError{Name: name, Errno: syscall.Errno(res.Errnos[i]), Msg: res.Messages[i]})
	}
	return res.Xattrs, failed, nil
}

// Accounts is the Client's Accounts, for the host holding the root.
func (r *Root) Accounts(ctx context.Context, q agentproto.AccountsQuery) (agentproto.AccountsAnswer, error) {
	return r.c.Accounts(ctx, q)
}
