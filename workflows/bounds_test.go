package workflows

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/umzug-dev/umzug/activities/contract"
)

// encodedSize is the size of v as Temporal sends it (a query answer, an
// update's reply); over 2 MB the server refuses it.
func encodedSize(t *testing.T, v any) int {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return proto.Size(p)
}

// smallReply is far below Temporal's 2 MB payload limit; every query and
// update reply of a move must fit it whatever was sent to the move.
const smallReply = 256 << 10

// 100 approve and commit signals of 1 MB each from someone who is no
// approver, sent while the move soaks with the source stopped: the status
// query still answers with a small status, an update's reply is small,
// and a rollback by an operator completes and starts the source again.
func TestHugeSignalsDuringSoakDoNotWedgeTheMove(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	big := strings.Repeat("x", 1<<20)
	at(env, time.Hour, func() {
		for i := range 100 {
			name, arg := SignalApprove, map[string]any{"approver": "mallory", "comment": big}
			if i%2 == 1 {
				name, arg = SignalCommit, map[string]any{"by": big}
			}
			env.SignalWorkflow(name, arg)
		}
	})
	var queried Status
	at(env, 2*time.Hour, func() {
		q, err := env.QueryWorkflow(QueryStatus)
		if err != nil {
			t.Errorf("status query after the flood: %v", err)
			return
		}
		if err := q.Get(&queried); err != nil {
			t.Errorf("decode status: %v", err)
		}
		if n := encodedSize(t, queried); n > smallReply {
			t.Errorf("status query answer is %d bytes after the flood, want at most %d", n, smallReply)
		}
	})
	var reply Status
	at(env, 3*time.Hour, func() {
		env.UpdateWorkflow(SignalRollback, "rb", &testsuiteCallbacks{
			reject: func(err error) { t.Errorf("rollback update rejected: %v", err) },
			done: func(v any, err error) {
				if err != nil {
					t.Errorf("rollback update: %v", err)
					return
				}
				reply = v.(Status)
			},
		}, RollbackSignal{By: "a.meier", Reason: "reports broken"})
	})
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseRolledBack)
	if queried.Phase != PhaseSoak {
		t.Fatalf("status during the flood: phase %q", queried.Phase)
	}
	if n := encodedSize(t, reply); n > smallReply || reply.Phase != PhaseSoak {
		t.Fatalf("rollback reply: %d bytes, phase %q", n, reply.Phase)
	}
	if n := encodedSize(t, st); n > smallReply {
		t.Fatalf("result is %d bytes", n)
	}
	if !slices.Contains(f.commands(), "undo stop_app") {
		t.Fatalf("the source was not started again: %v", f.commands())
	}
	refused := 0
	for _, r := range st.Signals {
		if r.Accepted {
			continue
		}
		refused++
		if r.Size < 1<<20 || len(r.Received) > ReceivedPrefixBytes+16 || !strings.Contains(r.Reason, "over the limit of 8192 bytes") ||
			r.Sender != SenderUnknown {
			t.Fatalf("refused record %+v", r)
		}
	}
	if refused != MaxRefusedRecords || st.SignalsDropped != 100-MaxRefusedRecords {
		t.Fatalf("kept %d refused records, dropped %d; want %d and %d", refused, st.SignalsDropped, MaxRefusedRecords, 100-MaxRefusedRecords)
	}
	if rb := records(st, SignalRollback); len(rb) != 1 || !rb[0].Accepted || rb[0].UpdateID != "rb" {
		t.Fatalf("rollback records %+v", rb)
	}
}

// A field over its limit is refused even inside a small payload, and an
// approver's own oversized comment does not count as an approval.
func TestOversizedFieldsAreRefused(t *testing.T) {
	env, _ := newEnv(t)
	at(env, time.Minute, func() {
		env.SignalWorkflow(SignalApprove, map[string]any{"approver": "a.meier", "comment": strings.Repeat("c", MaxTextBytes+1)})
	})
	at(env, 2*time.Minute, func() {
		env.SignalWorkflow(SignalApprove, map[string]any{"approver": strings.Repeat("a", 300)})
	})
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantRefused(t, st, SignalApprove, "comment is 1025 bytes, over the limit of 1024 bytes")
	wantRefused(t, st, SignalApprove, "approver is 300 bytes, over the limit of 256 bytes")
	if len(st.Approvals) != 0 {
		t.Fatalf("approvals %v", st.Approvals)
	}
}

// Names with invisible code points (soft hyphen, zero-width space,
// combining grapheme joiner, Hangul filler) are refused by PRECIS, so one
// person cannot reach a quorum of 2 under two spellings of a listed name.
func TestInvisibleCodePointsCannotReachQuorumTwice(t *testing.T) {
	env, f := newEnv(t)
	approve(env, time.Minute, "a.meier")
	for i, who := range []string{"a.me\u00adier", "a.meier\u200b", "a.meier\u034f", "a.meier\u3164"} {
		approve(env, time.Duration(2+i)*time.Minute, who)
	}
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	if !slices.Equal(st.Approvals, []string{"a.meier"}) || len(f.commands()) != 0 {
		t.Fatalf("approvals %v, commands %v", st.Approvals, f.commands())
	}
	for _, cp := range []string{"U+00AD", "U+200B", "U+034F", "U+3164"} {
		wantRefused(t, st, SignalApprove, "PRECIS UsernameCaseMapped, RFC 8265): it contains the invisible character "+cp)
	}
}

