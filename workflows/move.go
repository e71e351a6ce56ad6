package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// move is the state of one Move run. Signal and update handlers mutate it;
// the main coroutine waits on it with workflow.Await.
type move struct {
	in MoveInput
	id string
	st Status
	// dctx is never cancelled: bookkeeping, the signal listeners and the
	// rollback saga keep working after a Temporal cancel.
	dctx workflow.Context

	seedRate map[string]float64 // copy set -> measured seed bytes/s
	// identState is, per copy set, the verified-identity state its seed
	// wrote on the target; the final sync uses that file only when it
	// still hashes to this (nil: it hashes every unchanged file).
	identState  map[string]*contract.IdentState
	done        []Block // completed cutover steps, in order
	partial     string  // the last of done failed or timed out and may have run in part
	rejected    *RejectSignal
	rollbackReq *RollbackSignal
	commitReq   *CommitSignal
	reschedules int // bumped by every accepted reschedule
	waits       int // bumped by noteWait
	dec         decisionState
	drainers    []func() bool
	// multi: the input spans several hosts and the run uses them
	// (changeMultiHost); partials names every block of a parallel group
	// that failed and may have run in part.
	multi    bool
	partials map[string]bool
}

// Move moves one application (docs/design.md). It completes with the Status as
// its result for every business outcome (committed, failed, rejected,
// expired, rolled_back) so that the audit reads it; an error means a bug.
//
// Cancelling the workflow (Temporal cancel) before cutover ends the move
// with nothing changed: phase failed during preflight/seed, rejected while
// awaiting approval or the window. During cutover or soak it rolls back.
func Move(ctx workflow.Context, in MoveInput) (Status, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	m := &move{
		in:         in,
		id:         workflow.GetInfo(ctx).WorkflowExecution.ID,
		dctx:       dctx,
		seedRate:   map[string]float64{},
		identState: map[string]*contract.IdentState{},
		st: Status{
			PlanName: in.PlanName, PlanSHA256: in.PlanSHA256, Application: in.Application,
			StartedBy: in.StartedBy, Source: in.Source.Name, Target: in.Target.Name,
			Mode: in.Mode, Rehearsed: in.Rehearsed, FailbackOf: in.FailbackOf,
		},
	}
	if in.Cutover.Window != nil {
		w := *in.Cutover.Window
		m.st.Window = &w
	}
	if err := m.registerHandlers(ctx); err != nil {
		return m.st, fmt.Errorf("register handlers of move %s: %w", m.id, err)
	}
	if in.spansHosts() {
		m.multi = workflow.GetVersion(ctx, changeMultiHost, workflow.DefaultVersion, 1) >= 1
	}
	if m.multi {
		m.st.Hosts = m.hostList()
	}
	m.run(ctx)
	if in.Mode == ModeRehearsal {
		m.endRehearsal(ctx)
	}
	m.finish()
	return m.st, nil
}

func (m *move) run(ctx workflow.Context) {
	if m.in.Mode == ModeFailover {
		m.runFailover(ctx)
		return
	}
	if !m.preflight(ctx) || !m.seed(ctx) || !m.awaitApproval(ctx) || !m.cutover(ctx) {
		return
	}
	m.soak(ctx)
}

// finish handles what arrived in the last workflow task (refused: the move
// is over) and waits for running update handlers, so nothing is lost.
func (m *move) finish() {
	for {
		any := false
		for _, d := range m.drainers {
			for d() {
				any = true
			}
		}
		if !any {
			break
		}
	}
	_ = workflow.Await(m.dctx, func() bool { return workflow.AllHandlersFinished(m.dctx) })
}

var phaseKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrPhase)

// setPhase logs a phase change, upserts the phase search attribute and
// refreshes the Web UI details.
func (m *move) setPhase(p string) {
	m.st.Phase = p
	m.st.Phases = append(m.st.Phases, PhaseChange{Phase: p, At: workflow.Now(m.dctx)})
	if m.in.SearchAttributes {
		if err := workflow.UpsertTypedSearchAttributes(m.dctx, phaseKey.ValueSet(p)); err != nil {
			workflow.GetLogger(m.dctx).Warn("upsert phase search attribute", "phase", p, "error", err)
		}
	}
	m.details()
}

// details is the markdown the Web UI shows as the workflow's current details.
func (m *move) details() { workflow.SetCurrentDetails(m.dctx, m.detailsText()) }

// host returns the host a block runs on.
func (m *move) host(on string) contract.Host {
	if on == "source" {
		return m.in.Source
	}
	if name := stepHostName(on); m.multi && name != "" {
		if h, ok := hostNamed(m.in.Subject, m.in.Hosts, name); ok {
			return h
		}
	}
	return m.in.Target
}

// noteWait names a wait that just ended in the hosts' ConnSince, when the
// workflow blocked since `since` (for a person or the clock): the next
// activity on each host then logs in anew and checks the host's key, since
// the key may have changed meanwhile (contract.Host.ConnSince).
func (m *move) noteWait(ctx workflow.Context, since time.Time) {
	if !workflow.Now(ctx).After(since) {
		return
	}
	m.waits++
	name := fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.RunID, m.waits)
	m.setConnSince(name)
}

// endBeforeCutover ends the move in phase p (failed, rejected, expired)
// with nothing changed on the source.
func (m *move) endBeforeCutover(p, why string) {
	m.st.Error = why
	m.setPhase(p)
}

func (m *move) preflight(ctx workflow.Context) bool {
	m.setPhase(PhasePreflight)
	return m.runPreflight(ctx)
}

