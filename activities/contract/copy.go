package contract

import "time"

// Verify modes of a copy set.
const (
	VerifySHA256    = "sha256"
	VerifySizeMtime = "size_mtime"
)

// CopySet is one `copy` block of a plan.
type CopySet struct {
	Name    string   `json:"name"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Exclude []string `json:"exclude,omitempty"`
	Include []string `json:"include,omitempty"`
	Verify  string   `json:"verify"` // VerifySHA256 or VerifySizeMtime
	Delete  bool     `json:"delete,omitempty"`
	// BandwidthBytesPerSec limits the copy rate; 0 means unlimited.
	BandwidthBytesPerSec int64 `json:"bandwidth_bytes_per_sec,omitempty"`
	// Concurrency is the number of files in flight; 0 means the default.
	Concurrency int `json:"concurrency,omitempty"`
	// AcceptRefusals lists the refusal kinds (Refusal* constants) the plan
	// accepts: entries of those kinds are left out and listed, and the copy
	// still succeeds. Any other refusal fails the copy.
	AcceptRefusals []string `json:"accept_refusals,omitempty"`
	// Rehash is RehashNone or RehashAfterSwitch: hash every file again on
	// both hosts during soak, after the switch, off the window.
	Rehash string `json:"rehash,omitempty"`
	// Owners is OwnersByName ("" too) or OwnersNumeric.
	Owners string `json:"owners,omitempty"`
	// OwnerMap maps a source uid or gid (decimal) or user or group name
	// to the target's name (or number).
	OwnerMap map[string]string `json:"owner_map,omitempty"`
	// SELinux is SELinuxRelabel ("" too) or SELinuxKeep.
	SELinux string `json:"selinux,omitempty"`
	// SourceHost and TargetHost name the set's own hosts when the
	// application spans several (workflows.MoveInput.Hosts); empty means
	// the application's source and target. Activities take the hosts from
	// CopyInput.
	SourceHost string `json:"source_host,omitempty"`
	TargetHost string `json:"target_host,omitempty"`
}

// Owners and SELinux values of a copy set.
const (
	OwnersByName   = "name"
	OwnersNumeric  = "numeric"
	SELinuxRelabel = "relabel"
	SELinuxKeep    = "keep"
)

// MaxRefusalsListed bounds CopyResult.RefusalList so history stays small;
// RefusedByKind still counts every refusal.
const MaxRefusalsListed = 100

// Copy phases. PhaseFinalSync is also the name of a plan's final_sync
// block (plans.KindFinalSync, workflows.BlockFinalSync).
const (
	PhaseSeed      = "seed"
	PhaseFinalSync = "final_sync"
)

// CopyInput asks for one copy set to be brought up to date on the target.
type CopyInput struct {
	// MoveID is the workflow ID; it names the manifest on the target.
	MoveID string  `json:"move_id"`
	Phase  string  `json:"phase"` // PhaseSeed or PhaseFinalSync
	Source Host    `json:"source"`
	Target Host    `json:"target"`
	Set    CopySet `json:"set"`
	// Delete removes target files that are gone from the source; the
	// workflow sets it only for final_sync of a set with delete = true.
	Delete bool `json:"delete,omitempty"`
	// IdentState is the verified-identity state the last copy of this set
	// that wrote one reported (CopyResult.IdentState). The copy uses the
	// state file on the target only when its bytes hash to exactly this;
	// nil: every unchanged file is hashed on both hosts.
	IdentState *IdentState `json:"ident_state,omitempty"`
}

// IdentState binds a verified-identity state file on the target to
// workflow history: the SHA-256 of its bytes and its record count, never
// the records themselves.
type IdentState struct {
	SHA256  string `json:"sha256"`
	Records int64  `json:"records"`
}

// Valid reports whether s is well formed: 64 lower-case hex digits and a
// record count that is not negative.
func (s *IdentState) Valid() bool {
	if s == nil || len(s.SHA256) != 64 || s.Records < 0 {
		return false
	}
	for _, c := range s.SHA256 {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CopyResult is what history keeps of a copy: counts and digests only.
type CopyResult struct {
	Set   string `json:"set"`
	Phase string `json:"phase"`
	// Tree totals after the copy (what the source holds, after excludes).
	Files    int64 `json:"files"`
	Dirs     int64 `json:"dirs"`
	Symlinks int64 `json:"symlinks"`
	Bytes    int64 `json:"bytes"`
	// Work done by this run.
	CopiedFiles int64 `json:"copied_files"`
	CopiedBytes int64 `json:"copied_bytes"`
	Unchanged   int64 `json:"unchanged"`
	Deleted     int64 `json:"deleted"`
	Recopied    int64 `json:"recopied"` // verification mismatches fixed by a second copy
	// ResumedBytes counts bytes of partial files left by an earlier
	// attempt and kept (verified by both hosts' digests); ResentBytes the
	// bytes such files held that were sent again.
	ResumedBytes int64 `json:"resumed_bytes,omitempty"`
	ResentBytes  int64 `json:"resent_bytes,omitempty"`
	// Refused counts entries not copied for safety (escaping symlinks,
	// devices, bad names); Refusals holds the first few reasons.
	Refused  int64    `json:"refused"`
	Refusals []string `json:"refusals,omitempty"`
	// RefusedByKind counts refusals per kind; RefusalList names the first
	// MaxRefusalsListed of them.
	RefusedByKind map[string]int64 `json:"refused_by_kind,omitempty"`
	RefusalList   []Refusal        `json:"refusal_list,omitempty"`
	Excluded      int64            `json:"excluded"`
	Verify        string           `json:"verify"`
	Verified      int64            `json:"verified"`              // files whose digest the target confirmed
	VerifiedBy    string           `json:"verified_by,omitempty"` // "sha256sum", "read-back", "agent sha256" or "identity"
	// Kept counts unchanged files that kept the digest an earlier copy
	// verified, their identity (size, ns mtime, ctime, inode, device)
	// unchanged on both hosts since; they are neither read nor hashed.
	Kept int64 `json:"kept_verified,omitempty"`
	// IdentState is the verified-identity state file this copy wrote (a
	// seed or standby sync with verify = "sha256"); the next copy of the
	// set gets it in CopyInput.IdentState. nil: none was written.
	IdentState *IdentState `json:"ident_state,omitempty"`
	// IdentStateNote says why a state file was not used, e.g. "identity
	// state did not match the seed's digest: every file hashed".
	IdentStateNote string `json:"ident_state_note,omitempty"`
	// Manifest is a JSON Lines file on the target host (path, size, mode,
	// mtime, sha256 per entry); history keeps only its path and digest.
	ManifestPath    string        `json:"manifest_path"`
	ManifestSHA256  string        `json:"manifest_sha256"`
	ManifestEntries int64         `json:"manifest_entries"`
	Duration        time.Duration `json:"duration"`
	// BytesPerSec is CopiedBytes over Duration; the workflow uses it to
	// estimate final-sync time.
	BytesPerSec float64 `json:"bytes_per_sec"`
}

// CopyProgress is the heartbeat detail of a running copy.
type CopyProgress struct {
	Set         string  `json:"set"`
	Phase       string  `json:"phase"`
	FilesDone   int64   `json:"files_done"`
	FilesTotal  int64   `json:"files_total"`
	BytesDone   int64   `json:"bytes_done"`
	BytesTotal  int64   `json:"bytes_total"`
	BytesPerSec float64 `json:"bytes_per_sec"`
	// ETASeconds estimates the time left from the average rate; 0 while
	// the walk is still discovering work (totals still grow) or unknown.
	ETASeconds float64 `json:"eta_seconds,omitempty"`
	// Walking tells that the walk still discovers work: the totals are
	// what was found so far, not the final size.
	Walking bool `json:"walking,omitempty"`
	// Done lists nothing per file; resume relies on the target state
	// (size+mtime of finished files), so the heartbeat stays small.
}
