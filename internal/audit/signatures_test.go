package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/decisionsig"
	"github.com/umzug-dev/umzug/workflows"
)

// A signed decision re-verifies from the record and the input: it is
// authenticated with its key. A record whose signature was altered, whose
// comment differs from what was signed, or that claims a key while the
// input names no signers is a violation with the reason.
func TestCheckSignature(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := ssh.NewSignerFromKey(priv)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	signers := "B.Schulz " + string(ssh.MarshalAuthorizedKey(key.PublicKey()))
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	in := &workflows.MoveInput{RunDigest: strings.Repeat("cd", 32)}
	in.Cutover.Approval = &workflows.ApprovalRule{Approvers: []string{"B.Schulz"}, Signers: signers}
	r := &Report{WorkflowID: "umzug/q4/finance", RunID: "run-1", in: in}
	record := func(signWith ssh.Signer, comment string) workflows.SignalRecord {
		st := decisionsig.Statement{MoveID: r.WorkflowID, RunID: r.RunID, RunDigest: in.RunDigest,
			Decision: workflows.SignalApprove, Signer: "b.schulz", Comment: "CHG-1", Time: at}
		sig, err := decisionsig.Sign(st, signWith)
		if err != nil {
			t.Fatal(err)
		}
		return workflows.SignalRecord{Name: workflows.SignalApprove, Identity: "b.schulz", Comment: comment, Accepted: true,
			At: at.Add(time.Minute), SignedAt: at.Format(decisionsig.TimeFormat), Signature: sig,
			KeyFingerprint: ssh.FingerprintSHA256(key.PublicKey())}
	}
	d := Decision{SignalRecord: record(key, "CHG-1")}
	r.checkSignature(&d)
	if !d.Authenticated || d.KeyFingerprint != ssh.FingerprintSHA256(key.PublicKey()) || d.Violation {
		t.Fatalf("good signature: %+v", d)
	}
	for name, c := range map[string]struct {
		rec  workflows.SignalRecord
		in   *workflows.MoveInput
		want string
	}{
		"other comment": {record(key, "CHG-2"), in, "does not match"},
		"other key":     {record(other, "CHG-1"), in, "does not list"},
		"no signers":    {record(key, "CHG-1"), &workflows.MoveInput{RunDigest: in.RunDigest}, "names no signers"},
	} {
		r.in = c.in
		d := Decision{SignalRecord: c.rec}
		r.checkSignature(&d)
		if d.Authenticated || d.KeyFingerprint != "" || !d.Violation || !strings.Contains(d.SignatureProblem, c.want) ||
			!strings.HasPrefix(d.RuleCheck, "RULE NOT MET: signature does not re-verify") {
			t.Errorf("%s: %+v", name, d)
		}
	}
	unsigned := workflows.SignalRecord{Name: workflows.SignalApprove, Identity: "b.schulz", Accepted: true}
	r.in = &workflows.MoveInput{RunDigest: in.RunDigest}
	plain := Decision{SignalRecord: unsigned}
	r.checkSignature(&plain)
	if plain.Authenticated || plain.Violation {
		t.Fatalf("unsigned record without signers: %+v", plain)
	}
	r.in = in
	forged := Decision{SignalRecord: unsigned}
	r.checkSignature(&forged)
	if forged.Authenticated || !forged.Violation || !strings.Contains(forged.SignatureProblem, "accepted without a signature") {
		t.Fatalf("unsigned record though signers are named: %+v", forged)
	}
}
