//go:build chaos

package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/umzug-dev/umzug/workflows"
)

// cli runs the umzug binary as a user would, against d.
func (s *suite) cli(d *devProc, args ...string) (string, error) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = d.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("umzug %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// start validates nothing beyond what `umzug run` does and starts the move.
func (c *cell) start(d *devProc) error {
	if err := c.freeze(); err != nil {
		return err
	}
	_, err := c.s.cli(d, "run", c.planFile, "--as", "ops.one")
	return err
}

func (c *cell) approve(d *devProc) error {
	_, err := c.s.cli(d, "approve", c.id(), "--as", "ops.two", "--comment", "chaos "+c.name)
	return err
}

// status queries the move; errors while the server restarts are normal.
func (c *cell) status(d *devProc) (workflows.Status, error) {
	var st workflows.Status
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := d.Client().QueryWorkflow(ctx, c.id(), "", workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// closed reports whether the workflow has ended.
func (c *cell) closed(d *devProc) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc, err := d.Client().DescribeWorkflowExecution(ctx, c.id(), "")
	if err != nil {
		return false
	}
	return desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

var errDeadline = errors.New("deadline passed")

// waitFor polls until cond holds, the move ends, or the deadline passes.
func (c *cell) waitFor(d *devProc, deadline time.Time, cond func(workflows.Status) bool) (workflows.Status, error) {
	for {
		st, err := c.status(d)
		if err == nil && cond(st) {
			return st, nil
		}
		if err == nil && isFinal(st.Phase) {
			return st, fmt.Errorf("move ended in %s: %s", st.Phase, st.Error)
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%w in phase %q (last error %v)", errDeadline, st.Phase, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func isFinal(phase string) bool {
	switch phase {
	case workflows.PhaseCommitted, workflows.PhaseFailed, workflows.PhaseRejected, workflows.PhaseExpired, workflows.PhaseRolledBack:
		return true
	}
	return false
}

// finish waits for the move to end by itself; past the deadline it is
// terminated and counted as unsettled.
func (c *cell) finish(d *devProc, deadline time.Time) outcome {
	for !c.closed(d) {
		if time.Now().After(deadline) {
			st, _ := c.status(d)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = d.Client().TerminateWorkflow(ctx, c.id(), "", "chaos suite: run deadline passed")
			cancel()
			return outcome{phase: st.Phase, err: fmt.Sprintf("did not end within its deadline (stuck in %s): %s", st.Phase, st.Error)}
		}
		time.Sleep(500 * time.Millisecond)
	}
	st, err := c.status(d)
	if err != nil {
		return outcome{err: "status after end: " + err.Error()}
	}
	return outcome{phase: st.Phase, err: st.Error, settled: true}
}

// untilApproval runs the move to awaiting_approval, changes the source as
// a running application would, and approves. A move that ends earlier
// (a refused seed) is left to finish.
func (c *cell) untilApproval(d *devProc, deadline time.Time, beforeApprove func() error) error {
	if _, err := c.waitFor(d, deadline, func(st workflows.Status) bool { return st.Phase == workflows.PhaseAwaitingApproval }); err != nil {
		if errors.Is(err, errDeadline) {
			return err
		}
		return nil // ended: finish() reports how
	}
	// Foreign bytes count whenever they are on the target, not only at the
	// end: a final sync may overwrite what the seed should never have read.
	if n, where := c.foreignBytes(); n > 0 {
		c.seedForeign, c.seedForeignAt = n, where
	}
	if err := mutate(c.srcData, c.rng, c.o.profile); err != nil {
		return err
	}
	if beforeApprove != nil {
		if err := beforeApprove(); err != nil {
			return err
		}
	}
	if err := c.freeze(); err != nil {
		return err
	}
	return c.approve(d)
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }
