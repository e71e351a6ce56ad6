package contract

import "time"

// Rehash modes of a copy set (CopySet.Rehash).
const (
	// RehashNone: the final sync's digests stand as verified (files
	// unchanged since seed keep the digest seed verified, by identity).
	RehashNone = ""
	// RehashAfterSwitch: during soak, off the window, every file of the
	// final sync's manifest is hashed again on both hosts; a mismatch fails
	// the soak, which rolls back.
	RehashAfterSwitch = "after_switch"
)

// RehashInput names the final sync whose manifest is checked; its digest
// comes from history, so a manifest changed on the target is refused.
type RehashInput struct {
	Copy           CopyInput `json:"copy"`
	ManifestSHA256 string    `json:"manifest_sha256"`
}

// RehashResult is what history keeps of a re-hash: counts only.
type RehashResult struct {
	Set           string        `json:"set"`
	Files         int64         `json:"files"`
	Bytes         int64         `json:"bytes"`
	TargetChecked int64         `json:"target_checked"`
	TargetSkipped int64         `json:"target_skipped"` // changed on the target since (by the application)
	Duration      time.Duration `json:"duration"`
}
