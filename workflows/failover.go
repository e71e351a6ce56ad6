package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// runFailover is a Move in ModeFailover (docs/design.md, standby and
// failover): no seed, no approval wait and no window; the emergency
// approval of whoever pressed the button is recorded and a second
// confirmation is due within the plan's confirm_within. When the source
// answers, preflight and the whole cutover run (the final sync is the last
// delta). When it does not, the source's steps and the final sync are
// skipped and recorded, and the target proceeds from the standby's last
// verified copy. After its checks pass a failover commits at once: there
// is no soak, because the source it would return to is gone or stopped.
func (m *move) runFailover(ctx workflow.Context) {
	m.startEmergency(ctx)
	m.setPhase(PhasePreflight)
	if m.probeSource(ctx) {
		if !m.runPreflight(ctx) {
			return
		}
	} else if !m.fromStandbyCopy() {
		return
	}
	if !m.cutover(ctx) {
		return
	}
	m.setPhase(PhaseCommitted)
	m.awaitLateConfirmation(ctx)
}

// probeOptions: a few quick attempts; an emergency does not wait minutes
// for a source that is gone.
func probeOptions(ctx workflow.Context, target contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, target),
		StartToCloseTimeout: 45 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
		},
	})
}

// probeSource reports whether the source answers, from the target's
// workers (the ones that would pull the last delta from it).
func (m *move) probeSource(ctx workflow.Context) bool {
	var res contract.ProbeResult
	err := workflow.ExecuteActivity(probeOptions(ctx, m.in.Target), contract.NameProbeHost, m.in.Source).Get(ctx, &res)
	if err == nil {
		return true
	}
	f := m.st.Failover
	f.SourceUnreachable, f.SourceError = true, cause(err)
	m.details()
	return false
}

// fromStandbyCopy decides whether the failover may go on without the
// source: only from a verified standby copy, which the status names.
func (m *move) fromStandbyCopy() bool {
	f := m.st.Failover
	c := m.in.StandbyCopy
	if !c.OK() {
		m.endBeforeCutover(PhaseFailed, fmt.Sprintf("source %s unreachable (%s) and the target holds no verified standby copy; "+
			"nothing changed: bring the source back, or let a standby sync complete first", m.in.Source.Name, f.SourceError))
		return false
	}
	f.StandbyCopy = c
	m.details()
	return true
}

// StandbyCopyNote says which standby copy a failover proceeded from.
func StandbyCopyNote(c *StandbySync) string {
	var ds []string
	for _, mf := range c.Manifests {
		ds = append(ds, fmt.Sprintf("%s manifest sha256 %s", mf.Set, mf.SHA256))
	}
	return fmt.Sprintf("the last verified standby copy of %s (%s)", c.Finished.UTC().Format(time.RFC3339), strings.Join(ds, "; "))
}

// skipInFailover skips, when the source is unreachable, what needs it:
// steps and checks on the source, and the final sync.
func (m *move) skipInFailover(b Block) bool {
	f := m.st.Failover
	if f == nil || !f.SourceUnreachable || (b.On != "source" && b.Kind != BlockFinalSync && !m.sourceSite(b.On)) {
		return false
	}
	name := b.Kind
	if b.Name != "" && b.Kind != BlockFinalSync {
		name += " " + b.Name
	}
	on := m.in.Source.Name
	if h := m.host(b.On); b.Kind != BlockFinalSync && b.On != "source" {
		on = h.Name
	}
	f.Skipped = append(f.Skipped, fmt.Sprintf("%s on %s: skipped, the source is unreachable", name, on))
	m.details()
	return true
}
