package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/umzug-dev/umzug/workflows"
)

// sshKey makes an ed25519 key with ssh-keygen; it returns the private key
// file and the public key line.
func sshKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return key, strings.TrimSpace(string(pub))
}

// serveAgent serves an SSH agent holding the private key in keyFile on a
// socket named by SSH_AUTH_SOCK for the rest of the test.
func serveAgent(t *testing.T, keyFile string) {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	ring := agent.NewKeyring()
	if err := ring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(ring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
}

func fingerprintOf(t *testing.T, pubLine string) string {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pubLine))
	if err != nil {
		t.Fatal(err)
	}
	return ssh.FingerprintSHA256(k)
}

// TestSignedApprovals: the finance plan names signers. An unsigned
// approval and one signed by a key the file does not list are refused and
// recorded; b.schulz signs the printed statement by hand with
// `ssh-keygen -Y sign` and sends it as the Web UI's update would,
// c.yilmaz approves with --sign-key and b.schulz commits with the key
// in the SSH agent.
// Each accepted decision records its key's fingerprint.
func TestSignedApprovals(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	e := startE2E(t)
	keys := t.TempDir()
	_, aPub := sshKey(t, keys, "a.meier")
	bKey, bPub := sshKey(t, keys, "b.schulz")
	cKey, cPub := sshKey(t, keys, "c.yilmaz")
	mKey, _ := sshKey(t, keys, "mallory")
	dir := filepath.Dir(e.env.PlanFile)
	signers := "a.meier " + aPub + "\nb.schulz " + bPub + "\nc.yilmaz " + cPub + "\n"
	if err := os.WriteFile(filepath.Join(dir, "approvers.allowed_signers"), []byte(signers), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := os.ReadFile(e.env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	signed := strings.Replace(string(plan), `timeout   = "72h"`, `timeout   = "72h"`+"\n      signers   = \"approvers.allowed_signers\"", 1)
	if signed == string(plan) {
		t.Fatal("the demo plan's approval block changed; this test adds signers to it")
	}
	if err := os.WriteFile(e.env.PlanFile, []byte(signed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)

	if code, _, errOut := cli(t, "approve", financeID, "--as", "b.schulz", "--reason", "CHG-1"); code != 1 || !strings.Contains(errOut, "signature required") {
		t.Fatalf("unsigned approval: exit %d, %q", code, errOut)
	}
	if code, _, errOut := cli(t, "approve", financeID, "--as", "c.yilmaz", "--reason", "CHG-1", "--sign-key", mKey); code != 1 ||
		!strings.Contains(errOut, "signature does not verify") {
		t.Fatalf("approval signed by an unlisted key: exit %d, %q", code, errOut)
	}

	// By hand: print the statement, sign it with ssh-keygen, send JSON.
	code, out, _ := cli(t, "approve", financeID, "--as", "b.schulz", "--reason", "CHG-1", "--print-statement")
	if code != 0 || !strings.Contains(out, "ssh-keygen -Y sign -n umzug-approval -f KEY statement.txt") {
		t.Fatalf("print-statement: exit %d\n%s", code, out)
	}
	statement, _, _ := strings.Cut(out, "\n\n")
	statement += "\n"
	var signedAt string
	for _, l := range strings.Split(statement, "\n") {
		if v, ok := strings.CutPrefix(l, "time "); ok {
			signedAt = v
		}
	}
	stFile := filepath.Join(keys, "statement.txt")
	if err := os.WriteFile(stFile, []byte(statement), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-n", "umzug-approval", "-f", bKey, stFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v %s", err, out)
	}
	sig, err := os.ReadFile(stFile + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decide(context.Background(), e.c, financeID, workflows.SignalApprove,
		map[string]any{"approver": "b.schulz", "comment": "CHG-1", "signature": string(sig), "signed_at": signedAt}); err != nil {
		t.Fatalf("hand-signed approval refused: %v", err)
	}

	if code, _, _ := cli(t, "approve", financeID, "--as", "c.yilmaz", "--reason", "CHG-1", "--sign-key", cKey); code != 0 {
		t.Fatalf("c.yilmaz --sign-key: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseSoak)
	// The commit is signed by the key in the SSH agent: --sign-key names
	// its public half, as with `umzug audit --sign-key`.
	serveAgent(t, bKey)
	if code, _, _ := cli(t, "commit", financeID, "--as", "b.schulz", "--sign-key", bKey+".pub"); code != 0 {
		t.Fatalf("commit signed through the SSH agent: exit %d", code)
	}
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("final phase %s: %s", st.Phase, st.Error)
	}
	fp := map[string]string{"b.schulz": fingerprintOf(t, bPub), "c.yilmaz": fingerprintOf(t, cPub)}
	var accepted, refusedRequired, refusedVerify int
	for _, r := range st.Signals {
		switch {
		case r.Accepted && (r.Name == workflows.SignalApprove || r.Name == workflows.SignalCommit):
			accepted++
			if r.KeyFingerprint != fp[r.Identity] {
				t.Errorf("%s by %s recorded key %q, want %q", r.Name, r.Identity, r.KeyFingerprint, fp[r.Identity])
			}
		case strings.HasPrefix(r.Reason, "signature required"):
			refusedRequired++
		case strings.HasPrefix(r.Reason, "signature does not verify") && strings.Contains(r.Reason, "which signers does not list"):
			refusedVerify++
		}
	}
	if accepted != 3 || refusedRequired != 1 || refusedVerify != 1 {
		t.Fatalf("accepted %d, refused unsigned %d, refused unlisted key %d; records %+v", accepted, refusedRequired, refusedVerify, st.Signals)
	}

	// The audit re-checks every signature from the history: signed
	// decisions are authenticated with their key, the rest unsigned.
	bundle := filepath.Join(keys, "bundle")
	if code, _, _ := cli(t, "audit", financeID, "--out", bundle, "--sign-key", bKey); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	report, err := os.ReadFile(filepath.Join(bundle, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"key: " + fp["b.schulz"], "key: " + fp["c.yilmaz"], "signature verified (" + fp["c.yilmaz"], "authenticated: yes", "key: unsigned"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report.md lacks %q:\n%s", want, report)
		}
	}
	allowed := filepath.Join(keys, "auditors")
	if err := os.WriteFile(allowed, []byte("b.schulz "+bPub+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "audit", "verify", bundle, "--allowed-signers", allowed); code != 0 || !strings.Contains(out, "identical") {
		t.Fatalf("audit verify: exit %d\n%s", code, out)
	}
}
