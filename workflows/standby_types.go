package workflows

import (
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Standby workflows, signals and records. The record workflow is the
// standby's long-running memory (last verified sync, pause and resume
// decisions) and the Web UI's failover button.
const (
	StandbyWorkflow     = "umzug.Standby"
	StandbySyncWorkflow = "umzug.StandbySync"

	// SignalPause and SignalResume stop and restart the syncs; both are
	// decisions recorded in the record's history ({"by", "reason"}).
	SignalPause  = "pause"
	SignalResume = "resume"
	// SignalFailover starts a failover of the application from its record
	// ({"by", "reason"}): the Web UI's button.
	SignalFailover = "failover"
	// SignalConfirm is the second emergency approver's confirmation of a
	// failover ({"by", "comment"}).
	SignalConfirm = "confirm"

	// Between a scheduled sync and the record: the sync asks whether it
	// may run (paused, failed over, another sync running), the record
	// answers, and the sync reports its result.
	signalSyncRequest = "sync_request"
	signalSyncAnswer  = "sync_answer"
	signalSyncResult  = "sync_result"
	// signalSyncPing asks nothing of a sync: delivering it proves the sync
	// still runs (standby_handlers.go, staleRunning).
	signalSyncPing = "sync_ping"

	// UpdateRearm re-arms the standby in its original direction after the
	// failback of its failover committed ({"by", "reason", "failback"}).
	UpdateRearm = "rearm"
	// UpdateScheduleState tells the record what the schedule itself says
	// ({"paused", "note", "seen_by"}): a pause or unpause made on the Web
	// UI's Schedules page, which the record cannot see, is recorded.
	UpdateScheduleState = "schedule_state"
	// ViaSchedule marks a decision read from the schedule's own state.
	ViaSchedule = "schedule"

	// Activities of the record (registered on the workflow worker, which
	// holds a Temporal client): set its schedule's pause state, and read
	// how a failback ended.
	ActivitySetSchedulePaused = "SetSchedulePaused"
	ActivityFailbackOutcome   = "FailbackOutcome"

	// RecordEmergencyApproval is the decision record of the emergency
	// approver who started a failover; RecordConfirmOverdue the record
	// written when the second confirmation did not come in time.
	RecordEmergencyApproval = "emergency_approval"
	RecordConfirmOverdue    = "confirmation_overdue"
)

// StandbyScheduleID is the ID of the Temporal Schedule of a standby.
func StandbyScheduleID(plan, application string) string {
	return MoveID(plan, application) + "/standby"
}

// StandbyRecordID is the stable ID of a standby's record workflow.
func StandbyRecordID(plan, application string) string {
	return StandbyScheduleID(plan, application) + "/record"
}

// FailoverID names a failover started at t (UTC, to the second).
func FailoverID(plan, application string, t time.Time) string {
	return MoveID(plan, application) + "/failover/" + t.UTC().Format("20060102T150405Z")
}

// StandbyInput starts a standby's record workflow.
type StandbyInput struct {
	Subject
	Copies   []contract.CopySet `json:"copies"`
	Interval time.Duration      `json:"interval"`
	MaxLag   time.Duration      `json:"max_lag"`
	// Operators may pause, resume and re-arm the standby, as may the
	// emergency approvers (the plan's operators, else its approvers).
	Operators []string `json:"operators,omitempty"`
	// Failover is the move a failover runs (mode failover, emergency rule
	// set); nil when the plan has no emergency block. The record fills in
	// who pressed the button and the standby copy.
	Failover *MoveInput `json:"failover,omitempty"`
	// State carries the record across continue-as-new.
	State *StandbyStatus `json:"state,omitempty"`
	// Hosts are the copy sets' own hosts (MoveInput.Hosts).
	Hosts []contract.Host `json:"hosts,omitempty"`
}

// StandbySyncInput is the schedule's fixed argument to every sync.
type StandbySyncInput struct {
	RecordID string `json:"record_id"`
	// CopyID names the manifests on the target (the schedule's ID).
	CopyID string             `json:"copy_id"`
	Source contract.Host      `json:"source"`
	Target contract.Host      `json:"target"`
	Copies []contract.CopySet `json:"copies"`
	// Hosts are the copy sets' own hosts (MoveInput.Hosts).
	Hosts []contract.Host `json:"hosts,omitempty"`
}

// SetManifest is one copy set's manifest of a sync.
type SetManifest struct {
	Set    string `json:"set"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// IdentState is the verified-identity state the sync wrote for the
	// set; the record hands it to the next sync.
	IdentState *contract.IdentState `json:"ident_state,omitempty"`
}

// StandbySync is the outcome of one scheduled sync. A sync without Error
// copied and verified every set: the partner holds the source's tree as
// it was listed between Started and Finished.
type StandbySync struct {
	WorkflowID  string        `json:"workflow_id"`
	Started     time.Time     `json:"started"`
	Finished    time.Time     `json:"finished"`
	Manifests   []SetManifest `json:"manifests,omitempty"`
	Files       int64         `json:"files"`
	Bytes       int64         `json:"bytes"`
	CopiedFiles int64         `json:"copied_files"`
	CopiedBytes int64         `json:"copied_bytes"`
	Deleted     int64         `json:"deleted"`
	Verified    int64         `json:"verified"`
	// Changed counts entries that changed while listed; the next sync
	// copies them.
	Changed int64  `json:"changed,omitempty"`
	Error   string `json:"error,omitempty"`
}

// OK reports whether the sync completed with every set verified.
func (s *StandbySync) OK() bool { return s != nil && s.Error == "" && !s.Finished.IsZero() }

// StandbyDecision is the payload of pause, resume, failover and rearm.
type StandbyDecision struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// Failback names the committed failback a rearm follows.
	Failback string `json:"failback,omitempty"`
}

// ScheduleState is what the standby's schedule says of itself, read in
// the CLI and sent to the record (UpdateScheduleState).
type ScheduleState struct {
	Paused bool   `json:"paused"`
	Note   string `json:"note,omitempty"`
	// SeenBy is who ran the command that read the schedule.
	SeenBy string `json:"seen_by,omitempty"`
}

// SchedulePause is the input of ActivitySetSchedulePaused.
type SchedulePause struct {
	ScheduleID string `json:"schedule_id"`
	Paused     bool   `json:"paused"`
	Note       string `json:"note"`
	// Trigger starts one sync at once after an unpause.
	Trigger bool `json:"trigger,omitempty"`
}

// FailbackOutcome is what ActivityFailbackOutcome read of a failback.
type FailbackOutcome struct {
	ID         string    `json:"id"`
	Phase      string    `json:"phase"`
	FailbackOf string    `json:"failback_of"`
	At         time.Time `json:"at"` // when it reached Phase
}

// StandbyStatus is what the record's status query returns.
type StandbyStatus struct {
	PlanName    string        `json:"plan_name"`
	PlanSHA256  string        `json:"plan_sha256"`
	Application string        `json:"application"`
	StartedBy   string        `json:"started_by"`
	Source      string        `json:"source"`
	Target      string        `json:"target"`
	Interval    time.Duration `json:"interval"`
	MaxLag      time.Duration `json:"max_lag"`
	Started     time.Time     `json:"started"`
	// LastVerified is the latest sync that completed verified; LastSync
	// the latest that ended at all.
	LastVerified *StandbySync `json:"last_verified,omitempty"`
	LastSync     *StandbySync `json:"last_sync,omitempty"`
	Syncs        int          `json:"syncs"`
	FailedSyncs  int          `json:"failed_syncs"`
	// Skipped counts scheduled syncs that did not run, LastSkip why.
	Skipped  int    `json:"skipped"`
	LastSkip string `json:"last_skip,omitempty"`
	// Running is the sync workflow copying now.
	Running string `json:"running,omitempty"`
	// Lost names the last sync that ended without reporting (terminated
	// or timed out), found when the next one asked to run.
	Lost string `json:"lost,omitempty"`
	// IdentStates is, per copy set, the verified-identity state the last
	// sync of the set wrote on the target; each sync gets them with its
	// answer and uses a state file only when it still hashes to its entry.
	IdentStates map[string]contract.IdentState `json:"ident_states,omitempty"`
	Paused      bool                           `json:"paused"`
	// PausedBy, PauseReason and PausedAt describe the pause in force.
	PausedBy    string     `json:"paused_by,omitempty"`
	PauseReason string     `json:"pause_reason,omitempty"`
	PausedAt    *time.Time `json:"paused_at,omitempty"`
	// Signals records every pause, resume and failover decision, accepted
	// or refused (bounded: the oldest are dropped past MaxStandbyRecords;
	// the history keeps them all).
	Signals []SignalRecord `json:"signals,omitempty"`
	// FailedOver is the failover workflow the record started; syncs stop.
	FailedOver   string     `json:"failed_over,omitempty"`
	FailedOverAt *time.Time `json:"failed_over_at,omitempty"`
	FailoverErr  string     `json:"failover_error,omitempty"`
	// PausedVia is "schedule" when the pause was read from the schedule
	// (paused on the Web UI's Schedules page), else empty.
	PausedVia string `json:"paused_via,omitempty"`
	// ScheduleErr says why the record could not set its schedule's pause
	// state (the syncs are skipped by the record either way).
	ScheduleErr string `json:"schedule_error,omitempty"`
	// Rearmed is the last re-arm after a failback: the standby syncs in
	// its original direction again.
	Rearmed *StandbyRearm `json:"rearmed,omitempty"`
}

// StandbyRearm records a re-arm after the failback of a failover.
type StandbyRearm struct {
	Failover   string    `json:"failover"`
	FailedAt   time.Time `json:"failed_over_at"`
	Failback   string    `json:"failback"`
	FailbackAt time.Time `json:"failback_at"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// MaxStandbyRecords bounds StandbyStatus.Signals.
const MaxStandbyRecords = 200

// EmergencyRule is the plan's emergency block.
type EmergencyRule struct {
	Approvers     []string      `json:"approvers"`
	ConfirmWithin time.Duration `json:"confirm_within"`
	// Signers (allowed_signers) must sign every confirmation when set.
	Signers string `json:"signers,omitempty"`
}

// FailoverState is what a failover records beyond a move.
type FailoverState struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
	// ConfirmBy is the deadline of the second confirmation.
	ConfirmBy   time.Time  `json:"confirm_by"`
	ConfirmedBy string     `json:"confirmed_by,omitempty"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	// Overdue is set when ConfirmBy passed without a confirmation; a
	// later confirmation is still recorded (ConfirmedLate).
	Overdue       bool `json:"overdue,omitempty"`
	ConfirmedLate bool `json:"confirmed_late,omitempty"`
	// SourceUnreachable: the source did not answer; source steps and the
	// final sync were skipped and the target kept StandbyCopy.
	SourceUnreachable bool         `json:"source_unreachable,omitempty"`
	SourceError       string       `json:"source_error,omitempty"`
	StandbyCopy       *StandbySync `json:"standby_copy,omitempty"`
	// Skipped lists the cutover blocks that did not run, and why.
	Skipped []string `json:"skipped,omitempty"`
}
