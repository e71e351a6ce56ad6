package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// cutover runs the cutover blocks in the order written. Any failure, or a
// Temporal cancel, rolls back the completed steps (saga).
func (m *move) cutover(ctx workflow.Context) bool {
	m.setPhase(PhaseCutover)
	blocks := m.in.Cutover.Blocks
	for i := 0; i < len(blocks); {
		group, next := m.groupAt(blocks, i)
		i = next
		var err error
		if len(group) == 1 {
			err = m.runBlock(ctx, group[0])
		} else {
			err = m.runGroup(ctx, group, m.runBlock)
		}
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("move cancelled during cutover (%w)", err)
			}
			m.rollback(err.Error())
			return false
		}
	}
	return true
}

// runBlock runs one step, final_sync or check.
func (m *move) runBlock(ctx workflow.Context, b Block) error {
	if m.skipInFailover(b) {
		return nil
	}
	switch b.Kind {
	case BlockStep:
		return m.runStep(ctx, b)
	case BlockFinalSync:
		return m.finalSync(ctx)
	case BlockCheck:
		return m.runCheck(ctx, b)
	}
	return fmt.Errorf("unknown cutover block kind %q (%s)", b.Kind, b.Name)
}

// command runs one command and records it in Steps. A command that could
// not run at all has exit code -1 in the record and returns the error.
func (m *move) command(ctx workflow.Context, opts workflow.Context, kind string, b Block, command, purpose string) (contract.CommandResult, error) {
	h, name, on := m.host(b.On), b.Name, b.On
	in := contract.CommandInput{Host: h, Command: command, Purpose: purpose, Timeout: b.Timeout,
		Secrets: secretsIn(command, b.Secrets), KeepOutput: b.KeepOutput, NoBecome: b.NoBecome}
	started := workflow.Now(ctx)
	var res contract.CommandResult
	err := workflow.ExecuteActivity(opts, contract.NameRunCommand, in).Get(ctx, &res)
	if err != nil {
		resultOfFailure(err, &res)
	}
	rec := StepRecord{Kind: kind, Name: name, On: on, Host: h.Name, Command: command,
		ExitCode: res.ExitCode, Started: res.Started, Finished: res.Finished}
	if err != nil {
		rec.ExitCode = -1
		rec.Error = cause(err)
	}
	if rec.Started.IsZero() {
		rec.Started, rec.Finished = started, workflow.Now(ctx)
	}
	if err == nil && res.ExitCode != 0 {
		rec.Error = tail(res.Stderr)
	}
	m.st.Steps = append(m.st.Steps, rec)
	return res, err
}

func (m *move) runStep(ctx workflow.Context, b Block) error {
	h := m.host(b.On)
	res, err := m.command(ctx, commandOptions(ctx, h, b.Timeout), BlockStep, b, b.Run, "step "+b.Name)
	if err != nil || res.ExitCode != 0 {
		m.notePartial(ctx, b)
	}
	if err != nil {
		return fmt.Errorf("step %s on %s (%s) could not run: %s", b.Name, h.Name, b.Run, cause(err))
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("step %s on %s exited %d (%s)%s", b.Name, h.Name, res.ExitCode, b.Run, stderrNote(res))
	}
	m.done = append(m.done, b)
	return nil
}

// changeUndoFailedSteps is the workflow.GetVersion change ID for undoing
// (or handing to a human) a step that failed or timed out. Histories from
// before it rolled back completed steps only and must replay as they ran.
const changeUndoFailedSteps = "undo-failed-and-timed-out-steps"

