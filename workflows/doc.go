// Package workflows holds umzug's Temporal workflows: Move (one application
// through preflight, seed, approval, cutover, soak) and Wave (several moves
// in depends_on order). Code here must stay deterministic: no I/O, no
// wall-clock time, no map iteration that affects commands. Changes keep old
// histories replayable (see testdata and workflow.GetVersion).
//
// Decisions worth knowing:
//
//   - Every business outcome (committed, failed, rejected, expired,
//     rolled_back) completes the workflow with its Status as result; the
//     audit reads it. An error result means a bug.
//   - approve, reject, rollback, commit and reschedule arrive as signals
//     (Web UI) or updates (CLI, the Web UI's Send an Update). Both run the
//     same check and record the decision; updates have no validator, since
//     a validator's refusal leaves no trace in history: a refused update
//     completes with the reason as a Refused failure. Every signal and
//     update, accepted or refused, is in Status.Signals. Signals are read
//     for the whole run and drained before completion, so none is lost.
//   - Decision rules (GetVersion change decision-rules-canonical-
//     identities): identities are compared canonically (internal/identity)
//     in four-eyes, quorum and the approver and operator lists; a
//     reschedule voids the approvals given so far; only operators (default:
//     approvers) commit and roll back; approvals may be bound to the run
//     digest. Approvals sent before awaiting_approval (during preflight or
//     seed) are refused, not held: approval opens after seed.
//   - A Temporal cancel before cutover ends the move with nothing changed
//     (failed during preflight/seed, rejected while awaiting approval or
//     its window); during cutover or soak it rolls back. The rollback runs
//     on a disconnected context and retries an unreachable host forever.
//   - Window: the cutover starts only when the predicted length (stop
//     steps, final-sync estimate from EstimateDelta and the seed's measured
//     throughput, start steps, checks) fits into the rest of the window.
//     Steps count their timeout, or DefaultCommandEstimate without one.
//   - A wave starts children with ParentClosePolicy ABANDON on a
//     disconnected context: cancelling a wave never stops a cutover midway.
//   - History stays small: activities return counts and digests only, and
//     waits are timers, so a move is about 30–75 events (testdata) and a
//     check with 10 attempts adds about 90. No continue-as-new is needed:
//     a move's history is bounded by its plan, not by data or time.
package workflows
