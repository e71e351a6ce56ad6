package workflows

import (
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/identity"
)

// standbyHistoryLimit bounds the record's history: past it (or when the
// server suggests it) the record continues as new with its state.
const standbyHistoryLimit = 4000

// syncRequest and syncAnswer are the protocol between a scheduled sync
// and the record.
type syncRequest struct {
	WorkflowID string `json:"workflow_id"`
}

type syncAnswer struct {
	Go  bool   `json:"go"`
	Why string `json:"why,omitempty"`
	// IdentStates are the record's StandbyStatus.IdentStates.
	IdentStates map[string]contract.IdentState `json:"ident_states,omitempty"`
}

// Descriptions show in the Web UI's signal dialog, with the JSON to send.
const (
	descPause    = `Pause the standby syncs (recorded). JSON: {"by": "k.meier", "reason": "maintenance at AKDB"}`
	descResume   = `Resume the standby syncs (recorded). JSON: {"by": "k.meier", "reason": "maintenance done"}`
	descFailover = `Fail over to the partner site now (an emergency approver of the plan; a second one confirms on the failover). ` +
		`JSON: {"by": "k.meier", "reason": "print center OWL-IT lost"}`
)

// standby is the state of a standby's record workflow.
type standby struct {
	in          StandbyInput
	st          StandbyStatus
	dctx        workflow.Context
	failoverReq *StandbyDecision
	drainers    []func() bool
}

// Standby is the long-running record of a standby (docs/design.md): it
// answers each scheduled sync whether it may run, keeps the last verified
// sync, records pause and resume decisions, and starts a failover on the
// `failover` signal or update. It continues as new when its history grows.
func Standby(ctx workflow.Context, in StandbyInput) (StandbyStatus, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	s := &standby{in: in, dctx: dctx}
	if in.State != nil {
		s.st = *in.State
	} else {
		s.st = StandbyStatus{PlanName: in.PlanName, PlanSHA256: in.PlanSHA256, Application: in.Application,
			StartedBy: in.StartedBy, Source: in.Source.Name, Target: in.Target.Name,
			Interval: in.Interval, MaxLag: in.MaxLag, Started: workflow.Now(ctx)}
	}
	if err := s.register(ctx); err != nil {
		return s.st, fmt.Errorf("register handlers of standby %s: %w", in.Application, err)
	}
	for {
		full := func() bool {
			info := workflow.GetInfo(ctx)
			return info.GetCurrentHistoryLength() > standbyHistoryLimit || info.GetContinueAsNewSuggested()
		}
		err := workflow.Await(ctx, func() bool { return s.failoverPending() || (full() && s.st.Running == "") })
		if err != nil {
			return s.st, nil // cancelled: the record ends with its state
		}
		if s.failoverPending() {
			s.startFailover(ctx)
			continue
		}
		s.drain()
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return s.st, nil
		}
		next := s.in
		st := s.st
		next.State = &st
		return s.st, workflow.NewContinueAsNewError(ctx, StandbyWorkflow, next)
	}
}

func (s *standby) failoverPending() bool {
	return s.failoverReq != nil && s.st.FailedOver == "" && s.st.FailoverErr == ""
}

// drain handles signals that arrived but were not read yet.
func (s *standby) drain() {
	for {
		any := false
		for _, d := range s.drainers {
			for d() {
				any = true
			}
		}
		if !any {
			return
		}
	}
}

func (s *standby) details() {
	st := s.st
	var b strings.Builder
	b.WriteString(fmt.Sprintf("**Standby** of %s: %s → %s, every %s\n\n", st.Application, st.Source, st.Target, st.Interval))
	if v := st.LastVerified; v != nil {
		b.WriteString(fmt.Sprintf("Last verified sync: %s (%d files, %d copied)\n\n", v.Finished.Format(time.RFC3339), v.Files, v.CopiedFiles))
	} else {
		b.WriteString("No verified sync yet\n\n")
	}
	if st.Paused {
		b.WriteString(fmt.Sprintf("PAUSED by %s: %s\n\n", st.PausedBy, st.PauseReason))
	}
	if st.FailedOver != "" {
		b.WriteString(fmt.Sprintf("Failed over: %s\n\n", st.FailedOver))
	}
	if st.Lost != "" {
		b.WriteString(fmt.Sprintf("Sync %s ended without reporting; later syncs run\n\n", st.Lost))
	}
	b.WriteString(`Fail over: Send a Signal **failover** {"by": "k.meier", "reason": "..."}`)
	workflow.SetCurrentDetails(s.dctx, b.String())
}

