package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// cli runs umzug with args as a user would and returns exit code and output.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runIO(args, &out, &errOut)
	t.Logf("umzug %s → exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// e2e is an embedded Temporal server with a worker plus the two demo data
// centers, all in this process; TEMPORAL_ADDRESS points the CLI at it.
type e2e struct {
	env   *demo.Env
	stack *stack
	c     client.Client
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	ctx := context.Background()
	// Port 0: the server binds any free port and reports it.
	st, err := startStack(ctx, embeddedOptions{port: 0, noUI: true, identStateDir: filepath.Join(t.TempDir(), "identstate")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	return &e2e{env: env, stack: st, c: st.client}
}

// planArgs are the --var flags that point examples/finance.hcl at this env.
func (e *e2e) planArgs() []string {
	args := []string{e.env.PlanFile, "--var", "window_start=" + time.Now().UTC().Format(time.RFC3339)}
	for k, v := range e.env.Vars {
		args = append(args, "--var", k+"="+v)
	}
	return args
}

func (e *e2e) status(t *testing.T, id string) workflows.Status {
	t.Helper()
	return statusOf[workflows.Status](t, e.c, id)
}

// statusOf asks workflow id for its status (workflows.QueryStatus) and
// decodes the answer into T: a move's Status, a standby's StandbyStatus.
func statusOf[T any](t *testing.T, c client.Client, id string) T {
	t.Helper()
	v, err := c.QueryWorkflow(context.Background(), id, "", workflows.QueryStatus)
	if err != nil {
		t.Fatalf("query %s: %v", id, err)
	}
	var st T
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (e *e2e) waitPhase(t *testing.T, id, phase string) workflows.Status {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := e.status(t, id)
		if st.Phase == phase {
			return st
		}
		if workflows.IsFinal(st.Phase) || time.Now().After(deadline) {
			t.Fatalf("move %s: waiting for phase %s, got %s (error %q)", id, phase, st.Phase, st.Error)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (e *e2e) result(t *testing.T, id string) workflows.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var st workflows.Status
	if err := e.c.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil {
		t.Fatalf("result of %s: %v", id, err)
	}
	return st
}

// readState is the finance application's state on a demo site.
func readState(t *testing.T, site *demo.Site) string {
	t.Helper()
	return state(t, filepath.Join(site.Root, "run/finance.state"))
}

// state reads the state file an application's start and stop commands
// write ("running", "stopped").
func state(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const financeID = "umzug/finance/finance"

// TestMoveApprovedCommittedAudited is the happy path a migration lead, two
// approvers and an auditor walk through with the CLI.
func TestMoveApprovedCommittedAudited(t *testing.T) {
	e := startE2E(t)
	planArgs := e.planArgs() // window_start=now: the same values for run and approve
	code, out, _ := cli(t, append([]string{"run", "--as", "a.meier"}, planArgs...)...)
	if code != 0 || !strings.Contains(out, financeID) {
		t.Fatalf("run: exit %d, output %q", code, out)
	}
	// Starting the same move again starts nothing new.
	if code, out, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 || !strings.Contains(out, "already started") {
		t.Fatalf("second run: exit %d, %q", code, out)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)

	// Four-eyes: the starter's own approval is refused, at once.
	code, _, errOut := cli(t, "approve", financeID, "--as", "a.meier", "--comment", "my own move")
	if code != 1 || !strings.Contains(errOut, "four-eyes") {
		t.Fatalf("starter approval: exit %d, stderr %q", code, errOut)
	}
	// Identities are canonical: A.MEIER is the starter too.
	if code, _, errOut := cli(t, "approve", financeID, "--as", " A.MEIER "); code != 1 || !strings.Contains(errOut, "four-eyes") {
		t.Fatalf("starter approval in capitals: exit %d, stderr %q", code, errOut)
	}
	// An approval computed from other variable values is refused, and
	// recorded: the run digest differs.
	other := append([]string{"approve", financeID, "--as", "b.schulz", "--plan"}, planArgs...)
	other = append(other, "--var", "window_start=2030-01-05T18:00:00+01:00")
	if code, _, errOut := cli(t, other...); code != 1 || !strings.Contains(errOut, "approval is for run digest") {
		t.Fatalf("approval for other values: exit %d, stderr %q", code, errOut)
	}
	bound := append([]string{"approve", financeID, "--as", "b.schulz", "--comment", "CHG-4711 reviewed", "--plan"}, planArgs...)
	if code, out, _ := cli(t, bound...); code != 0 || !strings.Contains(out, "binding the approval to run digest") {
		t.Fatalf("b.schulz approval: exit %d", code)
	}
	if st := e.status(t, financeID); st.Phase != workflows.PhaseAwaitingApproval || st.ApprovalsNeeded != 1 {
		t.Fatalf("after one approval of two: phase %s, still needed %d", st.Phase, st.ApprovalsNeeded)
	}
	if code, _, _ := cli(t, "approve", financeID, "--as", "c.yilmaz", "--comment", "CAB 2026-11"); code != 0 {
		t.Fatalf("c.yilmaz approval: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseSoak)
	if got := readState(t, e.env.Paderborn); got != "stopped" {
		t.Fatalf("source app after cutover: %s, want stopped", got)
	}
	if got := readState(t, e.env.Lemgo); got != "running" {
		t.Fatalf("target app after cutover: %s, want running", got)
	}
	if code, out, _ := cli(t, "status", financeID); code != 0 || !strings.Contains(out, "soak") || !strings.Contains(out, "run digest  "+e.status(t, financeID).RunDigest) {
		t.Fatalf("status: exit %d %q", code, out)
	}
	// Only the plan's operators (here: its approvers) commit.
	if code, _, errOut := cli(t, "commit", financeID, "--as", "nobody"); code != 1 || !strings.Contains(errOut, "nobody may not commit finance") {
		t.Fatalf("commit by nobody: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := cli(t, "commit", financeID, "--as", "C.Yilmaz"); code != 0 {
		t.Fatalf("commit: exit %d", code)
	}
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("final phase %s: %s", st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(e.env.SourceData(), e.env.TargetData(), treecmp.Options{Skip: e.env.Excluded}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, "status", "--watch", financeID); code != 0 || !strings.Contains(out, "committed") || !strings.Contains(out, "approve by b.schulz") {
		t.Fatalf("status --watch of an ended move: exit %d %q", code, out)
	}
	// The stop step ran on the source, the start step on the target.
	hosts := map[string]string{}
	for _, s := range st.Steps {
		hosts[s.Kind+" "+s.Name] = s.Host
	}
	if hosts["step stop_app"] != "fin_pb" || hosts["step start_app"] != "fin_lg" {
		t.Fatalf("steps ran on %v", hosts)
	}

	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", financeID, "--out", dir); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"b.schulz", "CHG-4711 reviewed", "c.yilmaz", "a.meier", "four-eyes", "financectl stop", "committed", "consistent",
		"Run digest", st.RunDigest, "approval is for run digest", "nobody may not commit finance",
		// in the server's history: the refused update completed with the reason as its failure
		"| update | commit | nobody@umzug-cli | `{\"by\":\"nobody\"}` | failed: nobody may not commit finance",
		`failed: four-eyes: " A.MEIER " is the same identity as a.meier, who started this move`} {
		if !strings.Contains(string(report), want) {
			t.Errorf("audit report lacks %q", want)
		}
	}
	if strings.Contains(string(report), workflows.SignalRefusedUpdate) {
		t.Error("a refusal was recorded twice (refused_update signal besides the update's own outcome)")
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

// TestFailingHealthCheckRollsBack breaks the target's health check: the
// cutover must undo start_app, then stop_app, and the source runs again.
func TestFailingHealthCheckRollsBack(t *testing.T) {
	e := startE2E(t)
	if err := os.WriteFile(filepath.Join(e.env.Lemgo.Root, "run/finance.broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	approveTwice(t, financeID)
	st := e.result(t, financeID)
	if st.Phase != workflows.PhaseRolledBack {
		t.Fatalf("phase %s, want rolled_back (error %q)", st.Phase, st.Error)
	}
	var undos []string
	for _, s := range st.Steps {
		if s.Kind == "undo" {
			undos = append(undos, s.Name+"@"+s.Host)
		}
	}
	// Reverse order on every host; the stop group is undone as a group,
	// its members at once (in either order).
	if len(undos) == 5 {
		slices.Sort(undos[3:])
	}
	if got, want := strings.Join(undos, ","), "switch_dns@dns_lg,start_app@fin_lg,start_db@db_lg,stop_app@fin_pb,stop_db@db_pb"; got != want {
		t.Fatalf("undo order %q, want %s", got, want)
	}
	if got := readFile(t, filepath.Join(e.env.Lemgo.Root, "run/finance.zone")); got != "finance CNAME paderborn" {
		t.Fatalf("name server after rollback: %q", got)
	}
	if got := readFile(t, filepath.Join(e.env.Paderborn.Root, "run/postgres.state")); got != "running" {
		t.Fatalf("source database after rollback: %q, want running", got)
	}
	if got := readState(t, e.env.Paderborn); got != "running" {
		t.Fatalf("source app after rollback: %s, want running", got)
	}
	if got := readState(t, e.env.Lemgo); got != "stopped" {
		t.Fatalf("target app after rollback: %s, want stopped", got)
	}
	checks := 0
	for _, s := range st.Steps {
		if s.Kind == "check" {
			checks++
		}
	}
	if checks != 6 {
		t.Fatalf("health check attempts %d, want 6 (the first and retries = 5 more)", checks)
	}
	if !strings.Contains(st.Error, "check health") || !strings.Contains(st.Error, "fin_lg") {
		t.Fatalf("error %q should name the check and the host", st.Error)
	}
}

// TestDemoAutoApprove runs `umzug demo --auto-approve` as the README says.
func TestDemoAutoApprove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, _ := cli(t, "demo", "--auto-approve", "--headless", "--port", "0",
		"--dir", dir, "--paderborn", "127.0.0.1:0", "--lemgo", "127.0.0.1:0")
	if code != 0 {
		t.Fatalf("demo exit %d", code)
	}
	// The copies ran on the default engine: the agent was uploaded to the
	// demo hosts' agent home inside the demo directory.
	if up, _ := filepath.Glob(filepath.Join(dir, "agent-home", ".umzug", "agent", "*", "umzug-agent")); len(up) != 1 {
		t.Errorf("agents uploaded in the demo directory: %q, want one", up)
	}
	for _, want := range []string{"approve as a.meier: refused", "approve as b.schulz: accepted", "committed", "target equals source", "replay consistent"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// TestDevRestartCarriesOn stops the embedded server while a move waits for
// approval and starts it again on the same SQLite file, as
// `umzug dev --db same.db` does after a crash or Ctrl-C.
func TestDevRestartCarriesOn(t *testing.T) {
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	db := filepath.Join(t.TempDir(), "dev.db")
	start := func() *e2e {
		st, err := startStack(context.Background(), embeddedOptions{port: 0, noUI: true, db: db}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
		return &e2e{env: env, stack: st, c: st.client}
	}
	e := start()
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		e.stack.Stop()
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	e.stack.Stop()

	e = start()
	defer e.stack.Stop()
	approveAndCommit(t, e, financeID, "c.yilmaz")
	checkCommitted(t, e, financeID)
}

// A second plan whose move writes the directory an open move of another
// plan writes is refused, names the open move, and starts nothing.
func TestRunRefusesATargetAnotherOpenMoveWrites(t *testing.T) {
	e := startE2E(t)
	if code, out, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 || !strings.Contains(out, financeID) {
		t.Fatalf("run: exit %d, output %q", code, out)
	}
	twin := filepath.Join(filepath.Dir(e.env.PlanFile), "finance-twin.hcl")
	b, err := os.ReadFile(e.env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(twin, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--as", "a.meier"}, e.planArgs()...)
	args[3] = twin
	code, _, errOut := cli(t, args...)
	if code == 0 || !strings.Contains(errOut, "open workflow "+financeID) || !strings.Contains(errOut, "nothing started") {
		t.Fatalf("run of a second plan onto the same target: exit %d, stderr %q", code, errOut)
	}
	if _, err := e.c.DescribeWorkflowExecution(context.Background(), "umzug/finance-twin/finance", ""); err == nil {
		t.Fatal("the refused plan's move was started anyway")
	}
	// The plan of the open move itself is not refused: it is already started.
	if code, out, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 || !strings.Contains(out, "already started") {
		t.Fatalf("second run of the same plan: exit %d, %q", code, out)
	}
}

// readFile is a small file's content without surrounding space.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
