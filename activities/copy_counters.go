package activities

// result gathers the counters of a copy (so far) into a CopyResult.
func (e *engine) result() CopyResult {
	r := CopyResult{
		Set: e.in.Set.Name, Phase: e.in.Phase,
		Files: e.files.Load(), Dirs: e.dirs.Load(), Symlinks: e.symlinks.Load(), Bytes: e.bytes.Load(),
		CopiedFiles: e.copiedFiles.Load(), CopiedBytes: e.copiedBytes.Load(),
		Unchanged: e.unchanged.Load(), Deleted: e.deleted.Load(), Recopied: e.recopied.Load(),
		Excluded: e.excluded.Load(),
		Verify:   VerifySizeMtime,
		Verified: e.verified.Load(),
		Kept:     e.kept.Load(),
	}
	if e.opt.verifySHA {
		r.Verify = VerifySHA256
		bySum, byRead := e.verSum.Load(), e.verRead.Load()
		switch {
		case bySum > 0 && byRead > 0:
			r.VerifiedBy = verifiedBySum + "+" + verifiedByReadBack
		case bySum > 0:
			r.VerifiedBy = verifiedBySum
		case byRead > 0:
			r.VerifiedBy = verifiedByReadBack
		case r.Kept > 0:
			r.VerifiedBy = verifiedByIdentity
		default:
			r.VerifiedBy = ""
		}
	}
	e.refMu.Lock()
	r.IdentState, r.IdentStateNote = e.stateOut, e.stateNote
	e.refMu.Unlock()
	e.fillRefusals(&r)
	return r
}
