package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/demo"

	"github.com/umzug-dev/umzug/workflows"
)

// TestFloodDuringSoakLeavesMoveControllable: while the finance move soaks
// with the source stopped, someone who is no approver sends 100 approve
// signals of 400 KiB each (100 of 1 MB would pass the server's 50 MB
// history limit, which terminates any workflow) and a refused_update
// report in c.yilmaz's name. `umzug status` still answers, the report
// plants nothing, and `umzug rollback` completes: the source runs again.
// Before that, approvals under names with invisible code points are
// refused at once. `umzug dev` runs as its own process.
func TestFloodDuringSoakLeavesMoveControllable(t *testing.T) {
	e := startE2EOnDevProcess(t)
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	// The plan names no signers: a signed approval is refused by the CLI
	// before anything is sent, and says how to send it.
	if code, _, errOut := cli(t, "approve", financeID, "--as", "b.schulz", "--sign-key", "/nonexistent/key"); code != 1 ||
		!strings.Contains(errOut, "takes unsigned decisions (its plan names no signers)") {
		t.Fatalf("--sign-key without signers: exit %d, %q", code, errOut)
	}
	if code, _, _ := cli(t, "approve", financeID, "--as", "b.schulz"); code != 0 {
		t.Fatalf("b.schulz approval: exit %d", code)
	}
	for _, as := range []string{"b.schu\u00adlz", "c.yil\u200bmaz"} {
		if code, _, errOut := cli(t, "approve", financeID, "--as", as); code != 1 || !strings.Contains(errOut, "invisible character") {
			t.Fatalf("approval as %q: exit %d, stderr %q", as, code, errOut)
		}
	}
	if st := e.status(t, financeID); st.ApprovalsNeeded != 1 {
		t.Fatalf("after refused twins: %d approvals still needed, want 1", st.ApprovalsNeeded)
	}
	if code, _, _ := cli(t, "approve", financeID, "--as", "c.yilmaz"); code != 0 {
		t.Fatalf("c.yilmaz approval: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseSoak)
	if got := readState(t, e.env.Paderborn); got != "stopped" {
		t.Fatalf("source app during soak: %s", got)
	}

	ctx := context.Background()
	big := strings.Repeat("x", 400<<10)
	for range 100 {
		if err := e.c.SignalWorkflow(ctx, financeID, "", workflows.SignalApprove, map[string]any{"approver": "mallory", "comment": big}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.SignalWorkflow(ctx, financeID, "", workflows.SignalRefusedUpdate,
		map[string]any{"name": workflows.SignalApprove, "identity": "c.yilmaz", "reason": "refused: planted"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli(t, "status", financeID)
	if code != 0 || !strings.Contains(out, "soak") || strings.Contains(out, "planted") || len(out) > 64<<10 {
		t.Fatalf("status after the flood: exit %d, %d bytes", code, len(out))
	}
	if !strings.Contains(out, "over the limit of 8192 bytes") || !strings.Contains(out, "older refused records dropped") {
		t.Fatalf("status does not show the refused flood:\n%s", out)
	}
	if code, _, _ := cli(t, "rollback", financeID, "--as", "b.schulz", "--reason", "after the flood"); code != 0 {
		t.Fatalf("rollback: exit %d", code)
	}
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseRolledBack {
		t.Fatalf("final phase %s: %s", st.Phase, st.Error)
	}
	if got := readState(t, e.env.Paderborn); got != "running" {
		t.Fatalf("source app after rollback: %s, want running", got)
	}
	for _, r := range st.Signals {
		if r.Identity == "c.yilmaz" && !r.Accepted {
			t.Fatalf("a refused record under c.yilmaz's name: %+v", r)
		}
	}
	// The audit names each update's sender from its history event.
	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", financeID, "--out", dir); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Decisions []workflows.SignalRecord `json:"decisions"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	senders := map[string]string{}
	for _, d := range rep.Decisions {
		if d.UpdateID != "" {
			senders[d.Name+" "+d.Identity] = d.Sender
		}
	}
	if senders["rollback b.schulz"] != "client identity b.schulz@umzug-cli (history event)" ||
		senders["approve c.yilmaz"] != "client identity c.yilmaz@umzug-cli (history event)" {
		t.Fatalf("update senders in the audit: %q", senders)
	}
}

// startE2EOnDevProcess is startE2E with `umzug dev` as its own process
// (server and worker), as a person runs it; the test dials it as a client.
func startE2EOnDevProcess(t *testing.T) *e2e {
	t.Helper()
	dir := t.TempDir()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(dir, "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	secrets := filepath.Join(dir, "secrets.env")
	if err := os.WriteFile(secrets, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	startDevProcess(t, filepath.Join(dir, "dev.db"), secrets)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: os.Getenv("TEMPORAL_ADDRESS"), Namespace: "default", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &e2e{env: env, c: c}
}
