package contract

// NameOffloadJobs is the activity that claims, releases, archives and
// discards the jobs of an offload on one host (activities/offload.go).
const NameOffloadJobs = "OffloadJobs"

// Offload operations.
const (
	// OffloadClaim moves the selected jobs from the queue root into the
	// offload's claimed area (OffloadArea/<key>/claimed), each with one
	// renameat that never replaces; jobs claimed by an earlier attempt
	// count and are reported again.
	OffloadClaim = "claim"
	// OffloadRelease moves every claimed job not in Keep back to its
	// place in the queue.
	OffloadRelease = "release"
	// OffloadArchive moves the claimed jobs in Jobs to the offload's
	// archive area and writes Record next to them (record.json).
	OffloadArchive = "archive"
	// OffloadLanded writes the job list of a landed offload on the
	// partner (Root is the landing directory) for intake and done.
	OffloadLanded = "landed"
	// OffloadDiscard removes the jobs in Jobs (all when empty) from the
	// partner's landing directory <Root>/<Key>.
	OffloadDiscard = "discard"
)

// OffloadArea is the directory under the queue root (the copy set's
// from) that holds every offload's claimed and archived jobs.
const OffloadArea = ".umzug-offload"

// MaxJobIDBytes bounds a job ID (its path under the queue root); jobs
// with longer or unsafe names are left in the queue and listed.
const MaxJobIDBytes = 200

// OffloadJobsInput is one operation on one host.
type OffloadJobsInput struct {
	Host Host   `json:"host"`
	Op   string `json:"op"`
	// Root is the queue root on the source (claim, release, archive), or
	// the landing directory on the partner (landed, discard).
	Root string `json:"root"`
	// Key names this offload's directories.
	Key string `json:"key"`
	// Select are the plan's globs under Root; Narrow the command line's
	// glob, which each job must match as well. SelectList is a job-list
	// file on the source instead of Select.
	Select     []string `json:"select,omitempty"`
	Narrow     string   `json:"narrow,omitempty"`
	SelectList string   `json:"select_list,omitempty"`
	MaxJobs    int      `json:"max_jobs,omitempty"`
	MaxBytes   int64    `json:"max_bytes,omitempty"`
	// Jobs are the job IDs an archive, landed or discard is about; Keep
	// the ones a release leaves claimed (the partner took them in).
	Jobs []string `json:"jobs,omitempty"`
	Keep []string `json:"keep,omitempty"`
	// Record is the archive's record of the offload (JSON).
	Record string `json:"record,omitempty"`
}

// OffloadJob is one claimed job.
type OffloadJob struct {
	ID    string `json:"id"`
	Dir   bool   `json:"dir,omitempty"`
	Bytes int64  `json:"bytes"`
	Files int64  `json:"files"`
	// SHA256 is the file's digest, or for a directory the digest of its
	// sorted listing of "path NUL type NUL sha256-or-link-target".
	SHA256 string `json:"sha256"`
}

// OffloadJobsResult is what the operation did.
type OffloadJobsResult struct {
	Jobs []OffloadJob `json:"jobs,omitempty"`
	// Done lists the job IDs the operation moved or found already moved.
	Done []string `json:"done,omitempty"`
	// Left lists jobs left where they were, each with why (a name that
	// is not safe, over a limit, a place that is taken).
	Left []string `json:"left,omitempty"`
	// Over counts the selected jobs left in the queue by the limits.
	Over int `json:"over,omitempty"`
}
