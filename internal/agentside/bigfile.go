package agentside

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"

	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

var (
	_ mirror.RangeSource   = (*Side)(nil)
	_ mirror.PartialTarget = (*Side)(nil)
)

func (s *Side) ReadRange(ctx context.Context, rel string, want rootfs.Identity, off, length int64, w io.Writer) (mirror.Read, error) {
	res, err := s.root.Read(ctx, rel, &want, off, length, w)
	if err != nil {
		return mirror.Read{}, err
	}
	if res.Changed {
		return mirror.Read{}, &rootfs.IdentityError{Path: s.root.Path + "/" + rel, Want: want, Got: res.Info.Identity()}
	}
	return mirror.Read{Sum: res.SHA256, Size: res.Size, Info: res.Info}, nil
}

func (s *Side) ChunkSums(ctx context.Context, rel string, want rootfs.Identity, off, chunk int64, n int) ([][32]byte, error) {
	sums, _, err := s.root.Sums(ctx, rel, "", &want, off, chunk, n)
	return sums, err
}

func (s *Side) PartialSums(ctx context.Context, rel, key string, off, chunk int64, n int) ([][32]byte, int64, error) {
	return s.root.Sums(ctx, rel, key, nil, off, chunk, n)
}

func (s *Side) WriteRange(ctx context.Context, rel, key string, off int64, r io.Reader) (int64, error) {
	return s.root.WriteRange(ctx, rel, key, off, r)
}

func (s *Side) HashPartial(ctx context.Context, rel, key string, from, to int64) error {
	_, err := s.root.HashPartial(ctx, rel, key, from, to)
	return err
}

func (s *Side) CommitPartial(ctx context.Context, rel, key string, hashed, size int64, want [32]byte, meta rootfs.Meta) (mirror.Placed, bool, error) {
	cr, err := s.root.CommitPartial(ctx, rel, key, hashed, size, want, agentclient.WriteOptions{Meta: meta, Fsync: s.fsync})
	if err != nil {
		return mirror.Placed{}, false, err
	}
	cr.Info.Name = rel
	return mirror.Placed{Sum: cr.SHA256, Size: cr.Size, Info: cr.Info}, cr.Placed, nil
}

func (s *Side) RemovePartial(ctx context.Context, rel, key string) error {
	name, err := agentproto.PartialName(key, path.Base(rel))
	if err != nil {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		name = dir + "/" + name
	}
	if err := s.root.Remove(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
