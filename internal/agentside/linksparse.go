package agentside

import (
	"context"
	"fmt"

	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// readSparse is read for a writer that takes holes: the agent sends the
// data extents and the holes' lengths.
func (s *Side) readSparse(ctx context.Context, rel string, want rootfs.Identity, w rootfs.HoleWriter) (mirror.Read, error) {
	res, err := s.root.ReadSparse(ctx, rel, &want, w)
	if err != nil {
		return mirror.Read{}, err
	}
	if res.Changed {
		return mirror.Read{}, fmt.Errorf("changed while it was copied: %w",
			&rootfs.IdentityError{Path: s.root.Path + "/" + rel, Want: want, Got: res.Info.Identity()})
	}
	return mirror.Read{Sum: res.SHA256, Size: res.Size, Info: res.Info}, nil
}

// Link makes newRel a further name of the regular file oldRel on the
// target host, beneath the root.
func (s *Side) Link(ctx context.Context, oldRel, newRel string, want rootfs.Identity) (rootfs.Info, error) {
	return s.root.Link(ctx, oldRel, newRel, want)
}

// FirstHole returns the offset of rel's first hole, its size if none.
func (s *Side) FirstHole(ctx context.Context, rel string, want rootfs.Identity) (int64, error) {
	return s.root.FirstHole(ctx, rel, &want)
}

var _ mirror.Linker = (*Side)(nil)