// runPreflight runs the Preflight activity and, at the same time, the
// secrets check on the queue of each host whose commands use secrets
// (the Preflight activity runs on the target's queue only); false ends
// the move, naming every problem found.
func (m *move) runPreflight(ctx workflow.Context) bool {
	var secrets []workflow.Future
	if workflow.GetVersion(ctx, versionPreflightSecrets, workflow.DefaultVersion, 1) >= 1 {
		if m.multi {
			secrets = m.checkSecretsMulti(ctx)
		} else {
			secrets = m.checkSecrets(ctx)
		}
	}
	if m.multi {
		return m.preflightMulti(ctx, secrets)
	}
	src, tgt := m.commandWords()
	in := contract.PreflightInput{
		MoveID: m.id, Source: m.in.Source, Target: m.in.Target, Copies: m.in.Copies,
		SourceCommands: src, TargetCommands: tgt,
	}
	var res contract.PreflightResult
	err := workflow.ExecuteActivity(preflightOptions(ctx, m.in.Target), contract.NamePreflight, in).Get(ctx, &res)
	var problems []string
	if err != nil {
		problems = append(problems, cause(err))
	}
	for _, f := range secrets {
		if serr := f.Get(ctx, nil); serr != nil {
			if err == nil {
				err = serr
			}
			problems = append(problems, cause(serr))
		}
	}
	if err != nil {
		if len(problems) > 1 && ctx.Err() == nil && !temporal.IsCanceledError(err) {
			m.endBeforeCutover(PhaseFailed, fmt.Sprintf("preflight failed: %s; nothing changed on the source", strings.Join(problems, "; ")))
		} else {
			m.endBeforeCutover(PhaseFailed, failedBefore(ctx, "preflight", err))
		}
		return false
	}
	m.st.Preflight = &res
	return true
}

// versionPreflightSecrets: preflight also checks the secrets on each
// host's queue (histories before it have no CheckSecrets activities).
const versionPreflightSecrets = "preflight-secrets"

// checkSecrets starts one CheckSecrets activity per host whose cutover
// commands use secrets, on that host's queue.
func (m *move) checkSecrets(ctx workflow.Context) []workflow.Future {
	names := map[string][]string{}
	for _, b := range m.in.Cutover.Blocks {
		side := "target"
		if b.On == "source" {
			side = "source"
		}
		names[side] = append(names[side], b.Secrets...)
	}
	var out []workflow.Future
	for _, side := range []string{"source", "target"} {
		n := sortedUnique(names[side])
		if len(n) == 0 {
			continue
		}
		h := m.host(side)
		in := contract.CheckSecretsInput{MoveID: m.id, Side: side, Host: h, Names: n}
		out = append(out, workflow.ExecuteActivity(secretsOptions(ctx, h), contract.NameCheckSecrets, in))
	}
	return out
}

func (m *move) seed(ctx workflow.Context) bool {
	m.setPhase(PhaseSeed)
	for _, set := range m.in.Copies {
		src, tgt := m.pair(set)
		in := contract.CopyInput{MoveID: m.id, Phase: contract.PhaseSeed, Source: src, Target: tgt, Set: set}
		var res contract.CopyResult
		err := workflow.ExecuteActivity(copyOptions(ctx, tgt), contract.NameCopyTree, in).Get(ctx, &res)
		if err != nil {
			m.noteRefusalsOf(set, contract.PhaseSeed, err)
			m.endBeforeCutover(PhaseFailed, failedBefore(ctx, fmt.Sprintf("seed of copy set %s (%s on %s → %s on %s)",
				set.Name, set.From, src.Name, set.To, tgt.Name), err))
			return false
		}
		m.st.Copies = append(m.st.Copies, res)
		m.seedRate[set.Name] = res.BytesPerSec
		m.identState[set.Name] = res.IdentState
		if why := m.refusalsFail(ctx, set, contract.PhaseSeed, res); why != "" {
			m.endBeforeCutover(PhaseFailed, fmt.Sprintf("seed refused: %s; nothing changed on the source", why))
			return false
		}
	}
	return true
}

// failedBefore explains a failure before cutover.
func failedBefore(ctx workflow.Context, what string, err error) string {
	if ctx.Err() != nil || temporal.IsCanceledError(err) {
		return fmt.Sprintf("move cancelled during %s; nothing changed on the source", what)
	}
	return fmt.Sprintf("%s failed: %s; nothing changed on the source", what, cause(err))
}

// cause is the activity's own message without the SDK's wrapping
// ("activity error (type: CopyTree, scheduledEventID: 9, ...)").
func cause(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return to.Error()
	}
	return err.Error()
}

// commandWords lists the first word of every step, undo and check command
// per side, so preflight can check the commands exist. Leading VAR=value
// assignments are skipped.
func (m *move) commandWords() (source, target []string) {
	seen := map[string][]string{}
	for _, b := range m.in.Cutover.Blocks {
		if b.Kind == BlockFinalSync {
			continue
		}
		for _, c := range []string{b.Run, b.Undo} {
			for _, w := range strings.Fields(c) {
				if strings.Contains(w, "=") && !strings.HasPrefix(w, "=") && !strings.ContainsAny(w, "/") {
					continue
				}
				side := "target"
				if b.On == "source" {
					side = "source"
				}
				seen[side] = append(seen[side], w)
				break
			}
		}
	}
	return sortedUnique(seen["source"]), sortedUnique(seen["target"])
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
