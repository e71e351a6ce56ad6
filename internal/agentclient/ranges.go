package agentclient

import (
	"context"
	"fmt"
	"io"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Sums returns the SHA-256 of each chunk-sized piece of rel from off, at
// most n pieces (fewer at the file's end; n is capped at
// agentproto.MaxSums), and the file's size. key "" hashes rel itself
// (refused unless it matches expect, when given); a key hashes rel's
// partial copy, size -1 when there is none.
func (r *Root) Sums(ctx context.Context, rel, key string, expect *rootfs.Identity, off, chunk int64, n int) ([][32]byte, int64, error) {
	q := r.req(rel)
	q.Expect, q.Key, q.Offset, q.Chunk, q.Count = expect, key, off, chunk, uint32(min(n, agentproto.MaxSums))
	res, err := r.c.do(ctx, agentproto.TSums, q)
	if err != nil {
		return nil, 0, err
	}
	if len(res.Sums) > int(q.Count) {
		return nil, 0, fmt.Errorf("agent sums %q: %d digests, asked for %d", rel, len(res.Sums), q.Count)
	}
	return res.Sums, res.Size, nil
}

// WriteRange writes src's bytes from off into rel's partial copy for key
// (created when absent) and returns how many were written. The partial
// copy stays when the write fails or is canceled.
func (r *Root) WriteRange(ctx context.Context, rel, key string, off int64, src io.Reader) (int64, error) {
	q := r.req(rel)
	q.Key, q.Offset = key, off
	res, err := r.stream(ctx, agentproto.TWriteRange, q, rel, src)
	if err != nil {
		return 0, err
	}
	return res.Size, nil
}

// CommitResult is what CommitPartial found: the digest and size of the
// partial copy, and whether it was placed (its digest was the one asked
// for); Info is the placed file.
type CommitResult struct {
	Placed bool
	Size   int64
	SHA256 [32]byte
	Info   rootfs.Info
}

// HashPartial has the agent hash rel's partial copy for key from from
// (where the previous call ended, 0 at first) to to into the copy's
// running digest; it returns where the agent started (0 when it had to
// start over).
func (r *Root) HashPartial(ctx context.Context, rel, key string, from, to int64) (int64, error) {
	q := r.req(rel)
	q.Key, q.Offset, q.Length = key, from, to
	res, err := r.c.do(ctx, agentproto.THashPartial, q)
	if err != nil {
		return 0, err
	}
	return res.Size, nil
}

// CommitPartial truncates rel's partial copy for key to size, completes
// its running digest from hashed (see HashPartial) on the host and, only
// if the digest of the whole is want, gives it o and renames it over rel.
// Otherwise it stays for the next attempt.
func (r *Root) CommitPartial(ctx context.Context, rel, key string, hashed, size int64, want [32]byte, o WriteOptions) (CommitResult, error) {
	q := r.req(rel)
	q.Key, q.Offset, q.Length, q.Digest, q.Meta, q.Fsync = key, hashed, size, want, o.Meta, o.Fsync
	res, err := r.c.do(ctx, agentproto.TCommitPartial, q)
	if err != nil {
		return CommitResult{}, err
	}
	return CommitResult{Placed: !res.Changed, Size: res.Size, SHA256: res.SHA256, Info: res.Entry}, nil
}
