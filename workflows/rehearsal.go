package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
)

// SignalRehearsed tells a running move of the same application that a
// rehearsal succeeded; approvals that needed a recent one count from then.
const SignalRehearsed = "rehearsed"

// RehearsalID is the workflow ID of a rehearsal started at t.
func RehearsalID(plan, application string, t time.Time) string {
	return RehearsalIDPrefix(plan, application) + t.UTC().Format("20060102T150405Z")
}

// RehearsalIDPrefix starts the workflow ID of every rehearsal of an
// application, so its rehearsals are listed by prefix.
func RehearsalIDPrefix(plan, application string) string {
	return MoveID(plan, application) + "/rehearsal/"
}

// RehearsalRecord is what a rehearsal measured and left behind.
type RehearsalRecord struct {
	// ID is the rehearsal's workflow ID.
	ID       string    `json:"id"`
	Finished time.Time `json:"finished"`
	// Succeeded: the rehearsal committed and cleaned up.
	Succeeded bool `json:"succeeded"`
	// Durations are measured, in the order they ran.
	Durations []Measured `json:"durations"`
	// Cleanup says what was removed from the scratch root, or why not.
	Cleanup   string `json:"cleanup"`
	CleanedUp bool   `json:"cleaned_up"`
}

// Measured is one measured duration: a phase, the seed or final sync of a
// copy set, a step or a check (all its attempts).
type Measured struct {
	Kind     string        `json:"kind"` // "phase", "seed", BlockStep, BlockFinalSync, BlockCheck
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration"`
}

// Of returns the measured duration of kind and name.
func (r *RehearsalRecord) Of(kind, name string) (time.Duration, bool) {
	if r == nil {
		return 0, false
	}
	for _, d := range r.Durations {
		if d.Kind == kind && d.Name == name {
			return d.Duration, true
		}
	}
	return 0, false
}

// endRehearsal runs after a rehearsal, whatever its outcome: it records
// the measured durations, removes what the rehearsal wrote under its
// scratch root, and tells a running move of the application.
func (m *move) endRehearsal(ctx workflow.Context) {
	rec := &RehearsalRecord{ID: m.id, Durations: m.measured()}
	var res contract.CleanupResult
	var targets []string
	for _, c := range m.in.Copies {
		targets = append(targets, c.To)
	}
	in := contract.CleanupInput{MoveID: m.id, Host: m.in.Target, Root: m.in.RehearsalRoot, Targets: targets}
	err := workflow.ExecuteActivity(cleanupOptions(m.dctx, m.in.Target), contract.NameCleanupRehearsal, in).Get(m.dctx, &res)
	if err != nil {
		rec.Cleanup = fmt.Sprintf("cleanup of %s on %s failed: %s", m.in.RehearsalRoot, m.in.Target.Name, cause(err))
		m.st.Error = strings.TrimPrefix(m.st.Error+"; "+rec.Cleanup, "; ")
	} else {
		rec.CleanedUp = true
		rec.Cleanup = fmt.Sprintf("removed %d entries under %s on %s (%s)", res.Entries, m.in.RehearsalRoot, m.in.Target.Name,
			strings.Join(append(res.Removed, res.Pruned...), ", "))
	}
	rec.Succeeded = rec.CleanedUp && m.st.Phase == PhaseCommitted
	rec.Finished = workflow.Now(m.dctx)
	m.st.Rehearsal = rec
	m.details()
	if rec.Succeeded {
		// No move running is the usual case: the signal then fails, and
		// the next `umzug run` finds this rehearsal itself.
		target := MoveID(m.in.PlanName, m.in.Application)
		_ = workflow.SignalExternalWorkflow(m.dctx, target, "", SignalRehearsed, *rec).Get(m.dctx, nil)
	}
}

// measured lists the durations of the phases, the seed of each copy set,
// and each step, final sync and check (attempts summed) as they ran.
func (m *move) measured() []Measured {
	var out []Measured
	for i, p := range m.st.Phases {
		end := workflow.Now(m.dctx)
		if i+1 < len(m.st.Phases) {
			end = m.st.Phases[i+1].At
		}
		if p.Phase != PhaseCommitted {
			out = append(out, Measured{Kind: "phase", Name: p.Phase, Duration: end.Sub(p.At)})
		}
	}
	for _, c := range m.st.Copies {
		if c.Phase == contract.PhaseSeed {
			out = append(out, Measured{Kind: "seed", Name: c.Set, Duration: c.Duration})
		}
	}
	at := map[string]int{}
	for _, s := range m.st.Steps {
		d := s.Finished.Sub(s.Started)
		key := s.Kind + "\x00" + s.Name
		if i, ok := at[key]; ok {
			out[i].Duration += d
			continue
		}
		at[key] = len(out)
		out = append(out, Measured{Kind: s.Kind, Name: s.Name, Duration: d})
	}
	return out
}

// checkRehearsed refuses approvals of a move whose plan requires a recent
// successful rehearsal and has none.
func (m *move) checkRehearsed() string {
	need := m.in.RehearsalRequired
	if need <= 0 {
		return ""
	}
	r := m.st.Rehearsed
	hint := fmt.Sprintf("run `umzug run PLAN --rehearsal --app %s` first; this move accepts approvals once it succeeds", m.in.Application)
	if r == nil {
		return fmt.Sprintf("the plan requires a successful rehearsal within %s before approvals; there is none: %s", units.Duration(need), hint)
	}
	if age := workflow.Now(m.dctx).Sub(r.Finished); age > need {
		return fmt.Sprintf("the plan requires a successful rehearsal within %s before approvals; the last one (%s) finished %s ago: %s",
			units.Duration(need), r.ID, units.Duration(age), hint)
	}
	return ""
}

func (m *move) checkRehearsedSignal(p RehearsalRecord) string {
	switch {
	case !p.Succeeded:
		return fmt.Sprintf("rehearsal %s did not succeed; it does not count", p.ID)
	case !strings.HasPrefix(p.ID, RehearsalIDPrefix(m.in.PlanName, m.in.Application)):
		return fmt.Sprintf("%q is not a rehearsal of %s in plan %s", p.ID, m.in.Application, m.in.PlanName)
	case m.st.Rehearsed != nil && !p.Finished.After(m.st.Rehearsed.Finished):
		return fmt.Sprintf("rehearsal %s is not newer than %s", p.ID, m.st.Rehearsed.ID)
	}
	return ""
}

func cleanupOptions(ctx workflow.Context, h contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 5,
		},
	})
}

// estimate is how long a step takes: as measured by the rehearsal the
// move knows of, else its timeout or DefaultCommandEstimate.
func (m *move) estimate(b Block) time.Duration {
	if d, ok := m.st.Rehearsed.Of(b.Kind, b.Name); ok {
		return d
	}
	return commandEstimate(b)
}

// checkEstimate is how long a check takes: as measured (all attempts) by
// the rehearsal, else every attempt failing but the last.
func (m *move) checkEstimate(b Block) time.Duration {
	if d, ok := m.st.Rehearsed.Of(b.Kind, b.Name); ok {
		return d
	}
	n := attempts(b)
	return time.Duration(n)*commandEstimate(b) + time.Duration(n-1)*b.Interval
}
