package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// auditWavePlan writes a wave of two moves, app depending on base, with
// no approval rule, against the e2e data centers.
func auditWavePlan(t *testing.T, e *e2e) string {
	t.Helper()
	pb, lg := e.env.Paderborn.Root, e.env.Lemgo.Root
	var b strings.Builder
	b.WriteString(demoHostsHCL(e.env))
	for _, a := range []struct{ name, deps string }{{"base", ""}, {"app", "depends_on = [application.base]"}} {
		src := filepath.Join(pb, "srv", a.name)
		seedSource(t, src, a.name)
		fmt.Fprintf(&b, "application %q {\n  source = host.pb\n  target = host.lg\n  %s\n  copy \"data\" {\n    from = %q\n    to = %q\n  }\n  cutover {\n    final_sync {}\n    check \"ready\" {\n      on = \"target\"\n      run = \"true\"\n    }\n  }\n}\n",
			a.name, a.deps, src, filepath.Join(lg, "srv", a.name))
	}
	b.WriteString("wave \"q4\" {\n  applications = [application.app, application.base]\n}\n")
	plan := filepath.Join(t.TempDir(), "q4.hcl")
	if err := os.WriteFile(plan, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return plan
}

// `umzug audit WAVE --sign-key` writes one signed bundle for the wave and
// its moves with the manifests fetched from the target; OpenSSH and
// `umzug audit verify` accept it; one changed byte fails verify naming
// the file.
func TestAuditSignedWaveBundle(t *testing.T) {
	e := startE2E(t)
	plan := auditWavePlan(t, e)
	if code, _, _ := cli(t, "run", plan, "--as", "lead", "--wait"); code != 0 {
		t.Fatalf("run --wait: exit %d", code)
	}
	tmp := t.TempDir()
	key := filepath.Join(tmp, "auditor")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	dir := filepath.Join(tmp, "bundle")
	code, out, _ := cli(t, "audit", "umzug/q4/wave/q4", "--out", dir, "--sign-key", key)
	if code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	for _, want := range []string{"2 moves", "fetched, matches history", "  moves/base/manifests/data-final_sync.jsonl", "  moves/app/report.html", "  SHA256SUMS.sig"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit output lacks %q", want)
		}
	}
	wave, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(wave), "| 1 | base | — | umzug/q4/base |") || !strings.Contains(string(wave), "| 2 | app | base | umzug/q4/app |") {
		t.Errorf("wave report lacks the dependency order:\n%s", wave)
	}
	pub, _ := os.ReadFile(key + ".pub")
	allowed := filepath.Join(tmp, "allowed_signers")
	os.WriteFile(allowed, append([]byte("auditor@example "), pub...), 0o644)

	sums, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	ssh := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "auditor@example", "-n", "umzug-audit", "-s", filepath.Join(dir, "SHA256SUMS.sig"))
	ssh.Stdin = bytes.NewReader(sums)
	if o, err := ssh.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify: %v %s", err, o)
	}
	if code, out, _ := cli(t, "audit", "verify", dir, "--allowed-signers", allowed, "--identity", "auditor@example"); code != 0 || !strings.Contains(out, "histories: 3 replayed") || !strings.Contains(out, "manifests: 4 matched") ||
		!strings.Contains(out, "reports: 9 rendered again from history and identical") {
		t.Fatalf("verify: exit %d", code)
	}
	if code, out, _ := cli(t, "audit", "verify", dir, "--allowed-signers", allowed, "--identity", "mallory@example"); code != 1 || !strings.Contains(out, `does not list as "mallory@example"`) {
		t.Fatalf("verify as another identity: exit %d", code)
	}
	if code, _, _ := cli(t, "audit", "verify", dir); code != 1 {
		t.Fatalf("verify without a signer: exit %d, want 1", code)
	}
	m := filepath.Join(dir, "moves", "app", "manifests", "data-seed.jsonl")
	b, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	os.WriteFile(m, b, 0o644)
	code, out, _ = cli(t, "audit", "verify", dir, "--allowed-signers", allowed)
	if code != 1 || !strings.Contains(out, "FAILED moves/app/manifests/data-seed.jsonl") {
		t.Fatalf("verify of a tampered manifest: exit %d", code)
	}

	// A manifest changed on the target after the move: the new bundle
	// records the mismatch and audit exits 1.
	onTarget := filepath.Join(e.env.Lemgo.Root, "srv", ".umzug", "umzug_q4_base", "data-final_sync.jsonl")
	if err := os.WriteFile(onTarget, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, "audit", "umzug/q4/wave/q4", "--out", filepath.Join(tmp, "again"))
	if code != 1 || !strings.Contains(out, onTarget+" (data final_sync): fetched, DOES NOT MATCH the digest in history") {
		t.Fatalf("audit after the target's manifest changed: exit %d", code)
	}
}
