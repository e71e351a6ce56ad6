package activities

import (
	"context"
)

// EstimateDelta scans both trees without writing anything and reports what
// a copy would transfer now: every regular file that is new on the source
// or differs in size or mtime (content is not hashed), and with in.Delete
// the target entries a copy would remove (files, symlinks and directories,
// counted recursively). A missing target root means everything changed.
// Stale temporary files are neither counted nor removed. With verify =
// "sha256", HashFiles and HashBytes are the unchanged files a sync would
// still hash on both hosts: those without an identity kept since the seed
// verified them (see copy_ident_state.go).
func (a *Activities) EstimateDelta(ctx context.Context, in CopyInput) (DeltaEstimate, error) {
	if a.agentEngine() {
		if est, ok, err := a.estimateDeltaAgent(ctx, in); ok || err != nil {
			return est, err
		}
	}
	e, err := a.newEngine(ctx, in, true)
	if err != nil {
		return DeltaEstimate{}, permanent(err)
	}
	defer e.close()
	if _, err := e.run(ctx); err != nil {
		return DeltaEstimate{}, permanent(err)
	}
	return DeltaEstimate{
		Set:          in.Set.Name,
		SourceFiles:  e.files.Load(),
		SourceBytes:  e.bytes.Load(),
		ChangedFiles: e.changedFiles.Load(),
		ChangedBytes: e.changedBytes.Load(),
		DeletedFiles: e.deleted.Load(),
		HashFiles:    e.hashFiles.Load(),
		HashBytes:    e.hashBytes.Load(),
	}, nil
}
