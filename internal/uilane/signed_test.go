//go:build uilane

package uilane

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/workflows"
)

// TestWebUISignedApprovals approves a move whose plan names signers
// through the real Web UI: b.schulz signs the statement that
// `umzug approve --print-statement` prints with `ssh-keygen -Y sign` and
// pastes the signature into Send an Update; an approval for c.yilmaz
// signed by a key not in the signers file, sent through Send a Signal, is
// refused and recorded; c.yilmaz's own signature then reaches quorum.
func TestWebUISignedApprovals(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatalf("ssh-keygen not found (apt-get install openssh-client): %v", err)
	}
	root := repoRoot(t)
	uiTests := filepath.Join(root, "ui-tests")
	chromium := checkTools(t, uiTests)
	// Beside the other lane's artifacts, which artifactsDir would empty.
	base := os.Getenv("UI_ARTIFACTS")
	if base == "" {
		base = filepath.Join(uiTests, "artifacts")
	}
	artifacts := filepath.Join(base, "signed")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(tmp, "dc"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 13})
	if err != nil {
		t.Fatalf("demo data centers: %v", err)
	}
	t.Cleanup(env.Close)

	keys := filepath.Join(tmp, "keys")
	pub := map[string]string{}
	for _, who := range []string{"a.meier", "b.schulz", "c.yilmaz", "mallory"} {
		pub[who] = sshKeygen(t, keys, who)
	}
	var signers strings.Builder
	for _, who := range []string{"a.meier", "b.schulz", "c.yilmaz"} {
		signers.WriteString(who + " " + pub[who] + "\n")
	}
	dir := filepath.Dir(env.PlanFile)
	if err := os.WriteFile(filepath.Join(dir, "approvers.allowed_signers"), []byte(signers.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := os.ReadFile(env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	signed := strings.Replace(string(plan), `timeout   = "72h"`, `timeout   = "72h"`+"\n      signers   = \"approvers.allowed_signers\"", 1)
	if signed == string(plan) {
		t.Fatal("the demo plan's approval block changed; this test adds signers to it")
	}
	if err := os.WriteFile(env.PlanFile, []byte(signed), 0o644); err != nil {
		t.Fatal(err)
	}

	bin := buildUmzug(t, root, tmp)
	dev := startDev(t, bin, tmp)
	t.Cleanup(func() { copyFile(t, dev.Log, filepath.Join(artifacts, "umzug-dev.log")) })
	c := cli{bin: bin, dev: dev}
	ui := startBrowser(t, uiTests, artifacts, chromium, dev.UI, moveID)

	args := []string{"run", env.PlanFile, "--as", starter, "--var", "window_start=" + time.Now().UTC().Format(time.RFC3339)}
	for k, v := range env.Vars {
		args = append(args, "--var", k+"="+v)
	}
	c.mustRun(t, args...)
	c.waitStatus(t, moveID, "awaiting_approval", 2*time.Minute, phaseIs(workflows.PhaseAwaitingApproval))

	// b.schulz signs by hand and sends through Send an Update.
	sig, at := signStatement(t, c, keys, "b.schulz", "b.schulz")
	ui.decide(t, "s1-update-approve-b.schulz-signed", "update", workflows.SignalApprove,
		map[string]string{"approver": "b.schulz", "comment": "CHG-1", "signature": sig, "signed_at": at}, false)
	c.waitStatus(t, moveID, "b.schulz's signed approval", time.Minute, approved("b.schulz"))

	// An approval for c.yilmaz signed with mallory's key: refused, recorded.
	sig, at = signStatement(t, c, keys, "c.yilmaz", "mallory")
	ui.decide(t, "s2-signal-approve-c.yilmaz-wrong-key", "signal", workflows.SignalApprove,
		map[string]string{"approver": "c.yilmaz", "comment": "CHG-1", "signature": sig, "signed_at": at}, false)
	st := c.waitStatus(t, moveID, "the wrongly signed approval recorded", time.Minute, func(st workflows.Status) bool {
		return slices.ContainsFunc(st.Signals, func(r workflows.SignalRecord) bool {
			return r.Identity == "c.yilmaz" && !r.Accepted && strings.Contains(r.Reason, "signature does not verify")
		})
	})
	if slices.Contains(st.Approvals, "c.yilmaz") || st.Phase != workflows.PhaseAwaitingApproval {
		t.Fatalf("an approval signed by a key not in the signers file counted: phase %s, approvals %v", st.Phase, st.Approvals)
	}

	// c.yilmaz's own signature reaches quorum.
	sig, at = signStatement(t, c, keys, "c.yilmaz", "c.yilmaz")
	ui.decide(t, "s3-signal-approve-c.yilmaz-signed", "signal", workflows.SignalApprove,
		map[string]string{"approver": "c.yilmaz", "comment": "CHG-1", "signature": sig, "signed_at": at}, false)
	st = c.waitStatus(t, moveID, "soak after a signed quorum", 3*time.Minute, phaseIs(workflows.PhaseSoak))
	for _, who := range []string{"b.schulz", "c.yilmaz"} {
		if !slices.ContainsFunc(st.Signals, func(r workflows.SignalRecord) bool {
			return r.Name == workflows.SignalApprove && r.Identity == who && r.Accepted && strings.HasPrefix(r.KeyFingerprint, "SHA256:")
		}) {
			t.Errorf("no accepted approval of %s with a key fingerprint: %s", who, pretty(st.Signals))
		}
	}
	c.mustRun(t, "commit", moveID, "--as", "b.schulz", "--sign-key", filepath.Join(keys, "b.schulz"))
	c.waitStatus(t, moveID, "committed", time.Minute, phaseIs(workflows.PhaseCommitted))

	out := filepath.Join(artifacts, "audit")
	c.mustRun(t, "audit", moveID, "--out", out)
	var rep audit.Report
	if err := json.Unmarshal([]byte(readFile(filepath.Join(out, "report.json"))), &rep); err != nil {
		t.Fatalf("audit report.json: %v", err)
	}
	var signedOK, refused int
	for _, d := range rep.Decisions {
		switch {
		case d.Accepted && d.Authenticated && strings.HasPrefix(d.KeyFingerprint, "SHA256:"):
			signedOK++
		case !d.Accepted && d.Identity == "c.yilmaz" && strings.Contains(d.Reason, "signature does not verify"):
			refused++
		}
	}
	if signedOK != 3 || refused != 1 {
		t.Errorf("audit: %d signed accepted decisions (want 3: two approvals and the commit), %d refused wrong-key approvals (want 1): %s",
			signedOK, refused, pretty(rep.Decisions))
	}
}

// sshKeygen makes an unencrypted ed25519 key KEYS/who and returns its
// public key line without the comment.
func sshKeygen(t *testing.T, keys, who string) string {
	t.Helper()
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(keys, who)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	f := strings.Fields(readFile(path + ".pub"))
	return f[0] + " " + f[1]
}

// signStatement prints the approval statement for who as an engineer
// does, signs it with key's private half by `ssh-keygen -Y sign`, and
// returns the armored signature and the statement's time.
func signStatement(t *testing.T, c cli, keys, who, key string) (sig, at string) {
	t.Helper()
	out := c.mustRun(t, "approve", moveID, "--as", who, "--reason", "CHG-1", "--print-statement")
	statement, _, _ := strings.Cut(out, "\n\n")
	statement += "\n"
	for _, l := range strings.Split(statement, "\n") {
		if v, ok := strings.CutPrefix(l, "time "); ok {
			at = v
		}
	}
	if at == "" {
		t.Fatalf("the printed statement has no time line:\n%s", out)
	}
	file := filepath.Join(keys, who+"-by-"+key+".txt")
	if err := os.WriteFile(file, []byte(statement), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(file + ".sig")
	if o, err := exec.Command("ssh-keygen", "-Y", "sign", "-n", "umzug-approval", "-f", filepath.Join(keys, key), file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v %s", err, o)
	}
	return readFile(file + ".sig"), at
}