// notePartial: a step that failed, timed out or lost its worker may have
// done part of its work (a timed-out stop may have stopped the service),
// so rollback treats it like a completed one: its undo runs (undo commands
// are idempotent), or, without undo, it is listed for manual attention.
func (m *move) notePartial(ctx workflow.Context, b Block) {
	if workflow.GetVersion(ctx, changeUndoFailedSteps, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	m.done = append(m.done, b)
	m.partial = b.Name
	if b.Group > 0 && m.multi {
		if m.partials == nil {
			m.partials = map[string]bool{}
		}
		m.partials[b.Name] = true
	}
}

// resultOfFailure recovers the result a failed command carries as error
// details (a timed-out or lost command keeps its output and attempts).
func resultOfFailure(err error, res *contract.CommandResult) {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.HasDetails() {
		var r contract.CommandResult
		if ae.Details(&r) == nil {
			*res = r
		}
	}
}

func (m *move) runCheck(ctx workflow.Context, b Block) error {
	h := m.host(b.On)
	n := attempts(b)
	// Histories recorded before retries meant "extra attempts" ran a check
	// `retries` times; they must replay as they ran.
	if workflow.GetVersion(ctx, changeCheckRetriesExtra, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		n = max(1, b.Retries)
	}
	var last string
	for k := 1; k <= n; k++ {
		if k > 1 && b.Interval > 0 {
			since := workflow.Now(ctx)
			if err := workflow.Sleep(ctx, b.Interval); err != nil {
				return fmt.Errorf("check %s on %s interrupted after %d of %d attempts: %w", b.Name, h.Name, k-1, n, err)
			}
			m.noteWait(ctx, since)
		}
		res, err := m.command(ctx, commandOptions(ctx, h, b.Timeout), BlockCheck, b, b.Run,
			fmt.Sprintf("check %s (attempt %d/%d)", b.Name, k, n))
		switch {
		case err != nil && (ctx.Err() != nil || temporal.IsCanceledError(err)):
			return fmt.Errorf("check %s on %s cancelled: %w", b.Name, h.Name, err)
		case err != nil:
			last = "could not run: " + cause(err)
		case res.ExitCode == 0:
			return nil
		default:
			last = fmt.Sprintf("exited %d%s", res.ExitCode, stderrNote(res))
		}
	}
	return fmt.Errorf("check %s on %s failed all %d attempts (%s); last %s", b.Name, h.Name, n, b.Run, last)
}

// finalSync copies the delta of every set, deleting on the target what is
// gone from the source where the set says delete = true.
func (m *move) finalSync(ctx workflow.Context) error {
	if m.multi {
		if groups := m.pairGroups(); len(groups) > 1 {
			return m.finalSyncPairs(ctx, groups)
		}
	}
	for _, set := range m.in.Copies {
		if err := m.finalSyncSet(ctx, set); err != nil {
			return err
		}
	}
	return nil
}

// finalSyncSet copies the delta of one set and records it in Steps.
func (m *move) finalSyncSet(ctx workflow.Context, set contract.CopySet) error {
	src, tgt := m.pair(set)
	in := contract.CopyInput{MoveID: m.id, Phase: contract.PhaseFinalSync, Source: src,
		Target: tgt, Set: set, Delete: set.Delete, IdentState: m.identState[set.Name]}
	started := workflow.Now(ctx)
	var res contract.CopyResult
	err := workflow.ExecuteActivity(copyOptions(ctx, tgt), contract.NameCopyTree, in).Get(ctx, &res)
	rec := StepRecord{Kind: BlockFinalSync, Name: set.Name, On: "target", Host: tgt.Name,
		Command: fmt.Sprintf("copy %s:%s → %s:%s (delete %t)", src.Name, set.From, tgt.Name, set.To, set.Delete),
		Started: started, Finished: workflow.Now(ctx)}
	if err != nil {
		m.noteRefusalsOf(set, contract.PhaseFinalSync, err)
		rec.ExitCode, rec.Error = -1, cause(err)
		m.st.Steps = append(m.st.Steps, rec)
		return fmt.Errorf("final_sync of copy set %s to %s failed: %s", set.Name, tgt.Name, cause(err))
	}
	m.st.Copies = append(m.st.Copies, res)
	if why := m.refusalsFail(ctx, set, contract.PhaseFinalSync, res); why != "" {
		rec.ExitCode, rec.Error = -1, why
		m.st.Steps = append(m.st.Steps, rec)
		return fmt.Errorf("final_sync refused: %s", why)
	}
	m.st.Steps = append(m.st.Steps, rec)
	return nil
}

func stderrNote(res contract.CommandResult) string {
	if t := tail(res.Stderr); t != "" {
		return ": " + t
	}
	return ""
}

// tail keeps the last line(s) of command output short for errors.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = "…" + s[len(s)-300:]
	}
	return s
}
