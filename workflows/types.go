package workflows

import (
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Workflow, signal, update and query names. The Web UI's signal dialog
// sends the signals; the CLI uses the updates of the same names, which
// answer at once with the verdict.
const (
	MoveWorkflow = "umzug.Move"
	WaveWorkflow = "umzug.Wave"

	SignalApprove  = "approve"
	SignalReject   = "reject"
	SignalRollback = "rollback"
	SignalCommit   = "commit"
	// SignalReschedule moves the cutover window (approvers only, while the
	// move awaits approval or its window).
	SignalReschedule = "reschedule"

	QueryStatus = "status"

	// SignalRefusedUpdate was sent by CLIs of earlier releases to report
	// an update a validator refused. Anyone can send it, so it is never
	// taken as a report: the workflow records that it arrived, refused,
	// under no one's name, with its size and first bytes.
	SignalRefusedUpdate = "refused_update"

	// RecordApprovalsVoided names the decision record written when a
	// reschedule voids the approvals given so far.
	RecordApprovalsVoided = "approvals_voided"

	DefaultTaskQueue = "umzug"
)

// Search attributes registered by `umzug dev` (Keyword type).
const (
	SearchAttrPlan        = "UmzugPlan"
	SearchAttrApplication = "UmzugApplication"
	SearchAttrPhase       = "UmzugPhase"
)

// Phases of a move, in the order a successful move passes them.
const (
	PhasePreflight        = "preflight"
	PhaseSeed             = "seed"
	PhaseAwaitingApproval = "awaiting_approval"
	PhaseCutover          = "cutover"
	PhaseSoak             = "soak"
	PhaseCommitted        = "committed"
	PhaseFailed           = "failed"
	PhaseRejected         = "rejected"
	PhaseExpired          = "expired"
	PhaseRolledBack       = "rolled_back"
)

// Block kinds inside cutover.
const (
	BlockStep      = "step"
	BlockFinalSync = contract.PhaseFinalSync // the copy phase the block runs
	BlockCheck     = "check"
)

// MoveID is the stable workflow ID of a move, so starting it twice never
// runs it twice.
func MoveID(plan, application string) string { return "umzug/" + plan + "/" + application }

// WaveID is the stable workflow ID of a wave.
func WaveID(plan, wave string) string { return "umzug/" + plan + "/wave/" + wave }

// Subject is what a move or a standby acts on, and who started it. It is
// embedded without a JSON name, so its fields stay top-level keys of the
// inputs recorded in histories.
type Subject struct {
	PlanName    string `json:"plan_name"`
	PlanSHA256  string `json:"plan_sha256"`
	Application string `json:"application"`
	// StartedBy is the identity given to `umzug run --as` (or `standby
	// start --as`); four-eyes refuses its approvals.
	StartedBy string        `json:"started_by"`
	Source    contract.Host `json:"source"`
	Target    contract.Host `json:"target"`
}

// MoveInput is everything a move needs; plain data, no secrets.
type MoveInput struct {
	Subject
	Description string             `json:"description,omitempty"`
	Copies      []contract.CopySet `json:"copies,omitempty"`
	Cutover     Cutover            `json:"cutover"`
	Soak        time.Duration      `json:"soak"`
	DependsOn   []string           `json:"depends_on,omitempty"`
	Mode        string             `json:"mode,omitempty"`
	// RunDigest binds approvals to the plan files and the resolved
	// variable values (plans.RunDigest); "" in histories from before it.
	RunDigest string `json:"run_digest,omitempty"`
	// SearchAttributes is set when the cluster has the umzug search
	// attributes registered; the workflow then upserts the phase.
	SearchAttributes bool `json:"search_attributes,omitempty"`
	// Rehearsal and failback (rehearsal.go, failback.go).
	// RehearsalRoot is the scratch root a rehearsal cleans up afterwards.
	RehearsalRoot string `json:"rehearsal_root,omitempty"`
	// RehearsalRequired refuses approvals unless a successful rehearsal
	// finished at most this long ago (0: none required).
	RehearsalRequired time.Duration `json:"rehearsal_required,omitempty"`
	// Rehearsed is the latest successful rehearsal when the move started.
	Rehearsed *RehearsalRecord `json:"rehearsed,omitempty"`
	// FailbackBlocks reverse this move for `umzug failback`; On names this
	// move's hosts. Nil when the plan declares no failback.
	FailbackBlocks []Block `json:"failback_blocks,omitempty"`
	// FailbackOf is the workflow ID of the move a failback reverses.
	FailbackOf string `json:"failback_of,omitempty"`
	// Failover (ModeFailover): the plan's emergency rule, why the button
	// was pressed, and the standby copy the target holds.
	Emergency   *EmergencyRule `json:"emergency,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	StandbyCopy *StandbySync   `json:"standby_copy,omitempty"`
	// Hosts are the hosts of an application that spans several, besides
	// Source and Target: the copy sets' own hosts (CopySet.SourceHost,
	// TargetHost) and the hosts blocks run on (Block.On "host.NAME").
	Hosts []contract.Host `json:"hosts,omitempty"`
}

// Cutover is the cutover block of an application.
type Cutover struct {
	Window   *Window       `json:"window,omitempty"`
	Approval *ApprovalRule `json:"approval,omitempty"`
	// Blocks run in the order written.
	Blocks []Block `json:"blocks"`
}

// Modes of a Move run. The empty mode is a one-way move.
const (
	ModeMove      = ""
	ModeFailover  = "failover"
	ModeFailback  = "failback"
	ModeRehearsal = "rehearsal"
)

// Window is the agreed cutover window.
type Window struct {
	NotBefore time.Time     `json:"not_before"`
	Duration  time.Duration `json:"duration"`
}

// ApprovalRule says who must approve. Nil rule (rehearsal) means no wait.
type ApprovalRule struct {
	Approvers []string      `json:"approvers"`
	Quorum    int           `json:"quorum"`
	FourEyes  bool          `json:"four_eyes"`
	Timeout   time.Duration `json:"timeout,omitempty"` // 0 means no timeout
	// Operators may commit and roll back during soak; empty means the
	// approvers. Compared as canonical identities, like the approvers.
	Operators []string `json:"operators,omitempty"`
	// RequireRunDigest refuses approvals that carry no run digest or one
	// that differs from the move's.
	RequireRunDigest bool `json:"require_run_digest,omitempty"`
	// Signers is an OpenSSH allowed_signers file (public keys only): when
	// set, approve, reject, commit and rollback must carry a signature by
	// the sender's key over the decision's statement (decisionsig).
	Signers string `json:"signers,omitempty"`
}

// Block is one step, final_sync or check inside cutover.
type Block struct {
	Kind string `json:"kind"` // BlockStep, BlockFinalSync, BlockCheck
	Name string `json:"name,omitempty"`
	On   string `json:"on,omitempty"` // "source", "target" or "host.NAME" (MoveInput.Hosts)
	// Group is the 1-based parallel group the block belongs to (0: none);
	// the adjacent blocks of one group run at once.
	Group   int           `json:"group,omitempty"`
	Run     string        `json:"run,omitempty"`
	Undo    string        `json:"undo,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Checks only.
	Retries  int           `json:"retries,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	// Secrets names the sensitive plan variables Run and Undo refer to as
	// ${UMZUG_SECRET_<name>}; the worker supplies their values.
	Secrets []string `json:"secrets,omitempty"`
	// KeepOutput (the plan's output = "keep") keeps the output of Run and
	// Undo when they use Secrets, redacted; without it the worker keeps
	// only byte counts.
	KeepOutput bool `json:"keep_output,omitempty"`
	// NoBecome (the plan's become = false) runs Run and Undo as the login
	// user on a host with become = "sudo".
	NoBecome bool `json:"no_become,omitempty"`
}

// Signal payloads. JSON names are what the Web UI sends.
type ApproveSignal struct {
	Approver   string `json:"approver"`
	Comment    string `json:"comment,omitempty"`
	PlanSHA256 string `json:"plan_sha256,omitempty"`
	// RunDigest is the run digest the approver reviewed (`umzug plan`).
	RunDigest string `json:"run_digest,omitempty"`
	// Signature (armored SSHSIG, namespace umzug-approval) and SignedAt
	// (the statement's time, UTC) sign the decision's statement when the
	// plan names signers (Status.Signing, decisionsig).
	Signature string `json:"signature,omitempty"`
	SignedAt  string `json:"signed_at,omitempty"`
}

type RejectSignal struct {
	Approver   string `json:"approver"`
	Reason     string `json:"reason,omitempty"`
	PlanSHA256 string `json:"plan_sha256,omitempty"`
	Signature  string `json:"signature,omitempty"`
	SignedAt   string `json:"signed_at,omitempty"`
}

type RollbackSignal struct {
	By        string `json:"by"`
	Reason    string `json:"reason,omitempty"`
	Signature string `json:"signature,omitempty"`
	SignedAt  string `json:"signed_at,omitempty"`
}

type CommitSignal struct {
	By        string `json:"by"`
	Signature string `json:"signature,omitempty"`
	SignedAt  string `json:"signed_at,omitempty"`
}

// RescheduleSignal sets a new cutover window. NotBefore is RFC 3339
// ("2026-12-12T18:00:00+01:00"); Duration is a Go duration string ("4h")
// because people type it into the Web UI's signal dialog.
type RescheduleSignal struct {
	By        string    `json:"by"`
	NotBefore time.Time `json:"not_before"`
	Duration  string    `json:"duration"`
	Comment   string    `json:"comment,omitempty"`
}

// SignalRecord is one received signal or update and the decision on it.
type SignalRecord struct {
	Name       string    `json:"name"`
	Identity   string    `json:"identity"` // approver / by from the payload
	Comment    string    `json:"comment,omitempty"`
	At         time.Time `json:"at"`
	Accepted   bool      `json:"accepted"`
	Reason     string    `json:"reason,omitempty"` // why refused
	Via        string    `json:"via"`              // "signal" or "update"
	PlanSHA256 string    `json:"plan_sha256,omitempty"`
	RunDigest  string    `json:"run_digest,omitempty"`
	// Sender is what the workflow knows of who sent it (SenderUnknown:
	// the history event names the client identity); UpdateID joins an
	// update's record to its history events.
	Sender   string `json:"sender,omitempty"`
	UpdateID string `json:"update_id,omitempty"`
	// Size and Received describe a payload refused unread: its size in
	// bytes and its first ReceivedPrefixBytes bytes, quoted.
	Size     int    `json:"size,omitempty"`
	Received string `json:"received,omitempty"`
	// KeyFingerprint (SHA256:…) names the key that signed an accepted
	// signed decision; SignedAt and Signature are its statement's time
	// and the armored signature, so the audit re-checks it offline.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	SignedAt       string `json:"signed_at,omitempty"`
	Signature      string `json:"signature,omitempty"`
}

// StepRecord is one command that ran (step, undo or check attempt).
type StepRecord struct {
	Kind     string    `json:"kind"` // step, undo, check, final_sync
	Name     string    `json:"name"`
	On       string    `json:"on,omitempty"`
	Host     string    `json:"host,omitempty"`
	Command  string    `json:"command,omitempty"`
	ExitCode int       `json:"exit_code"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Error    string    `json:"error,omitempty"`
}

// Status is what the status query returns and the workflow result holds.
type Status struct {
	Phase string `json:"phase"`
	// Phases lists every phase change with its time (workflow clock).
	Phases      []PhaseChange `json:"phases,omitempty"`
	PlanName    string        `json:"plan_name"`
	PlanSHA256  string        `json:"plan_sha256"`
	Application string        `json:"application"`
	StartedBy   string        `json:"started_by"`
	Source      string        `json:"source"`
	Target      string        `json:"target"`
	// Approval state.
	Approvals        []string   `json:"approvals,omitempty"`         // accepted approvers
	ApprovalsNeeded  int        `json:"approvals_needed"`            // still needed
	PendingApprovers []string   `json:"pending_approvers,omitempty"` // who may still approve
	ApprovalDeadline *time.Time `json:"approval_deadline,omitempty"`
	// RunDigest is the move's run digest; approvals may be bound to it.
	RunDigest string `json:"run_digest,omitempty"`
	// Signing holds the statement fields a signer needs (the plan names
	// signers); nil otherwise.
	Signing *Signing `json:"signing,omitempty"`
	// Voided lists approvals a reschedule voided ("a.meier by c.yilmaz").
	Voided     []string   `json:"voided,omitempty"`
	Window     *Window    `json:"window,omitempty"`
	WindowNote string     `json:"window_note,omitempty"`
	SoakUntil  *time.Time `json:"soak_until,omitempty"`
	// Records.
	Signals []SignalRecord `json:"signals,omitempty"`
	// SignalsDropped counts records dropped to keep Signals bounded
	// (MaxRefusedRecords, MaxRecords).
	SignalsDropped int                       `json:"signals_dropped,omitempty"`
	Steps          []StepRecord              `json:"steps,omitempty"`
	Copies         []contract.CopyResult     `json:"copies,omitempty"`
	Preflight      *contract.PreflightResult `json:"preflight,omitempty"`
	// Refusals lists, per copy set and phase, what a copy left out: counts
	// per kind, accepted or not, and the first paths (see CopyRefusals).
	Refusals []CopyRefusals `json:"refusals,omitempty"`
	// Rollback.
	Undone          []string `json:"undone,omitempty"`
	ManualAttention []string `json:"manual_attention,omitempty"`
	Error           string   `json:"error,omitempty"`
	// Rehearsal and failback.
	Mode string `json:"mode,omitempty"`
	// Rehearsal is a rehearsal's own record: durations and cleanup.
	Rehearsal *RehearsalRecord `json:"rehearsal,omitempty"`
	// Rehearsed is the rehearsal that vouches for this move's approvals.
	Rehearsed *RehearsalRecord `json:"rehearsed,omitempty"`
	// FailbackOf is the move this failback reverses.
	FailbackOf string `json:"failback_of,omitempty"`
	// Failover: the emergency approval, its second confirmation and
	// whether the source was reachable (ModeFailover only).
	Failover *FailoverState `json:"failover,omitempty"`
	// Hosts lists every host of a move that spans more than its source
	// and target: what each does and the key preflight verified.
	Hosts []MoveHost `json:"hosts,omitempty"`
}

// MoveHost is one host of a multi-host move.
type MoveHost struct {
	Name       string `json:"name"`
	Datacenter string `json:"datacenter,omitempty"`
	// Roles: "source", "target", "copy source", "copy target", "steps".
	Roles []string `json:"roles"`
	// Fingerprint is the host key preflight verified (SHA256:…).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// WaveInput starts one child move per application.
type WaveInput struct {
	PlanName    string      `json:"plan_name"`
	PlanSHA256  string      `json:"plan_sha256"`
	Wave        string      `json:"wave"`
	MaxParallel int         `json:"max_parallel"`
	StartedBy   string      `json:"started_by"`
	Moves       []MoveInput `json:"moves"` // DependsOn names applications in this wave
}

// WaveStatus shows every application's phase.
type WaveStatus struct {
	Wave      string            `json:"wave"`
	Phases    map[string]string `json:"phases"` // application -> phase, "pending" or "blocked"
	BlockedBy map[string]string `json:"blocked_by,omitempty"`
	Done      bool              `json:"done"`
	// Notes explains decisions: dependencies outside the wave that were
	// ignored, children that could not start, a cancelled wave.
	Notes []string `json:"notes,omitempty"`
}

// PhaseChange is one entry of a move's phase log.
type PhaseChange struct {
	Phase string    `json:"phase"`
	At    time.Time `json:"at"`
}

// Signing is what a signed decision's statement names of this run
// (decisionsig.Statement): move and run ID, run digest, namespace.
type Signing struct {
	Namespace string `json:"namespace"`
	MoveID    string `json:"move_id"`
	RunID     string `json:"run_id"`
	RunDigest string `json:"run_digest"`
}
