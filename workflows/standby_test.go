package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
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
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("standby record: %v", err)
	}
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

// rearmEnv plays a standby that fails over, has its failback committed
// and is re-armed; pause and re-arm are also tried by someone the plan
// does not name, and the schedule is paused outside umzug at the end.
type rearmRun struct {
	failedOver, rearmed, scheduled StandbyStatus
	schedule                       []SchedulePause
	updateErrs                     map[string]error
}

func runRearm(t *testing.T, outcome func(id string, st StandbyStatus) FailbackOutcome) rearmRun {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	var r rearmRun
	r.updateErrs = map[string]error{}
	env.RegisterActivityWithOptions(func(_ context.Context, p SchedulePause) error {
		r.schedule = append(r.schedule, p)
		return nil
	}, activity.RegisterOptions{Name: ActivitySetSchedulePaused})
	var cur StandbyStatus
	env.RegisterActivityWithOptions(func(_ context.Context, id string) (FailbackOutcome, error) {
		return outcome(id, cur), nil
	}, activity.RegisterOptions{Name: ActivityFailbackOutcome})
	env.OnWorkflow(MoveWorkflow, mock.Anything, mock.Anything).Return(Status{Phase: PhaseCommitted}, nil)
	fin := finance()
	fo := finance()
	fo.Mode, fo.Emergency = ModeFailover, &EmergencyRule{Approvers: []string{"k.meier", "s.wolf"}, ConfirmWithin: time.Hour}
	in := StandbyInput{Subject: fin.Subject, Copies: fin.Copies, Interval: time.Minute, MaxLag: 3 * time.Minute,
		Operators: []string{"ops"}, Failover: &fo}
	query := func(into *StandbyStatus) {
		v, err := env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(into)
		}
		if err != nil {
			t.Error(err)
		}
	}
	update := func(key, name string, arg any) {
		env.UpdateWorkflow(name, key, &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { r.updateErrs[key] = err },
			OnComplete: func(_ interface{}, err error) { r.updateErrs[key] = err },
		}, arg)
	}
	at(env, time.Second, func() {
		env.SignalWorkflow(SignalPause, StandbyDecision{By: "x.nobody", Reason: "curious"})
	})
	at(env, 2*time.Second, func() {
		env.SignalWorkflow(SignalFailover, StandbyDecision{By: "k.meier", Reason: "fire at OWL-IT"})
	})
	at(env, 3*time.Second, func() { query(&r.failedOver); cur = r.failedOver })
	at(env, 4*time.Second, func() {
		update("nobody", UpdateRearm, StandbyDecision{By: "x.nobody", Failback: FailbackID(cur.FailedOver)})
	})
	at(env, 5*time.Second, func() {
		update("ops", UpdateRearm, StandbyDecision{By: "ops", Failback: FailbackID(cur.FailedOver), Reason: "OWL-IT restored"})
	})
	at(env, 6*time.Second, func() { query(&r.rearmed) })
	at(env, 7*time.Second, func() {
		update("schedule", UpdateScheduleState, ScheduleState{Paused: true, Note: "network work at AKDB", SeenBy: "s.wolf"})
	})
	at(env, 8*time.Second, func() { query(&r.scheduled); env.CancelWorkflow() })
	env.ExecuteWorkflow(StandbyWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("standby record: %v", err)
	}
	if !env.IsWorkflowCompleted() {
		t.Fatal("standby record did not end after the cancel")
	}
	return r
}

