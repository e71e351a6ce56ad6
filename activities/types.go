package activities

import (
	"time"

	"github.com/umzug-dev/umzug/internal/refusal"
)

// Host says how to reach one SSH host. It holds paths, never key material.
type Host struct {
	Name         string `json:"name"`
	Address      string `json:"address"` // host:port
	User         string `json:"user"`
	IdentityFile string `json:"identity_file,omitempty"`
	Agent        bool   `json:"agent,omitempty"`
	KnownHosts   string `json:"known_hosts"`
	Jump         *Host  `json:"jump,omitempty"`
	// Datacenter is informational (audit, status).
	Datacenter string `json:"datacenter,omitempty"`
	// Queue is the task queue of the workers that can reach this host;
	// empty means the default queue.
	Queue string `json:"queue,omitempty"`
}

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
}

// Refusal kinds: why a source entry was not copied. A copy fails when it
// refused an entry whose kind the copy set does not accept, so a move never
// commits while the target lacks something it was not told to leave out.
const (
	RefusalUnreadable      = refusal.Unreadable      // a file or directory the SSH user cannot read or list
	RefusalEscapingSymlink = refusal.EscapingSymlink // absolute, or resolving outside the copy root
	RefusalDevice          = refusal.Device          // block or character device
	RefusalSocket          = refusal.Socket
	RefusalFIFO            = refusal.FIFO
	RefusalReservedName    = refusal.ReservedName // .umzug-tmp.* names are the engine's temporary files
	RefusalBadName         = refusal.BadName      // a name the target cannot hold
	RefusalChanged         = refusal.Changed      // type or identity changed between listing and reading
	// RefusalTargetConflict: the source entry is now a file or symlink
	// where the target has a directory holding entries of its own, which
	// a copy without delete never removes.
	RefusalTargetConflict = refusal.TargetConflict
)

// RefusalKinds lists every refusal kind, for plan validation and docs. The
// list lives in internal/refusal so the plan loader shares it without
// importing the copy engine.
var RefusalKinds = refusal.Kinds

// Refusal is one source entry that was not copied.
type Refusal struct {
	Path     string `json:"path"` // relative to the copy root
	Kind     string `json:"kind"` // a Refusal* constant
	Reason   string `json:"reason"`
	Accepted bool   `json:"accepted,omitempty"` // the copy set accepts this kind
}

// MaxRefusalsListed bounds CopyResult.RefusalList so history stays small;
// RefusedByKind still counts every refusal.
const MaxRefusalsListed = 100

// Copy phases.
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
	VerifiedBy    string           `json:"verified_by,omitempty"` // "sha256sum", "read-back" or "identity"
	// Kept counts unchanged files that kept the digest an earlier copy
	// verified, their identity (size, ns mtime, ctime, inode, device)
	// unchanged on both hosts since; they are neither read nor hashed.
	Kept int64 `json:"kept_verified,omitempty"`
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

// CommandInput runs one shell command on one host.
type CommandInput struct {
	Host    Host          `json:"host"`
	Command string        `json:"command"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Purpose says why, for logs and audit: "step stop_app", "undo stop_app",
	// "check health (attempt 3)".
	Purpose string `json:"purpose"`
	// Secrets names the sensitive plan variables the command refers to as
	// ${UMZUG_SECRET_<name>}. The worker resolves their values from its own
	// environment or secrets file and hands them to the remote shell outside
	// the command line, so only the names travel through history.
	Secrets []string `json:"secrets,omitempty"`
}

// SecretEnvPrefix prefixes the shell variable (and the worker's environment
// variable) that carries a sensitive plan variable's value.
const SecretEnvPrefix = "UMZUG_SECRET_"

// CommandResult is the outcome of a command. A non-zero exit is a result,
// not an error: the workflow decides what it means.
type CommandResult struct {
	Host     string    `json:"host"`
	Address  string    `json:"address"`
	Command  string    `json:"command"`
	ExitCode int       `json:"exit_code"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Output tails, capped so history stays small; secret values are
	// replaced by (sensitive).
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// ProcessGroup is the command's process group on the host.
	ProcessGroup int `json:"process_group,omitempty"`
	// Attempts lists every activity attempt that touched the command, as
	// recorded on the host: the one that started it and any that took
	// over its result after a lost worker or connection.
	Attempts []CommandAttempt `json:"attempts,omitempty"`
}

// CommandAttempt is one activity attempt of a command.
type CommandAttempt struct {
	Attempt  int       `json:"attempt"`
	Host     string    `json:"host"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	// ExitCode is the command's exit status as this attempt saw it; -1
	// when the attempt ended first or the command was killed.
	ExitCode int `json:"exit_code"`
	// TakenOver: this attempt did not run the command again but waited for
	// the run an earlier attempt started.
	TakenOver bool   `json:"taken_over,omitempty"`
	Note      string `json:"note,omitempty"`
}

// PreflightInput lists what a move will touch.
type PreflightInput struct {
	MoveID string    `json:"move_id"`
	Source Host      `json:"source"`
	Target Host      `json:"target"`
	Copies []CopySet `json:"copies"`
	// Commands are the first words of every step, undo and check command,
	// per side ("source"/"target"), so preflight can check they exist.
	SourceCommands []string `json:"source_commands,omitempty"`
	TargetCommands []string `json:"target_commands,omitempty"`
}

// PreflightResult is what preflight found; it writes nothing.
type PreflightResult struct {
	SourceFingerprint string   `json:"source_fingerprint"` // SHA256:... of the verified host key
	TargetFingerprint string   `json:"target_fingerprint"`
	SourceFiles       int64    `json:"source_files"`
	SourceBytes       int64    `json:"source_bytes"`
	TargetFreeBytes   int64    `json:"target_free_bytes"` // -1 when unknown
	TargetHasSHA256   bool     `json:"target_has_sha256sum"`
	Warnings          []string `json:"warnings,omitempty"`
}
