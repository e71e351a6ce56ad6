//go:build record

package workflows

// The recorder drives real moves on the embedded Temporal server with fake
// (deterministic) activities and writes their histories to testdata/ for
// the replay test. It needs go.temporal.io/server, so it is behind the
// build tag `record`:
//
//	UMZUG_RECORD=1 go test -tags record -run TestRecord -v ./workflows/

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

const recordQueue = "umzug-record"

// Fake activities with fixed results: the recorded history must not
// depend on the machine it was recorded on.
func recPreflight(ctx context.Context, in contract.PreflightInput) (contract.PreflightResult, error) {
	if strings.HasSuffix(in.MoveID, "/broken") {
		return contract.PreflightResult{}, temporal.NewNonRetryableApplicationError(
			"source fin_pb: /srv/finance/data does not exist", contract.ErrPreflightFailed, errors.New("missing"))
	}
	return contract.PreflightResult{SourceFingerprint: "SHA256:src", TargetFingerprint: "SHA256:tgt",
		SourceFiles: 3, SourceBytes: 3 << 20, TargetFreeBytes: 1 << 40, TargetHasSHA256: true}, nil
}

func recCopy(ctx context.Context, in contract.CopyInput) (contract.CopyResult, error) {
	return contract.CopyResult{Set: in.Set.Name, Phase: in.Phase, Files: 3, Dirs: 1, Bytes: 3 << 20, CopiedFiles: 3,
		CopiedBytes: 3 << 20, Verify: in.Set.Verify, Verified: 3, VerifiedBy: "sha256sum",
		ManifestPath: "/var/lib/umzug/" + in.Phase + ".jsonl", ManifestSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		ManifestEntries: 4, Duration: time.Second, BytesPerSec: 3 << 20}, nil
}

func recEstimate(ctx context.Context, in contract.CopyInput) (contract.DeltaEstimate, error) {
	return contract.DeltaEstimate{Set: in.Set.Name, SourceFiles: 3, SourceBytes: 3 << 20, ChangedFiles: 1, ChangedBytes: 1 << 20}, nil
}

func recCommand(ctx context.Context, in contract.CommandInput) (contract.CommandResult, error) {
	r := contract.CommandResult{Host: in.Host.Name, Address: in.Host.Address, Command: in.Command,
		Started: time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC), Finished: time.Date(2026, 12, 5, 18, 0, 1, 0, time.UTC)}
	if strings.Contains(in.Command, "/health-broken") {
		r.ExitCode, r.Stderr = 22, "curl: (22) The requested URL returned error: 503"
	}
	return r, nil
}

// recordInput is the finance move with real-time-friendly durations.
func recordInput(app string) MoveInput {
	in := finance()
	in.PlanName, in.Application, in.SearchAttributes = "record", app, true
	in.Soak = 3 * time.Second
	in.Cutover.Blocks[3].Interval = time.Second
	in.Cutover.Blocks[3].Retries = 1
	return in
}

func TestRecord(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	r := startRecorder(t, map[string]enumspb.IndexedValueType{
		SearchAttrPlan:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrApplication: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrPhase:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	})
	c, ctx := r.c, r.ctx

	// 1. Approve (signal + update, a refused update recorded), window, cutover, commit.
	{
		id := MoveID("record", "finance")
		in := recordInput("finance")
		now := time.Now()
		in.Cutover.Window = &Window{NotBefore: now.Add(-time.Minute), Duration: 4 * time.Hour}
		in.Soak = time.Hour
		r.start(id, MoveWorkflow, in)
		r.waitPhase(id, PhaseAwaitingApproval)
		if err := c.SignalWorkflow(ctx, id, "", SignalApprove, map[string]any{"approver": "a.meier", "comment": "change 4711"}); err != nil {
			t.Fatal(err)
		}
		err := r.update(id, SignalApprove, ApproveSignal{Approver: "ops"})
		if err == nil {
			t.Fatal("four-eyes update accepted")
		}
		_ = c.SignalWorkflow(ctx, id, "", SignalRefusedUpdate, map[string]any{"name": SignalApprove, "identity": "ops", "reason": err.Error()})
		if err := r.update(id, SignalApprove, ApproveSignal{Approver: "b.schulz", Comment: "CHG-4711", PlanSHA256: planSHA}); err != nil {
			t.Fatal(err)
		}
		r.waitPhase(id, PhaseSoak)
		if err := r.update(id, SignalCommit, CommitSignal{By: "a.meier"}); err != nil {
			t.Fatal(err)
		}
		var st Status
		r.finish(id, "move_approve_commit.json", &st)
		if st.Phase != PhaseCommitted {
			t.Fatalf("phase %s: %s", st.Phase, st.Error)
		}
	}
	// 2. Failing health check: automatic rollback.
	{
		id := MoveID("record", "finance-rollback")
		in := recordInput("finance-rollback")
		in.Cutover.Approval = nil
		in.Cutover.Blocks[3].Run = "curl -fsS http://127.0.0.1:8080/health-broken"
		r.start(id, MoveWorkflow, in)
		var st Status
		r.finish(id, "move_rollback.json", &st)
		if st.Phase != PhaseRolledBack || len(st.Undone) != 2 {
			t.Fatalf("phase %s undone %v", st.Phase, st.Undone)
		}
	}
	// 3. Rejected.
	{
		id := MoveID("record", "finance-rejected")
		r.start(id, MoveWorkflow, recordInput("finance-rejected"))
		r.waitPhase(id, PhaseAwaitingApproval)
		_ = c.SignalWorkflow(ctx, id, "", SignalApprove, map[string]any{"approver": "a.meier"})
		_ = c.SignalWorkflow(ctx, id, "", SignalReject, map[string]any{"approver": "b.schulz", "reason": "year-end closing"})
		var st Status
		r.finish(id, "move_rejected.json", &st)
		if st.Phase != PhaseRejected {
			t.Fatalf("phase %s", st.Phase)
		}
	}
	// 4. Wave: b depends on a; broken fails preflight and blocks its dependant.
	{
		id := WaveID("record", "q4")
		mk := func(name string, deps ...string) MoveInput {
			in := recordInput(name)
			in.Cutover.Approval, in.DependsOn, in.Soak = nil, deps, time.Second
			return in
		}
		r.start(id, WaveWorkflow, WaveInput{PlanName: "record", PlanSHA256: planSHA, Wave: "q4", MaxParallel: 2, StartedBy: "ops",
			Moves: []MoveInput{mk("directory"), mk("ledger", "directory"), mk("broken"), mk("reports", "broken")}})
		var ws WaveStatus
		r.finish(id, "wave.json", &ws)
		want := fmt.Sprint(map[string]string{"directory": PhaseCommitted, "ledger": PhaseCommitted, "broken": PhaseFailed, "reports": WaveBlocked})
		if fmt.Sprint(ws.Phases) != want {
			t.Fatalf("wave phases %v, want %v", ws.Phases, want)
		}
	}
}