// record appends one decision, keeping the list bounded.
func (s *standby) record(r SignalRecord) {
	r.At = workflow.Now(s.dctx)
	s.st.Signals = append(s.st.Signals, r)
	if n := len(s.st.Signals); n > MaxStandbyRecords {
		s.st.Signals = s.st.Signals[n-MaxStandbyRecords:]
	}
	s.details()
}

// identityRefusal refuses an empty or unusable identity.
func identityRefusal(name, by string) string {
	if strings.TrimSpace(by) == "" {
		return fmt.Sprintf(`%s needs who decides: {"by": "k.meier", "reason": "..."}`, name)
	}
	if _, err := identity.Canonical(by); err != nil {
		return err.Error()
	}
	return ""
}

func (s *standby) checkPause(p StandbyDecision) string {
	switch {
	case identityRefusal(SignalPause, p.By) != "":
		return identityRefusal(SignalPause, p.By)
	case s.st.FailedOver != "":
		return fmt.Sprintf("the application failed over (%s); the standby is stopped", s.st.FailedOver)
	case s.st.Paused:
		return fmt.Sprintf("the standby is paused already (by %s: %s)", s.st.PausedBy, s.st.PauseReason)
	}
	return ""
}

func (s *standby) checkResume(p StandbyDecision) string {
	switch {
	case identityRefusal(SignalResume, p.By) != "":
		return identityRefusal(SignalResume, p.By)
	case s.st.FailedOver != "":
		return fmt.Sprintf("the application failed over (%s); syncing the old source over the partner would overwrite it, so the standby stays stopped", s.st.FailedOver)
	case !s.st.Paused:
		return "the standby is not paused"
	}
	return ""
}

func (s *standby) pause(by, reason string) {
	now := workflow.Now(s.dctx)
	s.st.Paused, s.st.PausedBy, s.st.PauseReason, s.st.PausedAt = true, by, reason, &now
}

func (s *standby) resume() {
	s.st.Paused, s.st.PausedBy, s.st.PauseReason, s.st.PausedAt = false, "", "", nil
}

func (s *standby) checkFailover(p StandbyDecision) string {
	f := s.in.Failover
	switch {
	case identityRefusal(SignalFailover, p.By) != "":
		return identityRefusal(SignalFailover, p.By)
	case f == nil || f.Emergency == nil:
		return fmt.Sprintf("the plan gives %s no emergency block, so nobody may fail it over", s.in.Application)
	case identity.Index(f.Emergency.Approvers, p.By) < 0:
		return fmt.Sprintf("%s is not an emergency approver of %s (emergency approvers: %s)",
			p.By, s.in.Application, strings.Join(f.Emergency.Approvers, ", "))
	case s.st.FailedOver != "":
		return fmt.Sprintf("%s failed over already: %s", s.in.Application, s.st.FailedOver)
	case s.failoverPending():
		return fmt.Sprintf("a failover requested by %s is starting", s.failoverReq.By)
	}
	return ""
}

// startFailover stops the syncs, waits briefly for a running one to end,
// and starts the failover move as an abandoned child: it outlives the
// record's continue-as-new.
func (s *standby) startFailover(ctx workflow.Context) {
	req := s.failoverReq
	s.pause(req.By, "failover: "+req.Reason)
	if s.st.Running != "" {
		_ = workflow.RequestCancelExternalWorkflow(ctx, s.st.Running, "").Get(ctx, nil)
		_, _ = workflow.AwaitWithTimeout(ctx, 2*time.Minute, func() bool { return s.st.Running == "" })
	}
	in := *s.in.Failover
	in.Mode, in.StartedBy, in.Reason, in.StandbyCopy = ModeFailover, req.By, req.Reason, s.st.LastVerified
	now := workflow.Now(ctx)
	id := FailoverID(s.in.PlanName, s.in.Application, now)
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		StaticSummary:         fmt.Sprintf("failover of %s (plan %s) by %s", s.in.Application, s.in.PlanName, req.By),
	}
	if in.SearchAttributes {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(SearchAttrPlan).ValueSet(in.PlanName),
			temporal.NewSearchAttributeKeyKeyword(SearchAttrApplication).ValueSet(in.Application),
			phaseKey.ValueSet(PhasePreflight))
	}
	f := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, opts), MoveWorkflow, in)
	if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		s.st.FailoverErr = fmt.Sprintf("failover %s could not start: %v", id, err)
		s.resume()
		s.failoverReq = nil
		s.details()
		return
	}
	s.st.FailedOver, s.st.FailedOverAt = id, &now
	s.details()
}
