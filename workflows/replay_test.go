package workflows

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories recorded on a real server (record_test.go). Replaying them
// proves this build still makes the recorded decisions; a change that
// breaks them needs workflow.GetVersion.
// testdata/v0 holds the histories recorded before check retries became
// "attempts after the first" (GetVersion change check-retries-are-extra-
// attempts); they must keep replaying. testdata/modes holds a rehearsal,
// a failback, and a standby record with its sync and failover
// (record_modes_test.go); standby_rearm.json a record under
// standby-roles-and-schedule, re-armed after a failback
// (record_rearm_test.go). testdata/bounds holds a move under decision
// rules version 2: bounded payloads, PRECIS identities, refused_update
// recorded under no one's name (record_bounds_test.go). testdata/signed
// holds a move whose approval names signers (record_signed_test.go): its
// statements name the move's workflow ID, so it replays under that ID.
// testdata/offload holds a hand-over (record_offload_test.go), replayed
// under its ID, which names its directories.
// testdata/multihost holds moves of an application over three tiers and
// a name server (record_multihost_test.go): copy sets on their own host
// pairs, parallel groups, a rollback group by group.
var recorded = []struct {
	file, phase string
	id          string // the workflow ID to replay under; "" the replayer's default
}{
	{"move_approve_commit.json", PhaseCommitted, ""},
	{"move_rollback.json", PhaseRolledBack, ""},
	{"move_rejected.json", PhaseRejected, ""},
	{"wave.json", "", ""},
	{"v0/move_approve_commit.json", PhaseCommitted, ""},
	{"v0/move_rollback.json", PhaseRolledBack, ""},
	{"v0/move_rejected.json", PhaseRejected, ""},
	{"v0/wave.json", "", ""},
	{"decisions/move_decisions.json", PhaseCommitted, ""},
	{"bounds/move_bounds.json", PhaseRolledBack, ""},
	{"modes/rehearsal.json", PhaseCommitted, ""},
	{"modes/failback.json", PhaseCommitted, ""},
	{"modes/failover.json", PhaseCommitted, ""},
	{"modes/standby_sync.json", "", ""},
	{"modes/standby.json", "", ""},
	{"modes/standby_rearm.json", "", ""},
	{"signed/move_signed.json", PhaseCommitted, MoveID("record", "finance-signed")},
	{"offload/offload.json", OffloadDone, OffloadID("record", "print", time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC))},
	{"multihost/move_commit.json", PhaseCommitted, ""},
	{"multihost/move_rollback.json", PhaseRolledBack, ""},
}

func TestReplayRecordedHistories(t *testing.T) {
	for _, r := range recorded {
		t.Run(r.file, func(t *testing.T) {
			path := filepath.Join("testdata", r.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatalf("recorded history missing: %v (record with UMZUG_RECORD=1 go test -tags record -run TestRecord ./workflows/)", err)
			}
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			f.Close()
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			rp := worker.NewWorkflowReplayer()
			Register(rp)
			if r.id == "" {
				err = rp.ReplayWorkflowHistoryFromJSONFile(nil, path)
			} else {
				err = rp.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
					OriginalExecution: workflow.Execution{ID: r.id,
						RunID: h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()}})
			}
			if err != nil {
				t.Fatalf("replay %s: %v", path, err)
			}
			last := h.Events[len(h.Events)-1]
			if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
				t.Fatalf("%s ends with %v, want a completed workflow", path, last.GetEventType())
			}
			if r.phase == "" {
				return
			}
			var st Status
			if err := converter.GetDefaultDataConverter().FromPayloads(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &st); err != nil {
				t.Fatal(err)
			}
			if st.Phase != r.phase {
				t.Fatalf("%s: phase %s, want %s", path, st.Phase, r.phase)
			}
			t.Logf("%s: %d events", r.file, len(h.Events))
		})
	}
}
