package activities

import (
	"context"
	"sync"

	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// metaRecords collects what the metadata pass verified, for the manifest.
type metaRecords struct {
	mu sync.Mutex
	m  map[string]mirror.MetaRecord
}

func (m *metaRecords) add(rel string, r mirror.MetaRecord) {
	m.mu.Lock()
	m.m[rel] = r
	m.mu.Unlock()
}

// progressMeta counts each answered metadata request as progress: the
// metadata pass streams no bytes, yet it advances.
type progressMeta struct {
	mirror.MetaSide
	p *progress
}

func (s progressMeta) Accounts(ctx context.Context, q mirror.AccountsQuery) (mirror.AccountsAnswer, error) {
	defer s.p.moved.Add(1)
	return s.MetaSide.Accounts(ctx, q)
}

func (s progressMeta) Xattrs(ctx context.Context, rels []string) ([]mirror.XattrsOf, error) {
	defer s.p.moved.Add(int64(len(rels)))
	return s.MetaSide.Xattrs(ctx, rels)
}

func (s progressMeta) SyncXattrs(ctx context.Context, rels []string, wants [][]rootfs.Xattr, carried []string) ([]mirror.XattrsOf, error) {
	defer s.p.moved.Add(int64(len(rels)))
	return s.MetaSide.SyncXattrs(ctx, rels, wants, carried)
}
