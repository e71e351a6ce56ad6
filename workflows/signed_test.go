package workflows

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/decisionsig"
)

// testKey is an ed25519 key made for one test.
func testKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signersLine(who string, k ssh.Signer) string {
	return who + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey()))) + "\n"
}

// signedPayload builds the JSON a signer sends: their statement for this
// run (read from the status query, as the CLI does) signed with key.
func signedPayload(t *testing.T, env *testsuite.TestWorkflowEnvironment, decision, nameKey, who, commentKey, comment string,
	key ssh.Signer, at time.Time) map[string]any {
	t.Helper()
	q, err := env.QueryWorkflow(QueryStatus)
	if err != nil {
		t.Fatalf("status query: %v", err)
	}
	var st Status
	if err := q.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.Signing == nil {
		t.Fatal("status names no signing fields though the plan names signers")
	}
	s := decisionsig.Statement{MoveID: st.Signing.MoveID, RunID: st.Signing.RunID, RunDigest: st.Signing.RunDigest,
		Decision: decision, Signer: who, Comment: comment, Time: at}
	sig, err := decisionsig.Sign(s, key)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]any{nameKey: who, "signature": sig, "signed_at": at.UTC().Format(decisionsig.TimeFormat)}
	if commentKey != "" {
		p[commentKey] = comment
	}
	return p
}