func committed(id string, st StandbyStatus) FailbackOutcome {
	return FailbackOutcome{ID: id, Phase: PhaseCommitted, FailbackOf: st.FailedOver, At: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
}

// A failover stops the syncs and pauses the schedule; once its failback
// committed, an operator re-arms the standby: the record says by whom and
// after which failback, unpauses the schedule and syncs again.
func TestStandbyRearmedAfterFailback(t *testing.T) {
	r := runRearm(t, committed)
	fo := r.failedOver.FailedOver
	if fo == "" || !r.failedOver.Paused {
		t.Fatalf("after the failover: failed over %q paused %v", fo, r.failedOver.Paused)
	}
	if len(r.schedule) < 1 || !r.schedule[0].Paused || !strings.Contains(r.schedule[0].Note, "failed over: "+fo) ||
		r.schedule[0].ScheduleID != StandbyScheduleID("q4", "finance") {
		t.Fatalf("the failover did not pause the schedule with a note: %+v", r.schedule)
	}
	if r.updateErrs["ops"] != nil {
		t.Fatalf("re-arm by an operator refused: %v", r.updateErrs["ops"])
	}
	st := r.rearmed
	if st.FailedOver != "" || st.Paused || st.Rearmed == nil || st.Rearmed.Failback != FailbackID(fo) || st.Rearmed.By != "ops" {
		t.Fatalf("after the re-arm: failed over %q paused %v rearmed %+v", st.FailedOver, st.Paused, st.Rearmed)
	}
	if len(r.schedule) < 2 || r.schedule[1].Paused || !r.schedule[1].Trigger {
		t.Fatalf("the re-arm did not unpause and trigger the schedule: %+v", r.schedule)
	}
	var found bool
	for _, d := range st.Signals {
		if d.Name == UpdateRearm && d.Accepted && d.Comment == "re-armed after failback "+FailbackID(fo)+" by ops: OWL-IT restored" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no accepted re-arm decision recorded: %+v", st.Signals)
	}
	if a := st.answerFor(); a.Go != true {
		t.Fatalf("a sync after the re-arm would be refused: %q", a.Why)
	}
}

// answerFor is what the record would answer a sync in this state.
func (st StandbyStatus) answerFor() syncAnswer {
	s := &standby{st: st}
	switch {
	case s.st.FailedOver != "":
		return syncAnswer{Why: "failed over"}
	case s.st.Paused:
		return syncAnswer{Why: "paused"}
	}
	return syncAnswer{Go: true}
}

// Pause and re-arm by someone who is neither operator nor emergency
// approver are refused and recorded.
func TestStandbyDecisionsNeedOperators(t *testing.T) {
	r := runRearm(t, committed)
	refused := map[string]string{}
	for _, d := range r.rearmed.Signals {
		if d.Identity == "x.nobody" && !d.Accepted {
			refused[d.Name] = d.Reason
		}
	}
	for _, name := range []string{SignalPause, UpdateRearm} {
		if !strings.Contains(refused[name], "x.nobody may not") || !strings.Contains(refused[name], "(ops, a.meier, b.schulz, c.yilmaz, k.meier, s.wolf)") {
			t.Errorf("%s by x.nobody: refusal %q, want it refused naming who may", name, refused[name])
		}
	}
	if r.updateErrs["nobody"] == nil {
		t.Error("the re-arm update by x.nobody was answered without an error")
	}
}

// A re-arm before the failback committed is refused: syncing the old
// source over the partner would overwrite what it holds now.
func TestStandbyRearmRefusedBeforeFailbackCommits(t *testing.T) {
	r := runRearm(t, func(id string, st StandbyStatus) FailbackOutcome {
		o := committed(id, st)
		o.Phase = PhaseAwaitingApproval
		return o
	})
	if err := r.updateErrs["ops"]; err == nil || !strings.Contains(err.Error(), "not committed") {
		t.Fatalf("re-arm before commit: %v, want refused", err)
	}
	if r.rearmed.FailedOver == "" || r.rearmed.Rearmed != nil || !r.rearmed.Paused {
		t.Fatalf("after a refused re-arm: %+v", r.rearmed)
	}
}

// A pause made on the schedule (the Web UI's Schedules page), read and
// sent by the CLI, reaches the record with the schedule's note.
func TestStandbyRecordsAScheduleHeldOutsideUmzug(t *testing.T) {
	st := runRearm(t, committed).scheduled
	if !st.Paused || st.PausedVia != ViaSchedule || !strings.Contains(st.PauseReason, `paused in the Web UI's Schedules page, note: "network work at AKDB"`) {
		t.Fatalf("paused %v via %q reason %q", st.Paused, st.PausedVia, st.PauseReason)
	}
	last := st.Signals[len(st.Signals)-1]
	if last.Name != SignalPause || last.Via != ViaSchedule || !strings.Contains(last.Comment, "read by s.wolf") {
		t.Fatalf("last decision %+v", last)
	}
}
