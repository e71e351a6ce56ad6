package mirror

import (
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Spec is what one run copies and how strictly. The roots are the sides'.
type Spec struct {
	// Name names the copy set in messages.
	Name    string
	Include []string
	Exclude []string
	// Verify is contract.VerifySHA256 or contract.VerifySizeMtime.
	Verify string
	// Delete removes target entries the source does not have.
	Delete bool
	// Phase is contract.PhaseSeed or contract.PhaseFinalSync: a seed runs
	// while the application writes and accepts "changed" refusals.
	Phase          string
	AcceptRefusals []string
	// Concurrency is the number of files in flight; 0 means 16.
	Concurrency int
	// BandwidthBytesPerSec caps the bytes read from the source per second
	// over the whole run; 0 means unlimited.
	BandwidthBytesPerSec int64
	// State is the identity state on the target side; its zero value
	// means none is read or written.
	State StateRef
	// Owners is contract.OwnersByName ("" too: the target's ids of the
	// source's names) or contract.OwnersNumeric; OwnerMap maps a source
	// uid or gid (decimal) or name to a target name or number. Both need
	// Options.SrcMeta and DstMeta, without which ids are copied as numbers.
	Owners   string
	OwnerMap map[string]string
	// SELinux is contract.SELinuxRelabel ("" too) or contract.SELinuxKeep.
	SELinux string
}

// StateRef names the identity state and, for a run that may trust it, the
// digest and record count a previous run returned (kept by the caller
// somewhere the target host cannot change).
type StateRef struct {
	// Name is the blob's name on the target side; "" disables the state.
	Name string
	// SHA256 (hex) and Records are what a previous run's Result said;
	// empty SHA256 means there is nothing to trust yet.
	SHA256  string
	Records int64
}

// Options tune a run without changing what it copies.
type Options struct {
	// Owner sets each entry's owner from the source (needs root on the
	// target); without it entries belong to whoever the target side runs as.
	Owner bool
	// ProgressEvery is how often the Observer hears; 0 means one second.
	ProgressEvery time.Duration
	// MaxTargetEntries bounds the entries of the target walk the run
	// indexes; 0 means DefaultMaxTargetEntries.
	MaxTargetEntries int
	// NoSync skips the target's Sync before the state is written (tests).
	NoSync bool
	// Big tunes the copy of big files (bigfile.go).
	Big BigOptions
	// SrcMeta and DstMeta are the sides' MetaSide (passed apart since a
	// side may be wrapped): with both, owners travel by name and ACLs and
	// extended attributes are carried (xmeta.go).
	SrcMeta, DstMeta MetaSide
	// OnMeta hears, from several goroutines, the metadata verified on the
	// target for each regular file, directory and symlink.
	OnMeta func(rel string, m MetaRecord)
}

// Progress is what an Observer receives.
type Progress struct {
	FilesDone, FilesTotal int64 // files copied or hashed / queued for that
	BytesDone, BytesTotal int64
	// Walking: the source walk still discovers work, totals still grow.
	Walking bool
}

// Observer hears a run's progress, from one goroutine at a time.
type Observer interface {
	Progress(Progress)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Progress)

func (f ObserverFunc) Progress(p Progress) { f(p) }

// Verified-by values of Result.VerifiedBy.
const (
	// VerifiedByDigests: every copied or hashed file's digest on the source
	// as read equals the target's as written or hashed.
	VerifiedByDigests = "digests"
	// VerifiedByIdentity: no file needed reading; each kept the digest
	// of the trusted identity state.
	VerifiedByIdentity = "identity"
)

// Result counts what a run did: the fields of contract.CopyResult that do
// not depend on the transport, and no per-file data beyond a bounded list
// of refusals.
type Result struct {
	// Tree totals after the run (what the source holds, after excludes).
	Files, Dirs, Symlinks, Bytes int64
	// Work done.
	CopiedFiles, CopiedBytes int64
	Unchanged                int64 // regular files that needed no copy
	Kept                     int64 // unchanged files kept by the identity state, not read
	Deleted                  int64
	Recopied                 int64 // unchanged by size and mtime, yet their digests differed
	// ResumedBytes: bytes of partial copies an earlier attempt left and
	// this one kept; ResentBytes: bytes of them sent again (bigfile.go).
	ResumedBytes, ResentBytes int64
	Excluded                  int64
	Verified                  int64 // files whose digests agreed on both sides
	VerifiedBy                string
	Refused                   int64
	RefusedByKind             map[string]int64
	RefusalList               []contract.Refusal // the first contract.MaxRefusalsListed
	// Notes are remarks that are not refusals (files that vanished).
	Notes []string
	// The identity state: written by a seed with verify = "sha256" (the
	// caller keeps SHA256 and Records for the next run), or what was
	// trusted. StateTrusted says whether a given state was used.
	StateSHA256  string
	StateRecords int64
	StateTrusted bool
	Duration     time.Duration
}

// Plan is what a run would do, found without writing anything.
type Plan struct {
	Files, Dirs, Symlinks, Bytes int64
	CopyFiles, CopyBytes         int64 // new or changed files
	HashFiles, HashBytes         int64 // unchanged files that would be hashed on both sides
	Kept                         int64 // unchanged files the identity state would keep
	Delete                       int64 // target entries a delete would remove
	Excluded                     int64
	Refused                      int64
	RefusedByKind                map[string]int64
	StateTrusted                 bool
	// Owners is how the source's owners land on the target (with
	// Options.SrcMeta and DstMeta).
	Owners []OwnerMapping
}