// With signers, only decisions signed by the sender's own key count:
// unsigned, signed by a key not listed for the name, signed over another
// comment or too long ago are refused and recorded; accepted ones record
// the key's fingerprint, and the move commits on the signed quorum.
func TestSignedDecisions(t *testing.T) {
	env, _ := newEnv(t)
	bs, cy, ops, outsider := testKey(t), testKey(t), testKey(t), testKey(t)
	in := finance()
	in.RunDigest = strings.Repeat("ab", 32)
	in.Cutover.Approval.Signers = "# approvers\n" + signersLine("a.meier,b.schulz", bs) + signersLine("c.yilmaz", cy) +
		signersLine("ops", ops)
	send := func(name string, p func() map[string]any) func() {
		return func() { env.SignalWorkflow(name, p()) }
	}
	now := func(d time.Duration) time.Time { return t0.Add(d) }
	at(env, time.Minute, send(SignalApprove, func() map[string]any {
		return map[string]any{"approver": "b.schulz", "comment": "CHG-1"}
	}))
	at(env, 2*time.Minute, send(SignalApprove, func() map[string]any {
		return signedPayload(t, env, SignalApprove, "approver", "c.yilmaz", "comment", "CHG-1", outsider, now(2*time.Minute))
	}))
	at(env, 3*time.Minute, send(SignalApprove, func() map[string]any {
		p := signedPayload(t, env, SignalApprove, "approver", "b.schulz", "comment", "CHG-1", bs, now(3*time.Minute))
		p["comment"] = "CHG-2" // not what was signed
		return p
	}))
	at(env, 4*time.Minute, send(SignalApprove, func() map[string]any {
		return signedPayload(t, env, SignalApprove, "approver", "c.yilmaz", "comment", "CHG-1", cy, now(4*time.Minute-20*time.Minute))
	}))
	at(env, 5*time.Minute, send(SignalApprove, func() map[string]any {
		// b.schulz's key is listed, but only for a.meier and b.schulz.
		return signedPayload(t, env, SignalApprove, "approver", "c.yilmaz", "comment", "CHG-1", bs, now(5*time.Minute))
	}))
	at(env, 6*time.Minute, send(SignalApprove, func() map[string]any {
		return signedPayload(t, env, SignalApprove, "approver", "B.Schulz", "comment", "CHG-1", bs, now(6*time.Minute))
	}))
	at(env, 7*time.Minute, send(SignalApprove, func() map[string]any {
		return signedPayload(t, env, SignalApprove, "approver", "c.yilmaz", "comment", "CHG-1", cy, now(7*time.Minute))
	}))
	at(env, 2*time.Hour, send(SignalCommit, func() map[string]any { return map[string]any{"by": "ops"} }))
	at(env, 2*time.Hour+time.Minute, send(SignalCommit, func() map[string]any {
		return signedPayload(t, env, SignalCommit, "by", "ops", "", "", ops, now(2*time.Hour+time.Minute))
	}))
	env.ExecuteWorkflow(MoveWorkflow, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	wantRefused(t, st, SignalApprove, `b.schulz: signature required: the plan names signers`)
	wantRefused(t, st, SignalApprove, "c.yilmaz: signature does not verify: approve as c.yilmaz: signed by "+ssh.FingerprintSHA256(outsider.PublicKey())+", which signers does not list")
	wantRefused(t, st, SignalApprove, "b.schulz: signature does not verify: approve as b.schulz: signature by "+ssh.FingerprintSHA256(bs.PublicKey())+" does not match")
	wantRefused(t, st, SignalApprove, "c.yilmaz: signature does not verify: approve as c.yilmaz: statement time 2026-12-01T08:44:00Z is 20m0s away")
	wantRefused(t, st, SignalApprove, `c.yilmaz: signature does not verify: approve as c.yilmaz: signed by `+ssh.FingerprintSHA256(bs.PublicKey())+`, which signers does not list as "c.yilmaz"`)
	wantRefused(t, st, SignalCommit, "ops: signature required")
	if !slices.Equal(st.Approvals, []string{"b.schulz", "c.yilmaz"}) {
		t.Fatalf("approvals = %v", st.Approvals)
	}
	want := map[string]string{"B.Schulz": ssh.FingerprintSHA256(bs.PublicKey()), "c.yilmaz": ssh.FingerprintSHA256(cy.PublicKey()),
		"ops": ssh.FingerprintSHA256(ops.PublicKey())}
	accepted := 0
	for _, r := range st.Signals {
		if !r.Accepted {
			if r.KeyFingerprint != "" || r.Signature != "" {
				t.Errorf("refused record keeps a key or signature: %+v", r)
			}
			continue
		}
		accepted++
		if r.KeyFingerprint != want[r.Identity] || r.Signature == "" || r.SignedAt == "" {
			t.Errorf("accepted %s by %s: fingerprint %q signed_at %q, want %q", r.Name, r.Identity, r.KeyFingerprint, r.SignedAt, want[r.Identity])
		}
	}
	if accepted != 3 {
		t.Fatalf("accepted %d decisions, want 3: %+v", accepted, st.Signals)
	}
	if st.Signing == nil || st.Signing.RunDigest != in.RunDigest || st.Signing.Namespace != decisionsig.Namespace {
		t.Fatalf("signing = %+v", st.Signing)
	}
	d := currentDetails(t, env)
	for _, want := range []string{"decisions must be signed (namespace `umzug-approval`)", "run-digest `" + in.RunDigest + "`",
		"move `" + st.Signing.MoveID + "`", "commit by ops via signal: accepted, signed by key " + want["ops"]} {
		if !strings.Contains(d, want) {
			t.Errorf("Current Details lack %q:\n%s", want, d)
		}
	}
}

// Without signers nothing is asked: unsigned decisions count as before,
// and the status names no signing fields.
func TestUnsignedWithoutSigners(t *testing.T) {
	env, _ := newEnv(t)
	approve(env, time.Minute, "b.schulz")
	approve(env, 2*time.Minute, "c.yilmaz")
	at(env, 2*time.Hour, func() { env.SignalWorkflow(SignalCommit, map[string]any{"by": "ops"}) })
	env.ExecuteWorkflow(MoveWorkflow, finance())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if st.Signing != nil {
		t.Fatalf("signing = %+v without signers", st.Signing)
	}
	for _, r := range st.Signals {
		if r.KeyFingerprint != "" {
			t.Fatalf("record %+v has a key without signers", r)
		}
	}
}

// A failover's emergency signers sign its confirmation: an unsigned
// confirm is refused and recorded, a signed one confirms with its key.
func TestSignedFailoverConfirmation(t *testing.T) {
	env, _ := newEnv(t)
	env.RegisterActivityWithOptions(func(context.Context, contract.Host) (contract.ProbeResult, error) { return contract.ProbeResult{}, nil },
		activity.RegisterOptions{Name: contract.NameProbeHost})
	kw, sw := testKey(t), testKey(t)
	fo := finance()
	fo.Mode, fo.StartedBy, fo.Reason = ModeFailover, "k.meier", "fire at OWL-IT"
	fo.Emergency = &EmergencyRule{Approvers: []string{"k.meier", "s.wolf"}, ConfirmWithin: time.Hour,
		Signers: signersLine("k.meier", kw) + signersLine("s.wolf", sw)}
	at(env, time.Minute, func() { env.SignalWorkflow(SignalConfirm, map[string]any{"by": "s.wolf", "comment": "CHG-911"}) })
	at(env, 2*time.Minute, func() {
		env.SignalWorkflow(SignalConfirm, signedPayload(t, env, SignalConfirm, "by", "s.wolf", "comment", "CHG-911", sw, t0.Add(2*time.Minute)))
	})
	env.ExecuteWorkflow(MoveWorkflow, fo)
	st := result(t, env)
	wantRefused(t, st, SignalConfirm, "s.wolf: signature required")
	if st.Failover == nil || st.Failover.ConfirmedBy != "s.wolf" {
		t.Fatalf("failover = %+v", st.Failover)
	}
	c := records(st, SignalConfirm)
	if len(c) != 2 || !c[1].Accepted || c[1].KeyFingerprint != ssh.FingerprintSHA256(sw.PublicKey()) {
		t.Fatalf("confirm records = %+v", c)
	}
}
