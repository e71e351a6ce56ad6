package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// syncAnswerTimeout is how long a sync waits for the record's answer.
const syncAnswerTimeout = time.Minute

// StandbySyncRun is one scheduled sync: it asks the record whether it may
// run, copies every set the way a seed does (delta, verified, manifest on
// the target, the plan's refusals; sets with delete = true also remove
// what is gone from the source) and reports the result to the record. A
// cancel (the record starting a failover) still reports.
func StandbySyncRun(ctx workflow.Context, in StandbySyncInput) (StandbySync, error) {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	res := StandbySync{WorkflowID: id, Started: workflow.Now(ctx)}
	answers := workflow.GetSignalChannel(ctx, signalSyncAnswer)
	if err := workflow.SignalExternalWorkflow(ctx, in.RecordID, "", signalSyncRequest, syncRequest{WorkflowID: id}).Get(ctx, nil); err != nil {
		res.Error = fmt.Sprintf("standby record %s is not running (%v); start it with `umzug standby start`", in.RecordID, err)
		return res, nil
	}
	var a syncAnswer
	if ok, _ := answers.ReceiveWithTimeout(ctx, syncAnswerTimeout, &a); !ok {
		res.Error = fmt.Sprintf("standby record %s did not answer within %s", in.RecordID, syncAnswerTimeout)
		return res, nil
	}
	if !a.Go {
		res.Error = "skipped: " + a.Why
		return res, nil
	}
	// Each scheduled sync logs in anew: no connection of the worker's pool
	// outlives the wait between two syncs (contract.Host.ConnSince).
	run := workflow.GetInfo(ctx).WorkflowExecution.RunID
	in.Source.ConnSince, in.Target.ConnSince = run, run
	for i := range in.Hosts {
		in.Hosts[i].ConnSince = run
	}
	ownHosts := false
	for _, set := range in.Copies {
		ownHosts = ownHosts || set.SourceHost != "" || set.TargetHost != ""
	}
	if ownHosts && workflow.GetVersion(ctx, changeMultiHost, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		in.Hosts = nil // recorded before copy sets had their own hosts
		for i := range in.Copies {
			in.Copies[i].SourceHost, in.Copies[i].TargetHost = "", ""
		}
	}
	for _, set := range in.Copies {
		if err := syncSet(ctx, in, set, a.IdentStates, &res); err != nil {
			res.Error = err.Error()
			break
		}
	}
	res.Finished = workflow.Now(ctx)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := workflow.SignalExternalWorkflow(dctx, in.RecordID, "", signalSyncResult, res).Get(dctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("report standby sync", "record", in.RecordID, "error", err)
	}
	return res, nil
}

// syncSet copies one set and adds its result to res.
func syncSet(ctx workflow.Context, in StandbySyncInput, set contract.CopySet, states map[string]contract.IdentState, res *StandbySync) error {
	src, tgt := copyPair(Subject{Source: in.Source, Target: in.Target}, in.Hosts, set)
	ci := contract.CopyInput{MoveID: in.CopyID, Phase: contract.PhaseSeed, Source: src, Target: tgt,
		Set: set, Delete: set.Delete}
	if st, ok := states[set.Name]; ok {
		ci.IdentState = &st
	}
	var cr contract.CopyResult
	if err := workflow.ExecuteActivity(copyOptions(ctx, tgt), contract.NameCopyTree, ci).Get(ctx, &cr); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("sync of copy set %s cancelled", set.Name)
		}
		return fmt.Errorf("sync of copy set %s (%s on %s → %s on %s) failed: %s",
			set.Name, set.From, src.Name, set.To, tgt.Name, cause(err))
	}
	if r := summarizeRefusals(set, contract.PhaseSeed, cr); r != nil && r.Unaccepted > 0 {
		return fmt.Errorf("sync of copy set %s refused %d entries the plan does not accept (%v)", set.Name, r.Unaccepted, r.ByKind)
	}
	res.Manifests = append(res.Manifests, SetManifest{Set: set.Name, Path: cr.ManifestPath, SHA256: cr.ManifestSHA256, IdentState: cr.IdentState})
	res.Files += cr.Files
	res.Bytes += cr.Bytes
	res.CopiedFiles += cr.CopiedFiles
	res.CopiedBytes += cr.CopiedBytes
	res.Deleted += cr.Deleted
	res.Verified += cr.Verified
	res.Changed += cr.RefusedByKind[contract.RefusalChanged]
	return nil
}
