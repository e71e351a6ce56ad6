// Package workflows holds umzug's Temporal workflows: Move (one application
// through preflight, seed, approval, cutover, soak) and Wave (several moves
// in depends_on order). Code here must stay deterministic: no I/O, no
// wall-clock time, no map iteration that affects commands. Changes keep old
// histories replayable (see testdata and workflow.GetVersion).
package workflows
