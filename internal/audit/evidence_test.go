package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

var t0 = time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)

func ruledReport(rule *workflows.ApprovalRule, st workflows.Status) *Report {
	r := &Report{WorkflowID: "umzug/p/a", WorkflowType: workflows.MoveWorkflow, StartedBy: "a.meier", RunDigest: "d1",
		in: &workflows.MoveInput{Subject: workflows.Subject{StartedBy: "a.meier"}, Cutover: workflows.Cutover{Approval: rule,
			Window: &workflows.Window{NotBefore: t0, Duration: time.Hour}}}}
	r.Approval = rule
	r.applyStatus(st)
	return r
}

// The report re-checks each accepted decision against the rule in
// history and flags one the rule does not allow.
func TestDecisionsCheckedAgainstRule(t *testing.T) {
	rule := &workflows.ApprovalRule{Approvers: []string{"a.meier", "b.schulz"}, Quorum: 1, FourEyes: true, RequireRunDigest: true}
	r := ruledReport(rule, workflows.Status{Signals: []workflows.SignalRecord{
		{Name: "approve", Identity: "B.Schulz", At: t0, Accepted: true, RunDigest: "d1"},
		{Name: "approve", Identity: "mallory", At: t0, Accepted: true},
		{Name: "commit", Identity: "a.meier", At: t0, Accepted: true},
	}})
	want := []string{
		"approval 1 of quorum 1; listed approver; not the starter (four-eyes); bound to the run digest",
		"approval 2 of quorum 1; RULE NOT MET: not a listed approver; not bound to the run digest (met: not the starter (four-eyes))",
		"listed operator",
	}
	for i, d := range r.Decisions {
		if d.RuleCheck != want[i] || d.Violation != (i == 1) {
			t.Errorf("decision %d: %q (violation %v), want %q", i, d.RuleCheck, d.Violation, want[i])
		}
	}
}

// The audit's four-eyes check counts a look-alike of the starter (here
// with a Cyrillic а) as the starter, as the workflow does since decision
// rules 2, so a history of an older rule that accepted one is flagged.
func TestFourEyesFlagsALookAlikeStarter(t *testing.T) {
	rule := &workflows.ApprovalRule{Approvers: []string{"\u0430.meier", "b.schulz"}, Quorum: 1, FourEyes: true}
	r := ruledReport(rule, workflows.Status{Signals: []workflows.SignalRecord{
		{Name: "approve", Identity: "\u0430.meier", At: t0, Accepted: true},
	}})
	if len(r.Decisions) != 1 || !r.Decisions[0].Violation || !strings.Contains(r.Decisions[0].RuleCheck, "is the starter (four-eyes)") {
		t.Fatalf("decisions %+v; want the look-alike starter flagged", r.Decisions)
	}
}

// A cutover that runs past the window is reported as such.
func TestWindowCheckFlagsCutoverOutside(t *testing.T) {
	r := ruledReport(nil, workflows.Status{Phases: []workflows.PhaseChange{
		{Phase: workflows.PhaseCutover, At: t0.Add(30 * time.Minute)},
		{Phase: workflows.PhaseSoak, At: t0.Add(90 * time.Minute)},
	}})
	if r.Window == nil || *r.Window.StartedInside != true || *r.Window.EndedInside != false {
		t.Fatalf("window %+v", r.Window)
	}
	var b strings.Builder
	r.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "| Verdict | **cutover started inside and ended OUTSIDE the window** |") {
		t.Fatalf("report:\n%s", b.String())
	}
	// A rescheduled window is the one in force.
	r = ruledReport(nil, workflows.Status{Window: &workflows.Window{NotBefore: t0.Add(time.Hour), Duration: time.Hour},
		Phases: []workflows.PhaseChange{{Phase: workflows.PhaseCutover, At: t0.Add(90 * time.Minute)}, {Phase: workflows.PhaseSoak, At: t0.Add(100 * time.Minute)}}})
	if !strings.HasPrefix(r.Window.Verdict, "cutover started inside and ended inside") || r.Window.PlannedNotBefore != t0 {
		t.Fatalf("rescheduled window %+v", r.Window)
	}
}
