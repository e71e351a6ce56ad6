package workflows

import (
	"maps"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// register sets the record's query, its decisions (pause, resume,
// failover; each a signal and an update of the same name, recorded
// accepted or refused like a move's) and the sync protocol's signals.
func (s *standby) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (StandbyStatus, error) { return s.st, nil },
		workflow.QueryHandlerOptions{Description: "last verified sync, pause state and failover of this standby"}); err != nil {
		return err
	}
	decisions := []struct {
		name, desc string
		check      func(StandbyDecision) string
		apply      func(StandbyDecision)
		wait       bool
	}{
		{SignalPause, descPause, s.checkPause, func(p StandbyDecision) { s.pause(p.By, p.Reason) }, false},
		{SignalResume, descResume, s.checkResume, func(StandbyDecision) { s.resume() }, false},
		{SignalFailover, descFailover, s.checkFailover, func(p StandbyDecision) {
			s.failoverReq, s.st.FailoverErr = &p, ""
		}, true},
	}
	for _, d := range decisions {
		if err := s.listen(ctx, d.name, d.desc, d.check, d.apply, d.wait); err != nil {
			return err
		}
	}
	s.listenSync(ctx)
	if err := s.registerRearm(ctx); err != nil {
		return err
	}
	s.details()
	return s.registerEstimate(ctx)
}

// listen handles one decision for the whole run. An update of a failover
// answers once the failover has started (or could not), with its ID.
func (s *standby) listen(ctx workflow.Context, name, desc string, check func(StandbyDecision) string,
	apply func(StandbyDecision), wait bool) error {
	handle := func(raw converter.RawValue, via string) string {
		p, bad := decodeBounded[StandbyDecision](raw, MaxPayloadBytes, true)
		if bad != nil {
			s.record(SignalRecord{Name: name, Via: via, Sender: SenderUnknown, Reason: bad.reason, Size: bad.size, Received: bad.prefix})
			return bad.reason
		}
		reason := check(p)
		s.record(SignalRecord{Name: name, Identity: p.By, Comment: p.Reason, Via: via, Accepted: reason == "", Reason: reason})
		if reason == "" {
			apply(p)
			s.details()
		}
		return reason
	}
	readSignals(ctx, s.dctx, name, desc, &s.drainers, func(raw converter.RawValue) { handle(raw, "signal") })
	return workflow.SetUpdateHandlerWithOptions(ctx, name, func(ctx workflow.Context, raw converter.RawValue) (StandbyStatus, error) {
		if reason := handle(raw, "update"); reason != "" {
			return s.st, temporal.NewNonRetryableApplicationError(reason, contract.ErrRefused, nil)
		}
		if wait {
			if err := workflow.Await(ctx, func() bool { return !s.failoverPending() }); err != nil {
				return s.st, err
			}
			if s.st.FailoverErr != "" {
				return s.st, temporal.NewNonRetryableApplicationError(s.st.FailoverErr, "FailoverNotStarted", nil)
			}
		}
		return s.st, nil
	}, workflow.UpdateHandlerOptions{Description: desc})
}

// listenSync answers scheduled syncs and takes their results.
func (s *standby) listenSync(ctx workflow.Context) {
	req := workflow.GetSignalChannel(ctx, signalSyncRequest)
	res := workflow.GetSignalChannel(ctx, signalSyncResult)
	onRequest := func(gctx workflow.Context, r syncRequest) {
		s.staleRunning(gctx, r)
		a := s.answer(r)
		// A sync that is gone by now gets no answer; it times out itself.
		_ = workflow.SignalExternalWorkflow(gctx, r.WorkflowID, "", signalSyncAnswer, a).Get(gctx, nil)
	}
	onResult := func(r StandbySync) {
		if s.st.Running == r.WorkflowID {
			s.st.Running = ""
		}
		last := r
		s.st.LastSync = &last
		s.keepIdentStates(r)
		if r.OK() {
			s.st.Syncs++
			s.st.LastVerified = &last
		} else {
			s.st.FailedSyncs++
		}
		s.details()
	}
	workflow.Go(s.dctx, func(gctx workflow.Context) {
		for {
			sel := workflow.NewSelector(gctx)
			sel.AddReceive(req, func(c workflow.ReceiveChannel, _ bool) {
				var r syncRequest
				c.Receive(gctx, &r)
				onRequest(gctx, r)
			})
			sel.AddReceive(res, func(c workflow.ReceiveChannel, _ bool) {
				var r StandbySync
				c.Receive(gctx, &r)
				onResult(r)
			})
			sel.Select(gctx)
		}
	})
	s.drainers = append(s.drainers, func() bool {
		var r StandbySync
		if res.ReceiveAsync(&r) {
			onResult(r)
			return true
		}
		var q syncRequest
		if req.ReceiveAsync(&q) {
			s.st.Skipped++
			s.st.LastSkip = "the standby record was continuing as new"
			_ = workflow.SignalExternalWorkflow(s.dctx, q.WorkflowID, "", signalSyncAnswer,
				syncAnswer{Why: s.st.LastSkip}).Get(s.dctx, nil)
			return true
		}
		return false
	})
}

// staleRunning forgets a running sync that ended without reporting: a
// sync terminated by hand or past its timeout never sends its result, and
// every later sync would be skipped as "still running". A signal to a
// closed workflow fails; to a running one it is delivered and ignored.
func (s *standby) staleRunning(ctx workflow.Context, r syncRequest) {
	if s.st.Running == "" || s.st.Running == r.WorkflowID {
		return
	}
	if workflow.GetVersion(ctx, "standby-stale-sync-probe", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	if err := workflow.SignalExternalWorkflow(ctx, s.st.Running, "", signalSyncPing, nil).Get(ctx, nil); err != nil {
		s.st.Lost, s.st.Running = s.st.Running, ""
		s.details()
	}
}

// answer decides whether a scheduled sync may copy now.
func (s *standby) answer(r syncRequest) syncAnswer {
	why := ""
	switch {
	case s.st.FailedOver != "" || s.failoverPending():
		why = "the application failed over; the standby is stopped"
	case s.st.Paused:
		why = "paused by " + s.st.PausedBy
		if s.st.PauseReason != "" {
			why += ": " + s.st.PauseReason
		}
	case s.st.Running != "":
		why = "sync " + s.st.Running + " is still running"
	}
	if why != "" {
		s.st.Skipped++
		s.st.LastSkip = why
		s.details()
		return syncAnswer{Why: why}
	}
	s.st.Running = r.WorkflowID
	s.details()
	return syncAnswer{Go: true, IdentStates: maps.Clone(s.st.IdentStates)}
}

// keepIdentStates takes the identity states a sync wrote. A set whose
// copy wrote none has none now; a set whose copy failed keeps its entry:
// should the file have changed, it no longer matches and the next sync
// hashes every file, which costs time only.
func (s *standby) keepIdentStates(r StandbySync) {
	for _, mf := range r.Manifests {
		if mf.IdentState == nil {
			delete(s.st.IdentStates, mf.Set)
			continue
		}
		if s.st.IdentStates == nil {
			s.st.IdentStates = map[string]contract.IdentState{}
		}
		s.st.IdentStates[mf.Set] = *mf.IdentState
	}
}
