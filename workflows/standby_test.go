package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
)

// standbyEnv runs a standby record that answers sync-1 and then sync-2;
// pingErr is what signalling the first sync returns (an error: it was
// terminated without reporting). It returns the record's status after
// the second request and the answers the syncs got.
func standbyEnv(t *testing.T, pingErr error) (StandbyStatus, map[string]syncAnswer) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	answers := map[string]syncAnswer{}
	for _, id := range []string{"sync-1", "sync-2"} {
		env.OnSignalExternalWorkflow(mock.Anything, id, "", signalSyncAnswer, mock.Anything).Run(func(args mock.Arguments) {
			answers[id] = args.Get(4).(syncAnswer)
		}).Return(nil)
	}
	env.OnSignalExternalWorkflow(mock.Anything, "sync-1", "", signalSyncPing, mock.Anything).Return(pingErr)
	fin := finance()
	in := StandbyInput{Subject: fin.Subject, Copies: fin.Copies, Interval: time.Minute, MaxLag: 3 * time.Minute}
	var st StandbyStatus
	at(env, time.Second, func() { env.SignalWorkflow(signalSyncRequest, syncRequest{WorkflowID: "sync-1"}) })
	at(env, 2*time.Second, func() { env.SignalWorkflow(signalSyncRequest, syncRequest{WorkflowID: "sync-2"}) })
	at(env, 3*time.Second, func() {
		v, err := env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Error(err)
		} else if err := v.Get(&st); err != nil {
			t.Error(err)
		}
		env.CancelWorkflow()
	})
	env.ExecuteWorkflow(StandbyWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("standby record did not end after the cancel")
	}
	return st, answers
}

// A sync terminated by hand never reports its result; the next sync finds
// it gone and runs instead of being skipped as "still running" forever.
func TestStandbyForgetsASyncThatEndedWithoutReporting(t *testing.T) {
	st, answers := standbyEnv(t, errors.New("workflow execution already completed"))
	if !answers["sync-1"].Go || !answers["sync-2"].Go {
		t.Fatalf("answers %+v; want both syncs to run", answers)
	}
	if st.Running != "sync-2" || st.Lost != "sync-1" || st.Skipped != 0 {
		t.Fatalf("running %q lost %q skipped %d; want sync-2 running, sync-1 lost, none skipped", st.Running, st.Lost, st.Skipped)
	}
}

// A sync that still runs keeps its place: the next one is skipped.
func TestStandbySkipsWhileASyncRuns(t *testing.T) {
	st, answers := standbyEnv(t, nil)
	if !answers["sync-1"].Go || answers["sync-2"].Go || answers["sync-2"].Why != "sync sync-1 is still running" {
		t.Fatalf("answers %+v; want sync-1 to run and sync-2 skipped while it runs", answers)
	}
	if st.Running != "sync-1" || st.Lost != "" || st.Skipped != 1 {
		t.Fatalf("running %q lost %q skipped %d", st.Running, st.Lost, st.Skipped)
	}
}
