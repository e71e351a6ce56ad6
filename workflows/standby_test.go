package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/umzug-dev/umzug/activities/contract"
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

// The identity states a sync reports reach the next sync with its answer;
// a set whose copy wrote none has none in the next answer.
func TestStandbyHandsIdentStatesToTheNextSync(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	answers := map[string]syncAnswer{}
	for _, id := range []string{"sync-1", "sync-2", "sync-3"} {
		env.OnSignalExternalWorkflow(mock.Anything, id, "", signalSyncAnswer, mock.Anything).Run(func(args mock.Arguments) {
			answers[id] = args.Get(4).(syncAnswer)
		}).Return(nil)
	}
	fin := finance()
	set := fin.Copies[0].Name
	st1 := contract.IdentState{SHA256: strings.Repeat("ab", 32), Records: 12}
	in := StandbyInput{Subject: fin.Subject, Copies: fin.Copies, Interval: time.Minute, MaxLag: 3 * time.Minute}
	report := func(id string, st *contract.IdentState) {
		env.SignalWorkflow(signalSyncResult, StandbySync{WorkflowID: id, Started: t0, Finished: t0.Add(time.Second),
			Manifests: []SetManifest{{Set: set, Path: "/m", SHA256: "m", IdentState: st}}})
	}
	at(env, time.Second, func() { env.SignalWorkflow(signalSyncRequest, syncRequest{WorkflowID: "sync-1"}) })
	at(env, 2*time.Second, func() { report("sync-1", &st1) })
	at(env, 3*time.Second, func() { env.SignalWorkflow(signalSyncRequest, syncRequest{WorkflowID: "sync-2"}) })
	at(env, 4*time.Second, func() { report("sync-2", nil) })
	at(env, 5*time.Second, func() { env.SignalWorkflow(signalSyncRequest, syncRequest{WorkflowID: "sync-3"}) })
	at(env, 6*time.Second, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(StandbyWorkflow, in)
	if a := answers["sync-1"]; !a.Go || len(a.IdentStates) != 0 {
		t.Errorf("first sync: %+v; want go and no state", a)
	}
	if a := answers["sync-2"]; !a.Go || a.IdentStates[set] != st1 {
		t.Errorf("second sync: %+v; want go with %s's state %+v", a, set, st1)
	}
	if a := answers["sync-3"]; !a.Go || len(a.IdentStates) != 0 {
		t.Errorf("third sync: %+v; want go and no state (the second wrote none)", a)
	}
}
