package audit

import (
	"encoding/json"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// Report is what an auditor reads, derived from history alone.
type Report struct {
	WorkflowID   string    `json:"workflow_id"`
	RunID        string    `json:"run_id"`
	WorkflowType string    `json:"workflow_type"`
	Started      time.Time `json:"started"`
	// StartIdentity is the Temporal client identity that started the run;
	// StartedBy is the move's starter as given to `umzug run --as`.
	StartIdentity string `json:"start_identity"`
	StartedBy     string `json:"started_by"`
	PlanName      string `json:"plan_name"`
	PlanSHA256    string `json:"plan_sha256"`
	// RunDigest covers the plan files and the resolved variable values.
	RunDigest   string `json:"run_digest,omitempty"`
	Application string `json:"application,omitempty"`
	Source      string `json:"source,omitempty"`
	Target      string `json:"target,omitempty"`

	// Received lists every signal and update as the server recorded it,
	// with the sender's client identity.
	Received []Received `json:"received"`
	// Decisions are the workflow's own records of accepting or refusing
	// them (from its result, or its latest status for a running move),
	// each re-checked against the approval rule.
	Decisions []Decision `json:"decisions,omitempty"`
	// Approval is the rule the move ran under (nil: rehearsal, no wait);
	// ApprovalDeadline is when pending approvals expired.
	Approval *workflows.ApprovalRule `json:"approval_rule,omitempty"`
	// Emergency is a failover's rule, in force instead of Approval: one
	// emergency approver starts it, a second one confirms it.
	Emergency        *workflows.EmergencyRule `json:"emergency_rule,omitempty"`
	ApprovalDeadline *time.Time               `json:"approval_deadline,omitempty"`
	// Window is the agreed window and whether the cutover kept to it.
	Window *WindowCheck `json:"window,omitempty"`
	// HostKeys are the fingerprints preflight verified for each host.
	HostKeys []HostKey `json:"host_keys,omitempty"`
	// Manifests lists every copy manifest with its digest in history.
	Manifests []Manifest `json:"manifests,omitempty"`
	// Wave lists a wave's moves in dependency order with their outcome.
	Wave     []WaveMove            `json:"wave_moves,omitempty"`
	Commands []Command             `json:"commands"`
	Copies   []contract.CopyResult `json:"copies"`
	// Refusals lists per copy set and phase what a copy left out, by kind,
	// and whether the plan accepted it (from the workflow's records).
	Refusals []workflows.CopyRefusals `json:"refusals,omitempty"`
	Phases   []workflows.PhaseChange  `json:"phases,omitempty"`

	Closed     bool      `json:"closed"`
	CloseState string    `json:"close_state,omitempty"` // Temporal's: completed, failed, ...
	ClosedAt   time.Time `json:"closed_at,omitempty"`
	FinalPhase string    `json:"final_phase,omitempty"`
	Undone     []string  `json:"undone,omitempty"`
	Attention  []string  `json:"manual_attention,omitempty"`
	Error      string    `json:"error,omitempty"`

	// Failover holds a failover's emergency facts (nil for other moves).
	Failover *FailoverFacts `json:"failover,omitempty"`

	Events int `json:"events"`
	// Replay is "consistent" or the replay error.
	Replay string `json:"replay"`

	// Rehearsal and failback: the mode, a rehearsal's record, the
	// rehearsal that vouched for the approvals, and the links between a
	// move and its failback (FailedBackBy is looked up by the caller).
	Mode         string                     `json:"mode,omitempty"`
	Rehearsal    *workflows.RehearsalRecord `json:"rehearsal,omitempty"`
	Rehearsed    *workflows.RehearsalRecord `json:"rehearsed,omitempty"`
	FailbackOf   string                     `json:"failback_of,omitempty"`
	FailedBackBy string                     `json:"failed_back_by,omitempty"`

	// What the evidence is derived from (see evidence.go).
	in        *workflows.MoveInput
	wave      *workflows.WaveInput
	signals   []workflows.SignalRecord
	window    *workflows.Window
	deadline  *time.Time
	preflight *contract.PreflightResult
	copyEnded []time.Time // completion time of each of Copies
	asOf      time.Time   // when a running workflow was collected (RenderRecord.AsOf)
	// hosts are a multi-host move's hosts (Status.Hosts).
	hosts []workflows.MoveHost
}

// judgedAt is the time pending deadlines are judged at: the close time of
// a closed workflow, else when its evidence was collected. Rendering
// never reads the clock.
func (r *Report) judgedAt() time.Time {
	if r.Closed {
		return r.ClosedAt
	}
	return r.asOf
}

// Received is one signal or update event.
type Received struct {
	At       time.Time       `json:"at"`
	Kind     string          `json:"kind"` // signal, update
	Name     string          `json:"name"`
	Identity string          `json:"identity"` // Temporal client identity
	Payload  json.RawMessage `json:"payload,omitempty"`
	Outcome  string          `json:"outcome,omitempty"` // updates: accepted / failed: reason
	UpdateID string          `json:"update_id,omitempty"`
}

// Command is one RunCommand activity: where, what, and how it ended.
type Command struct {
	Scheduled time.Time `json:"scheduled"`
	Purpose   string    `json:"purpose"`
	Host      string    `json:"host"`
	Address   string    `json:"address"`
	Command   string    `json:"command"`
	ExitCode  *int      `json:"exit_code,omitempty"`
	Started   time.Time `json:"started,omitempty"`
	Finished  time.Time `json:"finished,omitempty"`
	Failure   string    `json:"failure,omitempty"`
	// Attempts lists every activity attempt with host, start, end and
	// exit status (see attempts.go).
	Attempts []Attempt `json:"attempts,omitempty"`
	// OutputTail is the bounded, redacted end of a failed command's output.
	OutputTail string `json:"output_tail,omitempty"`
}

var dc = converter.GetDefaultDataConverter()

func decode(p *commonpb.Payloads, into any) bool {
	if p == nil || len(p.GetPayloads()) == 0 {
		return false
	}
	return dc.FromPayload(p.GetPayloads()[0], into) == nil
}

func raw(p *commonpb.Payloads) json.RawMessage {
	if p == nil || len(p.GetPayloads()) == 0 {
		return nil
	}
	var v any
	if dc.FromPayload(p.GetPayloads()[0], &v) != nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// Build derives the report from a history. The replay result is filled
// in by the caller (see Replay).
func Build(workflowID string, h *historypb.History) (*Report, error) {
	b := &builder{r: &Report{WorkflowID: workflowID, Events: len(h.GetEvents())},
		scheduled: map[int64]*historypb.ActivityTaskScheduledEventAttributes{}, commands: map[int64]int{}, updates: map[string]int{}}
	for _, ev := range h.GetEvents() {
		at := ev.GetEventTime().AsTime()
		if !b.started(ev, at) && !b.received(ev, at) && !b.activity(ev, at) {
			b.closed(ev, at)
		}
	}
	r := b.r
	if r.WorkflowType == "" {
		return nil, fmt.Errorf("history of %s has no start event", workflowID)
	}
	r.waveMoves(h)
	r.deriveEvidence()
	return r, nil
}

// ApplyStatus fills the workflow's own records (decisions, phases,
// rollback) from a Status: the result of a closed move, or the latest
// status query of a running one.
func (r *Report) applyStatus(st workflows.Status) {
	r.FinalPhase = st.Phase
	r.signals = st.Signals
	r.window, r.deadline, r.preflight = st.Window, st.ApprovalDeadline, st.Preflight
	r.hosts = st.Hosts
	r.ApprovalDeadline = st.ApprovalDeadline
	r.Phases = st.Phases
	r.Refusals = st.Refusals
	r.Undone = st.Undone
	r.Attention = st.ManualAttention
	r.Failover = failoverFacts(st.Failover, r.judgedAt())
	if st.Error != "" {
		r.Error = st.Error
	}
	r.applyPrintCenter(st)
	r.deriveEvidence()
}
