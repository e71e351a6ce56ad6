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
	// roles: pause and resume need the plan's operators or emergency
	// approvers, and a failover pauses the schedule (records started
	// before version standbyRolesVersion took anyone and left it running).
	roles bool
}

// standbyRolesVersion is the GetVersion change that bound pause and
// resume to roles and lets the record pause its schedule on a failover.
const standbyRolesVersion = "standby-roles-and-schedule"

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
	s.roles = workflow.GetVersion(ctx, standbyRolesVersion, workflow.DefaultVersion, 1) >= 1
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
		b.WriteString(fmt.Sprintf("Failed over: %s (syncs stopped, schedule paused); after its failback commits, re-arm with "+
			"`umzug standby start PLAN --app %s --as USER`\n\n", st.FailedOver, st.Application))
	}
	if r := st.Rearmed; r != nil {
		b.WriteString(fmt.Sprintf("Re-armed after failback %s by %s\n\n", r.Failback, r.By))
	}
	if st.ScheduleErr != "" {
		b.WriteString(fmt.Sprintf("Schedule: %s\n\n", st.ScheduleErr))
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

// deciders are who may pause, resume and re-arm: the plan's operators
// (else its approvers) and its emergency approvers.
func (s *standby) deciders() []string {
	var l []string
	add := func(names ...string) {
		for _, n := range names {
			if identity.Index(l, n) < 0 {
				l = append(l, n)
			}
		}
	}
	add(s.in.Operators...)
	if f := s.in.Failover; f != nil {
		if f.Cutover.Approval != nil {
			add(operators(f.Cutover.Approval)...)
		}
		if f.Emergency != nil {
			add(f.Emergency.Approvers...)
		}
	}
	return l
}

// roleRefusal refuses a pause, resume or re-arm by someone the plan does
// not name.
func (s *standby) roleRefusal(name, by string) string {
	if !s.roles {
		return ""
	}
	return s.roleRefusalAlways(name, by)
}

// roleRefusalAlways is roleRefusal whatever the record's version: a
// re-arm is newer than any record, so none took it from anyone.
func (s *standby) roleRefusalAlways(name, by string) string {
	l := s.deciders()
	switch {
	case len(l) == 0:
		return fmt.Sprintf("the plan names no operators, approvers or emergency approvers for %s, so nobody may %s its standby", s.in.Application, name)
	case identity.Index(l, by) < 0:
		return fmt.Sprintf("%s may not %s the standby of %s: only the plan's operators and emergency approvers may (%s)",
			by, name, s.in.Application, strings.Join(l, ", "))
	}
	return ""
}

func (s *standby) checkPause(p StandbyDecision) string {
	switch {
	case identityRefusal(SignalPause, p.By) != "":
		return identityRefusal(SignalPause, p.By)
	case s.roleRefusal(SignalPause, p.By) != "":
		return s.roleRefusal(SignalPause, p.By)
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
	case s.roleRefusal(SignalResume, p.By) != "":
		return s.roleRefusal(SignalResume, p.By)
	case s.st.FailedOver != "":
		return fmt.Sprintf("the application failed over (%s); syncing the old source over the partner would overwrite it, so the standby stays stopped "+
			"until the failback %s commits; then re-arm it with `umzug standby start PLAN --app %s --as USER`",
			s.st.FailedOver, FailbackID(s.st.FailedOver), s.in.Application)
	case !s.st.Paused:
		return "the standby is not paused"
	}
	return ""
}

func (s *standby) pause(by, reason string) {
	now := workflow.Now(s.dctx)
	s.st.Paused, s.st.PausedBy, s.st.PauseReason, s.st.PausedAt, s.st.PausedVia = true, by, reason, &now, ""
}

func (s *standby) resume() {
	s.st.Paused, s.st.PausedBy, s.st.PauseReason, s.st.PausedAt, s.st.PausedVia = false, "", "", nil, ""
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
	if s.roles {
		// No empty runs after a failover: the schedule shows why it stopped.
		s.setSchedulePaused(ctx, SchedulePause{Paused: true, Note: fmt.Sprintf(
			"failed over: %s by %s (%s); after its failback commits, re-arm with `umzug standby start PLAN --app %s --as USER`",
			id, req.By, req.Reason, s.in.Application)})
	}
}

// setSchedulePaused pauses or unpauses the standby's schedule from the
// record; a failure is shown in the status, since the record skips the
// syncs while paused or failed over either way.
func (s *standby) setSchedulePaused(ctx workflow.Context, p SchedulePause) {
	p.ScheduleID = StandbyScheduleID(s.in.PlanName, s.in.Application)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: 3},
	})
	s.st.ScheduleErr = ""
	if err := workflow.ExecuteActivity(actx, ActivitySetSchedulePaused, p).Get(actx, nil); err != nil {
		s.st.ScheduleErr = fmt.Sprintf("schedule %s not changed (%s); pause or unpause it on the Web UI's Schedules page", p.ScheduleID, cause(err))
	}
	s.details()
}