// A starter whose name displays as a.meier but carries an invisible code
// point has no usable identity: four-eyes cannot be checked, so a.meier's
// approval does not count.
func TestStarterWithInvisibleCodePointCannotBeApprovedByTwin(t *testing.T) {
	env, _ := newEnv(t)
	in := finance()
	in.StartedBy = "a.meier\u034f"
	approve(env, time.Minute, "a.meier")
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantRefused(t, st, SignalApprove, "a.meier: four-eyes cannot be checked: the starter's identity is not usable")
	if len(st.Approvals) != 0 {
		t.Fatalf("approvals %v", st.Approvals)
	}
}

// Anyone can send refused_update; what it claims is recorded under no
// one's name, never as a decision by the name it carries.
func TestRefusedUpdateSignalPlantsNoRecord(t *testing.T) {
	env, _ := newEnv(t)
	at(env, time.Minute, func() {
		env.SignalWorkflow(SignalRefusedUpdate, map[string]any{"name": SignalApprove, "identity": "c.yilmaz",
			"reason": "refused: planted", "comment": strings.Repeat("p", 1<<20)})
	})
	var details string
	at(env, 2*time.Minute, func() { details = currentDetails(t, env) })
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	if len(st.Signals) != 1 {
		t.Fatalf("records %+v", st.Signals)
	}
	r := st.Signals[0]
	if r.Name != SignalRefusedUpdate || r.Identity != "" || r.Accepted || r.Sender != SenderUnknown ||
		r.Size < 1<<20 || len(r.Received) > ReceivedPrefixBytes+16 || strings.Contains(r.Reason, "planted") {
		t.Fatalf("record %+v", r)
	}
	if strings.Contains(details, "approve by c.yilmaz") || strings.Contains(details, "planted") {
		t.Fatalf("details carry the planted record:\n%s", details)
	}
}

// A wrong-typed signal and a malformed update are recorded by the
// workflow, with their size and first bytes; the update fails with the
// reason and its record carries the update's ID.
func TestMalformedSignalsAndUpdatesAreRecorded(t *testing.T) {
	env, _ := newEnv(t)
	at(env, time.Minute, func() { env.SignalWorkflow(SignalApprove, "a.meier please") })
	var refused error
	at(env, 2*time.Minute, func() {
		env.UpdateWorkflow(SignalReject, "bad-1", &testsuiteCallbacks{
			reject: func(err error) { t.Errorf("malformed update rejected without a trace: %v", err) },
			done:   func(_ any, err error) { refused = err },
		}, 42)
	})
	at(env, 3*time.Minute, func() {
		env.UpdateWorkflow(SignalCommit, "bad-2", &testsuiteCallbacks{
			reject: func(err error) { t.Errorf("update without argument rejected without a trace: %v", err) },
		})
	})
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	var app *temporal.ApplicationError
	if !errors.As(refused, &app) || app.Type() != contract.ErrRefused || !strings.Contains(app.Error(), "malformed") {
		t.Fatalf("malformed update outcome = %v", refused)
	}
	if len(st.Signals) != 3 {
		t.Fatalf("records %+v", st.Signals)
	}
	sig, upd, none := st.Signals[0], st.Signals[1], st.Signals[2]
	if sig.Name != SignalApprove || sig.Accepted || sig.Via != "signal" || !strings.Contains(sig.Reason, "malformed") ||
		sig.Received != `"\"a.meier please\""` || sig.Sender != SenderUnknown {
		t.Fatalf("wrong-typed signal record %+v", sig)
	}
	if upd.Name != SignalReject || upd.Accepted || upd.Via != "update" || upd.UpdateID != "bad-1" || upd.Received != `"42"` {
		t.Fatalf("malformed update record %+v", upd)
	}
	if none.Name != SignalCommit || none.UpdateID != "bad-2" || !strings.Contains(none.Reason, "no argument") {
		t.Fatalf("update without argument record %+v", none)
	}
}

// A rehearsal's record may be larger than a person's decision (its
// cleanup note lists what was removed): it is taken up to
// MaxRehearsalBytes, its note kept cut to MaxTextBytes.
func TestRehearsedRecordWithLongCleanupCounts(t *testing.T) {
	env, _ := newEnv(t)
	in := finance()
	in.RehearsalRequired = 30 * 24 * time.Hour
	rec := RehearsalRecord{ID: RehearsalIDPrefix(in.PlanName, in.Application) + "20261207T000000Z", Succeeded: true, CleanedUp: true,
		Cleanup: "removed 2259 entries under /scratch: " + strings.Repeat("/srv/finance/data/x, ", 100)}
	for i := range 40 {
		rec.Durations = append(rec.Durations, Measured{Kind: BlockStep, Name: strings.Repeat("s", i), Duration: time.Second})
	}
	at(env, time.Second, func() { rec.Finished = env.Now(); env.SignalWorkflow(SignalRehearsed, rec) })
	at(env, time.Hour, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	if st.Rehearsed == nil || st.Rehearsed.ID != rec.ID || len(st.Rehearsed.Cleanup) > MaxTextBytes+32 || len(st.Rehearsed.Durations) != 40 {
		t.Fatalf("rehearsed = %+v; records %+v", st.Rehearsed, st.Signals)
	}
}
