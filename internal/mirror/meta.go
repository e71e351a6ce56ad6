package mirror

import (
	"context"
	"fmt"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// fixMeta gives a target file the walk takes as unchanged (same size and
// mtime) the source's mode, and its owner when owners are copied: a chmod
// or chown moves neither.
func (r *run) fixMeta(ctx context.Context, e, old Entry) error {
	m := rootfs.Meta{}
	if old.Mode&0o7777 != e.Mode&0o7777 {
		m.SetMode, m.Mode = true, e.Mode
	}
	if r.opts.Owner && (old.UID != e.UID || old.GID != e.GID) {
		m.SetOwner, m.UID, m.GID = true, e.UID, e.GID
	}
	if !m.SetMode && !m.SetOwner {
		return nil
	}
	if r.dry {
		return nil
	}
	if err := r.dst.SetMeta(ctx, e.Name, m); err != nil && !r.refuseTarget(e.Name, err) {
		return fmt.Errorf("set mode or owner of %s on the target: %w", e.Name, err)
	}
	return nil
}
