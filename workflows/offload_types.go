package workflows

import (
	"strings"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Offload: one hand-over of jobs from the application's source to its
// target (the partner site) for production there (offload.go).
const (
	OffloadWorkflow = "umzug.Offload"

	// SignalAccept and SignalRefuse are the partner's decision on a
	// hand-over ({"by", "comment", "signature", "signed_at"}); each is a
	// signal and an update of the same name.
	SignalAccept = "accept"
	SignalRefuse = "refuse"
)

// Offload phases, in order; OffloadDone, OffloadReleased, OffloadFailed
// and OffloadCancelled end the workflow.
const (
	OffloadClaiming   = "claiming"
	OffloadCopying    = "copying"
	OffloadAwaiting   = "awaiting_acceptance"
	OffloadIntake     = "intake"
	OffloadProducing  = "producing"
	OffloadReturning  = "returning"
	OffloadArchiving  = "archiving"
	OffloadDone       = "done"
	OffloadReleased   = "released"
	OffloadFailed     = "failed"
	OffloadCancelled  = "cancelled"
	offloadNothingDue = "nothing selected"
)

// OffloadID names an offload started at t (UTC, to the second).
func OffloadID(plan, application string, t time.Time) string {
	return MoveID(plan, application) + "/offload/" + t.UTC().Format("20060102T150405Z")
}

// IsOffloadID reports whether id names an offload.
func IsOffloadID(id string) bool { return strings.Contains(id, "/offload/") }

// OffloadInput is everything one hand-over needs; plain data, no secrets.
type OffloadInput struct {
	Subject
	Offload string `json:"offload"`
	// Queue is the queue root on the source (the copy set's from).
	Queue      string   `json:"queue"`
	Select     []string `json:"select,omitempty"`
	SelectList string   `json:"select_list,omitempty"`
	// Narrow is the command line's --select glob.
	Narrow   string `json:"narrow,omitempty"`
	MaxJobs  int    `json:"max_jobs"`
	MaxBytes int64  `json:"max_bytes,omitempty"`
	// To is the landing directory on the partner.
	To string `json:"to"`
	// CopySet carries the copy set's settings (verify, bandwidth).
	CopySet contract.CopySet `json:"copy_set"`
	Accept  ApprovalRule     `json:"accept"`
	Intake  Block            `json:"intake"`
	Done    Block            `json:"done"`
	// ResultsFrom (partner) and ResultsTo (source) copy results back.
	ResultsFrom string        `json:"results_from,omitempty"`
	ResultsTo   string        `json:"results_to,omitempty"`
	Poll        time.Duration `json:"poll"`
	Within      time.Duration `json:"within"`
	// SearchAttributes is set when the cluster has the umzug search
	// attributes: the offload keeps UmzugPhase current for listings.
	SearchAttributes bool `json:"search_attributes,omitempty"`
}

// OffloadJob is one job's way through a hand-over.
type OffloadJob struct {
	contract.OffloadJob
	TakenIn  *time.Time `json:"taken_in,omitempty"`
	Produced *time.Time `json:"produced,omitempty"`
	Returned bool       `json:"returned,omitempty"`
	Archived bool       `json:"archived,omitempty"`
	Released bool       `json:"released,omitempty"`
	// IntakeError says why intake did not take the job in; Uncertain
	// that intake may have run (the job is kept as the partner's).
	IntakeError string `json:"intake_error,omitempty"`
	Uncertain   bool   `json:"uncertain,omitempty"`
}

// OffloadStatus is what the offload's status query returns.
type OffloadStatus struct {
	ID          string       `json:"id"`
	PlanName    string       `json:"plan_name"`
	PlanSHA256  string       `json:"plan_sha256"`
	Application string       `json:"application"`
	Offload     string       `json:"offload"`
	Key         string       `json:"key"`
	StartedBy   string       `json:"started_by"`
	Source      string       `json:"source"`
	Target      string       `json:"target"`
	SourceSite  string       `json:"source_site,omitempty"`
	TargetSite  string       `json:"target_site,omitempty"`
	Started     time.Time    `json:"started"`
	Phase       string       `json:"phase"`
	Jobs        []OffloadJob `json:"jobs,omitempty"`
	// Left lists jobs left in the queue (unsafe names, over the limits).
	Left []string `json:"left,omitempty"`
	Over int      `json:"over,omitempty"`
	// Manifest is the copy's manifest digest on the partner.
	Manifest string `json:"manifest,omitempty"`
	// AcceptedBy are the partner's acceptances counted, AcceptedAt when
	// the quorum was met; RefusedBy/RefuseReason a refusal.
	AcceptedBy     []string       `json:"accepted_by,omitempty"`
	AcceptedAt     *time.Time     `json:"accepted_at,omitempty"`
	AcceptDeadline *time.Time     `json:"accept_deadline,omitempty"`
	RefusedBy      string         `json:"refused_by,omitempty"`
	RefuseReason   string         `json:"refuse_reason,omitempty"`
	ProduceBy      *time.Time     `json:"produce_by,omitempty"`
	Overdue        bool           `json:"overdue,omitempty"`
	Signals        []SignalRecord `json:"signals,omitempty"`
	SignalsDropped int            `json:"signals_dropped,omitempty"`
	// Signing names what a signed acceptance's statement is bound to.
	Signing *Signing `json:"signing,omitempty"`
	// PartnerHas lists, after a cancel or failure, the jobs the partner
	// took in (they stay claimed at the source: the partner produces them).
	PartnerHas []string  `json:"partner_has,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	Error      string    `json:"error,omitempty"`
	Ended      time.Time `json:"ended,omitempty"`
}

// Counts are the jobs claimed, accepted, taken in, produced and returned.
type OffloadCounts struct {
	Claimed, Accepted, TakenIn, Produced, Returned, Released int
}

// Counts tallies the job states.
func (s OffloadStatus) Counts() OffloadCounts {
	var c OffloadCounts
	for _, j := range s.Jobs {
		c.Claimed++
		if s.AcceptedAt != nil {
			c.Accepted++
		}
		if j.TakenIn != nil {
			c.TakenIn++
		}
		if j.Produced != nil {
			c.Produced++
		}
		if j.Returned {
			c.Returned++
		}
		if j.Released {
			c.Released++
		}
	}
	return c
}

// OffloadDecision is the payload of accept and refuse.
type OffloadDecision struct {
	By        string `json:"by"`
	Comment   string `json:"comment,omitempty"`
	Signature string `json:"signature,omitempty"`
	SignedAt  string `json:"signed_at,omitempty"`
}

func (p OffloadDecision) overLimit() string {
	return overLimit(name("by", p.By), text("comment", p.Comment), sig(p.Signature), signedAt(p.SignedAt))
}

// OffloadRecord is what the source archives with the jobs (record.json)
// and the audit lists: per job where, when and under whose acceptance
// it was produced.
type OffloadRecord struct {
	Offload    string       `json:"offload"`
	Plan       string       `json:"plan"`
	PlanSHA256 string       `json:"plan_sha256"`
	From       string       `json:"from_site"`
	ProducedAt string       `json:"produced_at_site"`
	AcceptedBy []string     `json:"accepted_by"`
	AcceptedAt *time.Time   `json:"accepted_at,omitempty"`
	Jobs       []OffloadJob `json:"jobs"`
}
