package workflows

import (
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// The rules in this file are decided once, here, and used by the workflows
// and by the commands alike, so a status, a summary and the workflow that
// produced them cannot disagree.

// IsFinal reports whether a move in this phase has ended: nothing changes
// its phase any more.
func IsFinal(phase string) bool {
	switch phase {
	case PhaseCommitted, PhaseFailed, PhaseRejected, PhaseExpired, PhaseRolledBack:
		return true
	}
	return false
}

// PastCutover reports whether the move has entered its cutover: from then
// on its window and cutover prediction no longer matter.
func (st Status) PastCutover() bool {
	if st.Phase == PhaseCutover || st.Phase == PhaseSoak {
		return true
	}
	for _, pc := range st.Phases {
		if pc.Phase == PhaseCutover {
			return true
		}
	}
	return false
}

// Committed reports whether the wave counts as committed: it ended and
// every application in it committed. A wave with no applications has
// nothing committed.
func (ws WaveStatus) Committed() bool {
	if len(ws.Phases) == 0 {
		return false
	}
	for _, ph := range ws.Phases {
		if ph != PhaseCommitted {
			return false
		}
	}
	return true
}

// CopyEstimate is how long copying a delta takes at bytesPerSec: the
// changed bytes at that rate, the unchanged bytes that must be hashed on
// both hosts, a round-trip cost per changed or deleted file and a fixed
// cost per copy set. The window check predicts each final sync with it and
// `umzug plan` estimates the seed with it, so both tell the same story.
// A rate of zero or less counts FallbackBytesPerSec.
func CopyEstimate(est contract.DeltaEstimate, bytesPerSec float64) time.Duration {
	if bytesPerSec <= 0 {
		bytesPerSec = FallbackBytesPerSec
	}
	d := time.Duration(float64(est.ChangedBytes) / bytesPerSec * float64(time.Second))
	// Unchanged files keep the digest seed verified; those that cannot
	// are hashed on both hosts at once (zero in histories from before).
	d += time.Duration(float64(est.HashBytes) / HashBytesPerSec * float64(time.Second))
	return d + time.Duration(est.ChangedFiles+est.DeletedFiles)*PerFileOverhead + PerSetOverhead
}
