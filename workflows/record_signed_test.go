//go:build record

package workflows

import (
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/decisionsig"
)

// TestRecordSigned records a move whose approval names signers: an
// unsigned approval and one by a key not listed for the name are refused,
// two signed approvals and a signed commit are accepted.
//
//	UMZUG_RECORD=1 go test -tags record -run TestRecordSigned -v ./workflows/
func TestRecordSigned(t *testing.T) {
	if os.Getenv("UMZUG_RECORD") != "1" {
		t.Skip("set UMZUG_RECORD=1 (and -tags record) to record histories on the embedded server")
	}
	r := startRecorder(t, nil)
	am, bs, ops := testKey(t), testKey(t), testKey(t)
	id := MoveID("record", "finance-signed")
	in := recordInput("finance-signed")
	in.SearchAttributes = false
	in.RunDigest = "c19dd468f51c7dfe13fe46029ce198af7c78a6b5908bd0f00b3edd445aab0eeb"
	in.Cutover.Approval.Operators = []string{"ops.oncall"}
	in.Cutover.Approval.Signers = signersLine("a.meier", am) + signersLine("b.schulz", bs) + signersLine("ops.oncall", ops)
	in.Soak = time.Hour
	r.start(id, MoveWorkflow, in)
	r.waitPhase(id, PhaseAwaitingApproval)
	var st Status
	if v, err := r.c.QueryWorkflow(r.ctx, id, "", QueryStatus); err != nil || v.Get(&st) != nil || st.Signing == nil {
		t.Fatalf("status: %v %+v", err, st.Signing)
	}
	sign := func(decision, who, comment string, key ssh.Signer) (string, string) {
		at := time.Now().UTC().Truncate(time.Second)
		sig, err := decisionsig.Sign(decisionsig.Statement{MoveID: st.Signing.MoveID, RunID: st.Signing.RunID,
			RunDigest: st.Signing.RunDigest, Decision: decision, Signer: who, Comment: comment, Time: at}, key)
		if err != nil {
			t.Fatal(err)
		}
		return sig, at.Format(decisionsig.TimeFormat)
	}
	r.refused(id, SignalApprove, ApproveSignal{Approver: "a.meier", Comment: "CHG-1"})
	sig, at := sign(SignalApprove, "b.schulz", "CHG-1", am)
	r.refused(id, SignalApprove, ApproveSignal{Approver: "b.schulz", Comment: "CHG-1", Signature: sig, SignedAt: at})
	sig, at = sign(SignalApprove, "A.Meier", "CHG-1", am)
	r.ok(id, SignalApprove, ApproveSignal{Approver: "A.Meier", Comment: "CHG-1", Signature: sig, SignedAt: at})
	sig, at = sign(SignalApprove, "b.schulz", "CHG-1", bs)
	r.ok(id, SignalApprove, ApproveSignal{Approver: "b.schulz", Comment: "CHG-1", Signature: sig, SignedAt: at})
	r.waitPhase(id, PhaseSoak)
	sig, at = sign(SignalCommit, "ops.oncall", "", ops)
	r.ok(id, SignalCommit, CommitSignal{By: "ops.oncall", Signature: sig, SignedAt: at})
	r.finish(id, "signed/move_signed.json", &st)
	if st.Phase != PhaseCommitted {
		t.Fatalf("phase %s: %s", st.Phase, st.Error)
	}
}
