package mirror

import (
	"fmt"

	"github.com/umzug-dev/umzug/activities/contract"
)

// CopyResult fills the transport-independent part of a
// contract.CopyResult; the adapter adds the manifest and rates.
func (r Result) CopyResult(set, phase, verify string) contract.CopyResult {
	c := contract.CopyResult{
		Set: set, Phase: phase, Verify: verify,
		Files: r.Files, Dirs: r.Dirs, Symlinks: r.Symlinks, Bytes: r.Bytes,
		CopiedFiles: r.CopiedFiles, CopiedBytes: r.CopiedBytes, Unchanged: r.Unchanged,
		Deleted: r.Deleted, Recopied: r.Recopied, Refused: r.Refused,
		RefusedByKind: r.RefusedByKind, RefusalList: r.RefusalList,
		Excluded: r.Excluded, Verified: r.Verified, VerifiedBy: r.VerifiedBy, Kept: r.Kept,
		Duration: r.Duration, ResumedBytes: r.ResumedBytes, ResentBytes: r.ResentBytes,
	}
	c.Refusals = append(c.Refusals, r.Notes...)
	for _, f := range r.RefusalList {
		if len(c.Refusals) >= contract.MaxRefusalsListed {
			break
		}
		c.Refusals = append(c.Refusals, fmt.Sprintf("%q: %s", f.Path, f.Reason))
	}
	if s := r.Duration.Seconds(); s > 0 {
		c.BytesPerSec = float64(r.CopiedBytes) / s
	}
	return c
}
