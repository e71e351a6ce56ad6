package workflows

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// A worker killed mid-copy is noticed by the heartbeat timeout; with the
// first retry interval that bounds how soon a restarted worker resumes.
// The copy heartbeats every few seconds, well inside the timeout.
func TestCopyResumesWithin30sOfAWorkerRestart(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	wf := func(ctx workflow.Context) (workflow.ActivityOptions, error) {
		return workflow.GetActivityOptions(copyOptions(ctx, contract.Host{Name: "fin_lg"})), nil
	}
	env.RegisterWorkflow(wf)
	env.ExecuteWorkflow(wf)
	var o workflow.ActivityOptions
	if err := env.GetWorkflowResult(&o); err != nil {
		t.Fatal(err)
	}
	if got := o.HeartbeatTimeout + o.RetryPolicy.InitialInterval; got > 25*time.Second {
		t.Errorf("heartbeat timeout %v + first retry %v = %v; a killed worker's copy resumes later than 30s after a restart",
			o.HeartbeatTimeout, o.RetryPolicy.InitialInterval, got)
	}
	if o.HeartbeatTimeout < 4*2*time.Second {
		t.Errorf("heartbeat timeout %v leaves no room for the copy's heartbeats", o.HeartbeatTimeout)
	}
}
